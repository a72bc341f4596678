/// A Kafka protocol error code with its name and how a producer should react to it.
///
/// Names and codes follow protocol/Errors.java in Apache Kafka. `isRetriable` follows the Java
/// client's RetriableException classes. `needsMetadataRefresh` lists the codes after which Java's
/// Sender refreshes metadata. `mayHavePersisted` follows librdkafka's "possibly persisted" status
/// (rdkafka_request.c): it is true when the records may have been written despite the error, so a
/// retry without idempotence may duplicate them. Codes not listed are treated as possibly persisted.
public struct KafkaErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int16

    public init(_ rawValue: Int16) {
        self.rawValue = rawValue
    }

    public var isError: Bool { rawValue != 0 }

    public var name: String { Self.names[rawValue] ?? "UNKNOWN_ERROR_CODE_\(rawValue)" }

    public var isRetriable: Bool { Self.retriable.contains(rawValue) }

    public var needsMetadataRefresh: Bool { Self.metadataRefresh.contains(rawValue) }

    /// False for success and for errors where the broker rejected the records before writing them.
    public var mayHavePersisted: Bool {
        guard rawValue != 0 else { return false }
        return !Self.notPersisted.contains(rawValue)
    }

    public var description: String { "\(name) (\(rawValue))" }

    public static let unknownServerError = KafkaErrorCode(-1)
    public static let none = KafkaErrorCode(0)
    public static let corruptMessage = KafkaErrorCode(2)
    public static let unknownTopicOrPartition = KafkaErrorCode(3)
    public static let leaderNotAvailable = KafkaErrorCode(5)
    public static let notLeaderOrFollower = KafkaErrorCode(6)
    public static let requestTimedOut = KafkaErrorCode(7)
    public static let replicaNotAvailable = KafkaErrorCode(9)
    public static let messageTooLarge = KafkaErrorCode(10)
    public static let networkException = KafkaErrorCode(13)
    public static let recordListTooLarge = KafkaErrorCode(18)
    public static let notEnoughReplicas = KafkaErrorCode(19)
    public static let notEnoughReplicasAfterAppend = KafkaErrorCode(20)
    public static let invalidRequiredAcks = KafkaErrorCode(21)
    public static let topicAuthorizationFailed = KafkaErrorCode(29)
    public static let clusterAuthorizationFailed = KafkaErrorCode(31)
    public static let invalidTimestamp = KafkaErrorCode(32)
    public static let unsupportedVersion = KafkaErrorCode(35)
    public static let invalidRequest = KafkaErrorCode(42)
    public static let outOfOrderSequenceNumber = KafkaErrorCode(45)
    public static let duplicateSequenceNumber = KafkaErrorCode(46)
    public static let invalidProducerEpoch = KafkaErrorCode(47)
    public static let transactionalIdAuthorizationFailed = KafkaErrorCode(53)
    public static let kafkaStorageError = KafkaErrorCode(56)
    public static let unknownProducerId = KafkaErrorCode(59)
    public static let fencedLeaderEpoch = KafkaErrorCode(74)
    public static let unknownLeaderEpoch = KafkaErrorCode(75)
    public static let unsupportedCompressionType = KafkaErrorCode(76)
    public static let invalidRecord = KafkaErrorCode(87)
    public static let throttlingQuotaExceeded = KafkaErrorCode(89)
    public static let producerFenced = KafkaErrorCode(90)
    public static let unknownTopicId = KafkaErrorCode(100)
    public static let inconsistentTopicId = KafkaErrorCode(103)
    public static let transactionAbortable = KafkaErrorCode(120)

    private static let retriable: Set<Int16> = [
        2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 51, 56, 74, 75, 89, 100,
    ]

    private static let metadataRefresh: Set<Int16> = [3, 5, 6, 74, 75, 100, 103]

    /// Errors raised before the leader appends: validation, authorization, routing, sequencing.
    /// DUPLICATE_SEQUENCE_NUMBER (46) is absent because it means an earlier attempt was written.
    private static let notPersisted: Set<Int16> = [
        2, 3, 5, 6, 10, 17, 18, 19, 21, 29, 31, 32, 35, 42, 43, 45, 47, 53, 59, 74, 75, 76, 87,
        89, 90, 100, 103,
    ]

    private static let names: [Int16: String] = [
        -1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 1: "OFFSET_OUT_OF_RANGE", 2: "CORRUPT_MESSAGE",
        3: "UNKNOWN_TOPIC_OR_PARTITION", 4: "INVALID_FETCH_SIZE", 5: "LEADER_NOT_AVAILABLE",
        6: "NOT_LEADER_OR_FOLLOWER", 7: "REQUEST_TIMED_OUT", 8: "BROKER_NOT_AVAILABLE",
        9: "REPLICA_NOT_AVAILABLE", 10: "MESSAGE_TOO_LARGE", 11: "STALE_CONTROLLER_EPOCH",
        12: "OFFSET_METADATA_TOO_LARGE", 13: "NETWORK_EXCEPTION", 14: "COORDINATOR_LOAD_IN_PROGRESS",
        15: "COORDINATOR_NOT_AVAILABLE", 16: "NOT_COORDINATOR", 17: "INVALID_TOPIC_EXCEPTION",
        18: "RECORD_LIST_TOO_LARGE", 19: "NOT_ENOUGH_REPLICAS", 20: "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        21: "INVALID_REQUIRED_ACKS", 22: "ILLEGAL_GENERATION", 23: "INCONSISTENT_GROUP_PROTOCOL",
        24: "INVALID_GROUP_ID", 25: "UNKNOWN_MEMBER_ID", 26: "INVALID_SESSION_TIMEOUT",
        27: "REBALANCE_IN_PROGRESS", 28: "INVALID_COMMIT_OFFSET_SIZE", 29: "TOPIC_AUTHORIZATION_FAILED",
        30: "GROUP_AUTHORIZATION_FAILED", 31: "CLUSTER_AUTHORIZATION_FAILED", 32: "INVALID_TIMESTAMP",
        33: "UNSUPPORTED_SASL_MECHANISM", 34: "ILLEGAL_SASL_STATE", 35: "UNSUPPORTED_VERSION",
        36: "TOPIC_ALREADY_EXISTS", 37: "INVALID_PARTITIONS", 38: "INVALID_REPLICATION_FACTOR",
        39: "INVALID_REPLICA_ASSIGNMENT", 40: "INVALID_CONFIG", 41: "NOT_CONTROLLER", 42: "INVALID_REQUEST",
        43: "UNSUPPORTED_FOR_MESSAGE_FORMAT", 44: "POLICY_VIOLATION", 45: "OUT_OF_ORDER_SEQUENCE_NUMBER",
        46: "DUPLICATE_SEQUENCE_NUMBER", 47: "INVALID_PRODUCER_EPOCH", 48: "INVALID_TXN_STATE",
        49: "INVALID_PRODUCER_ID_MAPPING", 50: "INVALID_TRANSACTION_TIMEOUT", 51: "CONCURRENT_TRANSACTIONS",
        52: "TRANSACTION_COORDINATOR_FENCED", 53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
        54: "SECURITY_DISABLED", 55: "OPERATION_NOT_ATTEMPTED", 56: "KAFKA_STORAGE_ERROR",
        57: "LOG_DIR_NOT_FOUND", 58: "SASL_AUTHENTICATION_FAILED", 59: "UNKNOWN_PRODUCER_ID",
        60: "REASSIGNMENT_IN_PROGRESS", 72: "LISTENER_NOT_FOUND", 74: "FENCED_LEADER_EPOCH",
        75: "UNKNOWN_LEADER_EPOCH", 76: "UNSUPPORTED_COMPRESSION_TYPE", 77: "STALE_BROKER_EPOCH",
        78: "OFFSET_NOT_AVAILABLE", 87: "INVALID_RECORD", 89: "THROTTLING_QUOTA_EXCEEDED",
        90: "PRODUCER_FENCED", 91: "RESOURCE_NOT_FOUND", 100: "UNKNOWN_TOPIC_ID",
        103: "INCONSISTENT_TOPIC_ID", 104: "INCONSISTENT_CLUSTER_ID", 105: "TRANSACTIONAL_ID_NOT_FOUND",
        120: "TRANSACTION_ABORTABLE",
    ]
}

/// A Kafka API key, the int16 at the start of every request header.
public struct FakeKafkaAPIKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16

    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = FakeKafkaAPIKey(rawValue: 0)
    public static let metadata = FakeKafkaAPIKey(rawValue: 3)
    public static let apiVersions = FakeKafkaAPIKey(rawValue: 18)
    public static let initProducerId = FakeKafkaAPIKey(rawValue: 22)

    public var description: String {
        switch rawValue {
        case 0: "Produce"
        case 3: "Metadata"
        case 18: "ApiVersions"
        case 22: "InitProducerId"
        default: "ApiKey(\(rawValue))"
        }
    }
}

/// Kafka error codes the fake broker sends (values from Kafka's `protocol/Errors.java`).
public enum FakeKafkaErrorCode {
    public static let none: Int16 = 0
    public static let corruptMessage: Int16 = 2
    public static let unknownTopicOrPartition: Int16 = 3
    public static let leaderNotAvailable: Int16 = 5
    public static let notLeaderOrFollower: Int16 = 6
    public static let requestTimedOut: Int16 = 7
    public static let messageTooLarge: Int16 = 10
    public static let networkException: Int16 = 13
    public static let notEnoughReplicas: Int16 = 19
    public static let notEnoughReplicasAfterAppend: Int16 = 20
    public static let invalidRequiredAcks: Int16 = 21
    public static let clusterAuthorizationFailed: Int16 = 31
    public static let unsupportedVersion: Int16 = 35
    public static let invalidRequest: Int16 = 42
    public static let outOfOrderSequenceNumber: Int16 = 45
    public static let duplicateSequenceNumber: Int16 = 46
    public static let invalidProducerEpoch: Int16 = 47
    public static let unknownProducerId: Int16 = 59
    public static let unsupportedCompressionType: Int16 = 76
    public static let coordinatorLoadInProgress: Int16 = 14
    public static let invalidRecord: Int16 = 87
    public static let producerFenced: Int16 = 90
    public static let unknownTopicId: Int16 = 100
}

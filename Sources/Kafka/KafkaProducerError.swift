import KafkaWire

/// A failed `enqueue`, `send`, `flush` or delivery.
///
/// ``mayHavePersisted`` tells whether the broker may have written the record: `true` after a
/// transport error, a request timeout or NOT_ENOUGH_REPLICAS_AFTER_APPEND once the record was sent,
/// `false` when it was never sent or the broker rejected it (unknown topic, NOT_ENOUGH_REPLICAS,
/// authorization, too large).
public struct KafkaProducerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure. Compare with the static members, for example `error.code == .timedOut`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Kind: String, Hashable, Sendable {
            case timedOut, bufferFull, recordTooLarge, brokerError, closed, notConnected
            case invalidConfiguration, invalidPartition, unknownTopic, transportFailed, protocolError
            case unsupportedVersion, invalidRecord
        }

        fileprivate let kind: Kind

        /// Delivery, flush or close did not finish in time; the message names the timeout.
        public static var timedOut: Code { Code(kind: .timedOut) }
        /// `bufferMemory` stayed full for `maxBlock`; ``KafkaProducerError/bufferLimit`` is the limit.
        public static var bufferFull: Code { Code(kind: .bufferFull) }
        /// A record exceeds `batchSize` or `maxRequestSize` and was never sent, or the broker
        /// rejected a batch of that one record with MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE.
        public static var recordTooLarge: Code { Code(kind: .recordTooLarge) }
        /// The broker rejected the batch; ``KafkaProducerError/brokerErrorCode`` has its error code.
        public static var brokerError: Code { Code(kind: .brokerError) }
        public static var closed: Code { Code(kind: .closed) }
        public static var notConnected: Code { Code(kind: .notConnected) }
        public static var invalidConfiguration: Code { Code(kind: .invalidConfiguration) }
        public static var invalidPartition: Code { Code(kind: .invalidPartition) }
        public static var unknownTopic: Code { Code(kind: .unknownTopic) }
        public static var transportFailed: Code { Code(kind: .transportFailed) }
        public static var protocolError: Code { Code(kind: .protocolError) }
        public static var unsupportedVersion: Code { Code(kind: .unsupportedVersion) }
        /// The record cannot be sent as given (invalid topic name, negative timestamp); it was never sent.
        public static var invalidRecord: Code { Code(kind: .invalidRecord) }

        public var description: String { kind.rawValue }
    }

    enum Reason: Sendable, Equatable {
        case timedOut
        case bufferFull(limit: Int)
        case recordTooLarge(size: Int, limit: Int)
        /// The broker rejected a batch of this one record; its limit is not in the response.
        case recordRejectedAsTooLarge(size: Int, batchSize: Int, code: KafkaErrorCode)
        case brokerError(KafkaErrorCode)
        case closed
        case notConnected
        case invalidConfiguration
        case invalidPartition(partition: Int32)
        case unknownTopic
        case transportFailed
        case protocolError
        case unsupportedVersion
        case invalidRecord
    }

    let reason: Reason
    public let message: String
    public let mayHavePersisted: Bool

    init(_ reason: Reason, _ message: String, mayHavePersisted: Bool) {
        self.reason = reason
        self.message = message
        self.mayHavePersisted = mayHavePersisted
    }

    public var code: Code {
        switch reason {
        case .timedOut: .timedOut
        case .bufferFull: .bufferFull
        case .recordTooLarge, .recordRejectedAsTooLarge: .recordTooLarge
        case .brokerError: .brokerError
        case .closed: .closed
        case .notConnected: .notConnected
        case .invalidConfiguration: .invalidConfiguration
        case .invalidPartition: .invalidPartition
        case .unknownTopic: .unknownTopic
        case .transportFailed: .transportFailed
        case .protocolError: .protocolError
        case .unsupportedVersion: .unsupportedVersion
        case .invalidRecord: .invalidRecord
        }
    }

    public var description: String {
        mayHavePersisted ? message + " (the record may have been written)" : message
    }

    /// The broker's error code, when the broker rejected the record.
    public var brokerErrorCode: KafkaErrorCode? {
        switch reason {
        case .brokerError(let code), .recordRejectedAsTooLarge(_, _, let code): code
        default: nil
        }
    }

    /// Buffer limit in bytes for ``Code/bufferFull``, or the exceeded setting for ``Code/recordTooLarge``.
    public var limit: Int? {
        switch reason {
        case .bufferFull(let limit), .recordTooLarge(_, let limit): limit
        default: nil
        }
    }

    /// Encoded size in bytes of a record rejected as too large: with the batch header when the
    /// producer rejected it, without it when the broker did.
    public var recordSize: Int? {
        switch reason {
        case .recordTooLarge(let size, _), .recordRejectedAsTooLarge(let size, _, _): size
        default: nil
        }
    }

    /// Buffer limit in bytes when the error is ``Code/bufferFull``.
    public var bufferLimit: Int? {
        if case .bufferFull(let limit) = reason { return limit }
        return nil
    }

    public var isTimedOut: Bool { code == .timedOut }
    public var isBufferFull: Bool { code == .bufferFull }
    public var isRecordTooLarge: Bool { code == .recordTooLarge }
    public var isClosed: Bool { code == .closed }

    public static func == (lhs: KafkaProducerError, rhs: KafkaProducerError) -> Bool {
        lhs.reason == rhs.reason && lhs.mayHavePersisted == rhs.mayHavePersisted
    }
}

extension KafkaProducerError {
    static func timedOut(_ message: String, mayHavePersisted: Bool) -> KafkaProducerError {
        KafkaProducerError(.timedOut, message, mayHavePersisted: mayHavePersisted)
    }

    static func bufferFull(limit: Int, waited: Duration) -> KafkaProducerError {
        KafkaProducerError(
            .bufferFull(limit: limit),
            "buffer full: bufferMemory \(limit) bytes stayed in use for maxBlock \(waited); "
                + "the brokers are not keeping up, so raise bufferMemory or maxBlock or slow down",
            mayHavePersisted: false)
    }

    static func recordTooLarge(size: Int, limit: Int, setting: String) -> KafkaProducerError {
        KafkaProducerError(
            .recordTooLarge(size: size, limit: limit),
            "record too large: \(size) bytes encoded exceeds \(setting) \(limit) bytes",
            mayHavePersisted: false)
    }

    /// Describes a batch of one record that the broker rejected as too large, so it cannot be split further.
    static func recordRejectedAsTooLarge(
        recordSize: Int, batchSize: Int, code: KafkaErrorCode, topic: String, partition: Int32, mayHavePersisted: Bool
    ) -> KafkaProducerError {
        KafkaProducerError(
            .recordRejectedAsTooLarge(size: recordSize, batchSize: batchSize, code: code),
            "record too large: the broker rejected a \(recordSize)-byte record for \(topic)-\(partition) with "
                + "\(code), sent alone in a \(batchSize)-byte batch, so the topic's max.message.bytes (or the "
                + "broker's message.max.bytes) is below \(batchSize) bytes: raise it or send smaller records",
            mayHavePersisted: mayHavePersisted)
    }

    static func closed(_ message: String = "producer is closed") -> KafkaProducerError {
        KafkaProducerError(.closed, message, mayHavePersisted: false)
    }

    static func invalidConfiguration(_ message: String) -> KafkaProducerError {
        KafkaProducerError(.invalidConfiguration, "invalid configuration: " + message, mayHavePersisted: false)
    }

    static func invalidPartition(_ partition: Int32, topic: String, count: Int32) -> KafkaProducerError {
        KafkaProducerError(
            .invalidPartition(partition: partition),
            "invalid partition \(partition) for topic \(topic), which has \(count) partitions",
            mayHavePersisted: false)
    }

    static func broker(
        _ code: KafkaErrorCode, topic: String, partition: Int32, message: String?, earlierAttemptUncertain: Bool = false
    ) -> KafkaProducerError {
        var text = "broker rejected the batch for \(topic)-\(partition): \(code)"
        if let message, !message.isEmpty { text += ": " + message }
        let mayHavePersisted = earlierAttemptUncertain || code.mayHavePersisted
        return KafkaProducerError(.brokerError(code), text, mayHavePersisted: mayHavePersisted)
    }

    static func transport(_ message: String, mayHavePersisted: Bool) -> KafkaProducerError {
        KafkaProducerError(.transportFailed, message, mayHavePersisted: mayHavePersisted)
    }

    static func protocolError(_ message: String) -> KafkaProducerError {
        KafkaProducerError(.protocolError, "protocol error: " + message, mayHavePersisted: true)
    }

    static func unsupportedVersion(_ message: String) -> KafkaProducerError {
        KafkaProducerError(.unsupportedVersion, message, mayHavePersisted: false)
    }

    static func invalidRecord(_ message: String) -> KafkaProducerError {
        KafkaProducerError(.invalidRecord, "invalid record: " + message, mayHavePersisted: false)
    }

    static func notConnected(waited: Duration, lastError: String?) -> KafkaProducerError {
        KafkaProducerError(
            .notConnected,
            "no broker responded to Metadata within maxBlock \(waited): check bootstrapServers and that the "
                + "brokers run; last error: \(lastError ?? "none")",
            mayHavePersisted: false)
    }

    /// `errorCode` is the topic's error in the latest Metadata response, 0 when there was none;
    /// `problem` is the reason its latest entry was unusable.
    static func unknownTopic(
        _ topic: String, waited: Duration, errorCode: Int16 = 0, problem: String? = nil
    ) -> KafkaProducerError {
        var message = "topic \(topic) not found in metadata within maxBlock \(waited): create it or check the name"
        if let problem {
            message = "topic \(topic) has no usable metadata within maxBlock \(waited): the broker's entry was "
                + "ignored because \(problem); check the brokers"
        }
        if errorCode != 0 {
            message = "topic \(topic) has no usable metadata within maxBlock \(waited): the broker returned "
                + "\(KafkaErrorCode(errorCode)) for it; check the topic name, that it exists and the client's ACLs"
        }
        return KafkaProducerError(.unknownTopic, message, mayHavePersisted: false)
    }
}

import KafkaWire

/// A failed `enqueue`, `send`, `flush` or delivery.
///
/// ``mayHavePersisted`` says whether the broker may have written the record: `true` after a
/// transport error, a request timeout or NOT_ENOUGH_REPLICAS_AFTER_APPEND once the record was sent,
/// `false` when it was never sent or the broker rejected it (unknown topic, NOT_ENOUGH_REPLICAS,
/// authorization, too large).
public struct KafkaProducerError: Error, CustomStringConvertible, Sendable, Equatable {
    enum Code: Sendable, Equatable {
        case timedOut
        case bufferFull(limit: Int)
        case recordTooLarge(size: Int, limit: Int)
        case brokerError(KafkaErrorCode)
        case closed
        case notConnected
        case invalidConfiguration
        case invalidPartition(partition: Int32)
        case unknownTopic
        case transportFailed
        case protocolError
        case unsupportedVersion
    }

    let code: Code
    public let message: String
    public let mayHavePersisted: Bool

    init(_ code: Code, _ message: String, mayHavePersisted: Bool) {
        self.code = code
        self.message = message
        self.mayHavePersisted = mayHavePersisted
    }

    public var description: String {
        mayHavePersisted ? message + " (the record may have been written)" : message
    }

    /// The broker's error code, when the broker rejected the record.
    public var brokerErrorCode: KafkaErrorCode? {
        if case .brokerError(let code) = code { return code }
        return nil
    }

    /// Buffer limit in bytes when the error is ``bufferFull``.
    public var bufferLimit: Int? {
        if case .bufferFull(let limit) = code { return limit }
        return nil
    }

    public var isTimedOut: Bool { code == .timedOut }
    public var isBufferFull: Bool { bufferLimit != nil }
    public var isRecordTooLarge: Bool {
        if case .recordTooLarge = code { return true }
        return false
    }
    public var isClosed: Bool { code == .closed }

    public static func == (lhs: KafkaProducerError, rhs: KafkaProducerError) -> Bool {
        lhs.code == rhs.code && lhs.mayHavePersisted == rhs.mayHavePersisted
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
        return KafkaProducerError(.brokerError(code), text, mayHavePersisted: earlierAttemptUncertain || code.mayHavePersisted)
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

    static func unknownTopic(_ topic: String, waited: Duration) -> KafkaProducerError {
        KafkaProducerError(
            .unknownTopic,
            "topic \(topic) not found in metadata within maxBlock \(waited): create it or check the name",
            mayHavePersisted: false)
    }
}

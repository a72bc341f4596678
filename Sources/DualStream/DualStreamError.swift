import Kafka

/// A failed publish: an event rejected before it reached Kafka, or a Kafka failure.
///
/// Redis failures never appear here, because notifications are best effort: they are counted in
/// ``DualPublisherStatistics`` and logged.
public struct DualStreamError: Error, CustomStringConvertible, Sendable {
    enum Code: Sendable {
        case invalidEvent
        case kafkaFailed(KafkaProducerError)
        case closed
    }

    let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Whether the event was rejected by validation and never sent to Kafka.
    public var isInvalidEvent: Bool {
        if case .invalidEvent = code { return true }
        return false
    }

    /// Whether the publisher was closed before the event was sent.
    public var isClosed: Bool {
        if case .closed = code { return true }
        return false
    }

    /// The producer's error when Kafka failed to acknowledge the event.
    public var kafkaError: KafkaProducerError? {
        if case .kafkaFailed(let error) = code { return error }
        return nil
    }

    /// Whether Kafka may hold the event although the publish failed. `false` for invalid events
    /// and for Kafka errors that say the record was never written.
    public var mayHavePersisted: Bool {
        if case .kafkaFailed(let error) = code { return error.mayHavePersisted }
        return false
    }
}

extension DualStreamError {
    static func invalidEvent(field: String, value: String, reason: String) -> DualStreamError {
        DualStreamError(
            .invalidEvent,
            "invalid \(field) \(quoted(value)): \(reason)")
    }

    static func kafkaFailed(_ error: KafkaProducerError, eventID: String, topic: String) -> DualStreamError {
        DualStreamError(
            .kafkaFailed(error),
            "Kafka did not acknowledge event \(quoted(eventID)) on topic \(topic): \(error)")
    }

    static func closed(eventID: String) -> DualStreamError {
        DualStreamError(.closed, "publisher is closed; event \(quoted(eventID)) was not sent")
    }

    /// Renders a value for an error message: escaped like a Swift string literal and cut after
    /// 80 characters, so control characters and huge values stay readable.
    static func quoted(_ value: String) -> String {
        let limit = 80
        if value.count <= limit {
            return value.debugDescription
        }
        let prefix = String(value.prefix(limit)).debugDescription
        return "\(prefix)… (\(value.utf8.count) bytes)"
    }
}

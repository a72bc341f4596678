import Kafka

/// One event to publish: the payload goes to Kafka unchanged, and a notification naming the
/// event goes to the Redis channel of its source.
public struct Event: Sendable, Hashable {
    /// Unique event id, for de-duplication by consumers. 1 to ``EventLimits/maxIDBytes`` bytes.
    public var id: String
    /// Event type, for example `PushEvent`. 1 to ``EventLimits/maxTypeBytes`` bytes.
    public var type: String
    /// Kind of source, for example `repo` or `user`. See ``EventChannel`` for the allowed characters.
    public var sourceType: String
    /// Source the event belongs to, for example `octocat/hello-world`. It is the Kafka record key, so
    /// all events of one source land in one partition in order.
    public var sourceID: String
    /// Kafka record value, sent byte for byte.
    public var payload: [UInt8]
    /// Create time in milliseconds since the Unix epoch; `nil` takes the time of the publish.
    public var timestamp: Int64?
    /// Extra Kafka headers, sent after the headers the publisher adds (``EventHeaders``).
    public var headers: [KafkaHeader]

    public init(
        id: String, type: String, sourceType: String, sourceID: String, payload: [UInt8],
        timestamp: Int64? = nil, headers: [KafkaHeader] = []
    ) {
        self.id = id
        self.type = type
        self.sourceType = sourceType
        self.sourceID = sourceID
        self.payload = payload
        self.timestamp = timestamp
        self.headers = headers
    }
}

/// Names of the Kafka headers the publisher adds to every record.
public enum EventHeaders {
    public static let id = "event-id"
    public static let type = "event-type"
    public static let sourceType = "source-type"
}

/// Size limits on event identifiers, in UTF-8 bytes. They bound the size of a notification:
/// with every limit reached and every quote or backslash escaped, a notification stays under
/// 4 KiB (about 2,300 bytes with a topic name of the Kafka maximum of 249 characters).
public enum EventLimits {
    public static let maxIDBytes = 256
    public static let maxTypeBytes = 128
    public static let maxSourceTypeBytes = 64
    public static let maxSourceIDBytes = 512
}

extension Event {
    /// Checks the identifiers against ``EventLimits`` and the rules of ``EventChannel``, and
    /// returns the Redis channel of the event. ``DualPublisher`` rejects the events this rejects.
    public func validatedChannel() throws(DualStreamError) -> String {
        try Event.checkIdentifier(id, field: "event id", maxBytes: EventLimits.maxIDBytes)
        try Event.checkIdentifier(type, field: "event type", maxBytes: EventLimits.maxTypeBytes)
        return try EventChannel.name(sourceType: sourceType, sourceID: sourceID)
    }

    /// Builds the Kafka record: key = source id, value = payload, identifiers in headers.
    func producerRecord(topic: String) -> ProducerRecord {
        var recordHeaders = [
            KafkaHeader(key: EventHeaders.id, value: Array(id.utf8)),
            KafkaHeader(key: EventHeaders.type, value: Array(type.utf8)),
            KafkaHeader(key: EventHeaders.sourceType, value: Array(sourceType.utf8)),
        ]
        recordHeaders.append(contentsOf: headers)
        return ProducerRecord(
            topic: topic, key: Array(sourceID.utf8), value: payload, headers: recordHeaders,
            timestamp: timestamp)
    }

    /// Rejects an empty identifier, one over `maxBytes`, and one with control characters.
    static func checkIdentifier(_ value: String, field: String, maxBytes: Int) throws(DualStreamError) {
        try checkLength(value, field: field, maxBytes: maxBytes)
        let control: Unicode.Scalar?
        if value.utf8.allSatisfy({ $0 < 0x80 }) {
            control = value.utf8.first(where: { $0 < 0x20 || $0 == 0x7F }).map(Unicode.Scalar.init)
        } else {
            control = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control })
        }
        if let scalar = control {
            throw .invalidEvent(
                field: field, value: value,
                reason: "it contains the control character U+\(EventChannel.hex(scalar.value))")
        }
    }

    /// Rejects an empty value and one of more than `maxBytes` UTF-8 bytes.
    static func checkLength(_ value: String, field: String, maxBytes: Int) throws(DualStreamError) {
        if value.isEmpty {
            throw .invalidEvent(field: field, value: value, reason: "it is empty")
        }
        if value.utf8.count > maxBytes {
            throw .invalidEvent(
                field: field, value: value,
                reason: "it has \(value.utf8.count) bytes, more than the maximum of \(maxBytes)")
        }
    }
}

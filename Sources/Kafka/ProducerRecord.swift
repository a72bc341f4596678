/// One record header. A `nil` value is encoded as length -1.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// A record to send. Without `partition`, the configured ``KafkaPartitioner`` chooses one.
public struct ProducerRecord: Sendable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Create time in milliseconds since the Unix epoch; `nil` takes the current time at enqueue.
    public var timestamp: Int64?

    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// The topic, partition, offset and timestamp of an acknowledged record.
public struct RecordMetadata: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// Offset in the partition, or -1 when unknown: with `acks = .none`, and for a batch the
    /// broker reported as DUPLICATE_SEQUENCE_NUMBER (already written by an earlier attempt).
    public var offset: Int64
    /// The record's create time, or the broker's append time when the topic uses LogAppendTime.
    public var timestamp: Int64

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }
}

extension ProducerRecord {
    /// Maximum topic name length in bytes (Topic.MAX_NAME_LENGTH in Apache Kafka's clients).
    static let maxTopicNameLength = 249

    /// Rejects a record that no broker accepts, before it touches metadata or the buffer.
    ///
    /// A topic name must be 1 to 249 bytes of `[a-zA-Z0-9._-]` and not "." or "..", which is the
    /// rule of Apache Kafka's Topic.validate. A negative timestamp is rejected because -1 means
    /// "none" on the wire, and the Java producer rejects negative timestamps too.
    func validate() throws(KafkaProducerError) {
        let name = topic.utf8
        if name.isEmpty || topic == "." || topic == ".." {
            throw .invalidRecord("topic name \"\(topic)\" is not allowed: use letters, digits, '.', '_' or '-'")
        }
        if name.count > Self.maxTopicNameLength {
            throw .invalidRecord("topic name of \(name.count) bytes (\"\(topic.prefix(40))...\") exceeds "
                + "the maximum of \(Self.maxTopicNameLength) bytes: shorten it")
        }
        let allowed = { (byte: UInt8) -> Bool in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
        if let offset = name.firstIndex(where: { !allowed($0) }) {
            throw .invalidRecord("topic name \"\(topic)\" has an invalid character at byte "
                + "\(name.distance(from: name.startIndex, to: offset)): use only letters, digits, '.', '_' or '-'")
        }
        if let timestamp, timestamp < 0 {
            throw .invalidRecord("timestamp \(timestamp) for topic \(topic) is negative: give milliseconds since "
                + "the Unix epoch, or nil for the current time")
        }
    }
}

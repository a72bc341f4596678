/// A record header as stored by the fake broker.
public struct FakeKafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// A record as stored in a partition log, with its assigned offset.
public struct FakeKafkaRecord: Sendable, Hashable {
    public var offset: Int64
    /// Milliseconds since the epoch: the batch's BaseTimestamp plus the record's TimestampDelta.
    public var timestamp: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [FakeKafkaHeader]

    public init(offset: Int64, timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [FakeKafkaHeader]) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A record batch as received in a Produce request, with the fields tests check.
public struct FakeKafkaBatch: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// The Records bytes exactly as the client sent them, so a test can check that a retried
    /// batch is byte-identical to the first attempt.
    public var rawBytes: [UInt8]
    /// Header fields, or nil where the batch was too short to contain them.
    public var producerID: Int64?
    public var producerEpoch: Int16?
    public var baseSequence: Int32?
    public var recordCount: Int32?
    /// Compression codec from the Attributes bits 0-2 (0 = none).
    public var compressionCodec: Int?
    /// Offset assigned to the first record, or nil when the batch was not appended.
    public var baseOffset: Int64?
    /// Records with their assigned offsets; empty when the batch was rejected or is compressed
    /// (the fake does not decompress).
    public var records: [FakeKafkaRecord]
}

/// A RecordBatch in message format v2 (magic 2), the only format Produce v3 and later accepts.
///
/// The layout follows DefaultRecordBatch.java in Apache Kafka. Offsets from the batch start:
/// BaseOffset int64 @0, Length int32 @8 (batch size - 12), PartitionLeaderEpoch int32 @12,
/// Magic int8 @16, CRC uint32 @17 (CRC-32C of bytes 21 to the end), Attributes int16 @21,
/// LastOffsetDelta int32 @23, BaseTimestamp int64 @27, MaxTimestamp int64 @35, ProducerId int64 @43,
/// ProducerEpoch int16 @51, BaseSequence int32 @53, RecordsCount int32 @57, Records @61.
public struct RecordBatch: Hashable, Sendable {
    public static let headerSize = 61
    /// Bytes before the Length field's coverage starts (BaseOffset and Length).
    public static let logOverhead = 12
    public static let magic: Int8 = 2

    public var baseOffset: Int64
    public var partitionLeaderEpoch: Int32
    public var attributes: RecordBatchAttributes
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    /// -1 unless the producer is idempotent.
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    /// The decoded records; empty when `compressedRecords` is set.
    public var records: [Record]
    /// The records section as it appeared on the wire, set only when the batch is compressed.
    public var compressedRecords: [UInt8]?
    /// The record count from the header; equals `records.count` for uncompressed batches.
    public var recordCount: Int32
    /// The CRC-32C stored in the batch (verified on decode, computed on encode).
    public var crc: UInt32

    public init(
        baseOffset: Int64 = 0,
        partitionLeaderEpoch: Int32 = -1,
        attributes: RecordBatchAttributes = RecordBatchAttributes(),
        baseTimestamp: Int64,
        maxTimestamp: Int64? = nil,
        producerId: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1,
        records: [Record]
    ) {
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.attributes = attributes
        self.lastOffsetDelta = records.last.map(\.offsetDelta) ?? -1
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp =
            maxTimestamp ?? records.map { baseTimestamp &+ $0.timestampDelta }.max() ?? baseTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.records = records
        self.compressedRecords = nil
        self.recordCount = Int32(truncatingIfNeeded: records.count)
        self.crc = 0
    }

    /// Returns the absolute offset of `record`, meaningful in batches a broker returned.
    public func offset(of record: Record) -> Int64 { baseOffset &+ Int64(record.offsetDelta) }

    /// Returns the absolute timestamp of `record` in milliseconds.
    public func timestamp(of record: Record) -> Int64 { baseTimestamp &+ record.timestampDelta }
}

/// The Attributes field of a RecordBatch.
public struct RecordBatchAttributes: Hashable, Sendable {
    public var rawValue: Int16

    public init(rawValue: Int16 = 0) {
        self.rawValue = rawValue
    }

    public init(
        compression: CompressionCodec = .none,
        timestampType: TimestampType = .createTime,
        isTransactional: Bool = false,
        isControl: Bool = false
    ) {
        rawValue = Int16(compression.rawValue)
        self.timestampType = timestampType
        self.isTransactional = isTransactional
        self.isControl = isControl
    }

    /// Bits 0-2; a value outside `CompressionCodec` is returned as nil.
    public var compression: CompressionCodec? {
        CompressionCodec(rawValue: UInt8(rawValue & 0x07))
    }

    /// Bit 3.
    public var timestampType: TimestampType {
        get { rawValue & 0x08 != 0 ? .logAppendTime : .createTime }
        set { set(0x08, newValue == .logAppendTime) }
    }

    /// Bit 4.
    public var isTransactional: Bool {
        get { rawValue & 0x10 != 0 }
        set { set(0x10, newValue) }
    }

    /// Bit 5: the batch contains a transaction marker, not user records.
    public var isControl: Bool {
        get { rawValue & 0x20 != 0 }
        set { set(0x20, newValue) }
    }

    private mutating func set(_ bit: Int16, _ on: Bool) {
        rawValue = on ? rawValue | bit : rawValue & ~bit
    }
}

public enum CompressionCodec: UInt8, Hashable, Sendable {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4
}

public enum TimestampType: Hashable, Sendable {
    case createTime
    case logAppendTime
}

/// One record inside a RecordBatch (DefaultRecord.java in Apache Kafka).
public struct Record: Hashable, Sendable {
    /// Unused by Kafka; always 0 when this module encodes.
    public var attributes: Int8
    public var timestampDelta: Int64
    public var offsetDelta: Int32
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]

    public init(
        attributes: Int8 = 0, timestampDelta: Int64, offsetDelta: Int32, key: [UInt8]?, value: [UInt8]?,
        headers: [RecordHeader] = []
    ) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A record header: a key (UTF-8 on the wire) and a nullable value.
public struct RecordHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

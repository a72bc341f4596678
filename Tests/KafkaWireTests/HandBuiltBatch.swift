@testable import KafkaWire

/// A RecordBatch v2 laid out byte by byte from the field table (DefaultRecordBatch.java in
/// Apache Kafka), so malformed batches can be built without the encoder under test. The Length
/// field and the CRC-32C are computed from the bytes unless overridden, and the CRC covers the
/// bytes that Length claims, so a decoder gets past the checksum to the fields being attacked.
struct HandBuiltBatch {
    var baseOffset: Int64 = 0
    var partitionLeaderEpoch: Int32 = -1
    var magic: UInt8 = 2
    var attributes: Int16 = 0
    var lastOffsetDelta: Int32 = 0
    var baseTimestamp: Int64 = 1_700_000_000_000
    var maxTimestamp: Int64 = 1_700_000_000_000
    var producerId: Int64 = -1
    var producerEpoch: Int16 = -1
    var baseSequence: Int32 = -1
    var recordCount: Int32 = 1
    var records: [UInt8]
    /// Replaces the computed Length field (batch size - 12).
    var length: Int32? = nil

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out += bigEndian(baseOffset)
        out += bigEndian(length ?? Int32(49 + records.count))
        out += bigEndian(partitionLeaderEpoch)
        out.append(magic)
        out += [0, 0, 0, 0]
        out += bigEndian(attributes)
        out += bigEndian(lastOffsetDelta)
        out += bigEndian(baseTimestamp)
        out += bigEndian(maxTimestamp)
        out += bigEndian(producerId)
        out += bigEndian(producerEpoch)
        out += bigEndian(baseSequence)
        out += bigEndian(recordCount)
        out += records
        let claimedEnd = 12 + Int(length ?? Int32(49 + records.count))
        let crcEnd = min(max(claimedEnd, 21), out.count)
        let crc = CRC32C.checksum(out[21..<crcEnd])
        out.replaceSubrange(17..<21, with: bigEndian(crc))
        return out
    }
}

/// One record's bytes, field by field (DefaultRecord.java). `length` replaces the computed
/// Length varint and `headerCount` the computed HeadersCount; headers are raw key and value bytes.
func handBuiltRecord(
    timestampDelta: Int64 = 0, offsetDelta: Int64 = 0, key: [UInt8]? = [0x6B],
    value: [UInt8]? = [0x76], headers: [(key: [UInt8], value: [UInt8]?)] = [],
    length: Int64? = nil, headerCount: Int64? = nil
) -> [UInt8] {
    var body: [UInt8] = [0]
    body += zigzagVarint(timestampDelta)
    body += zigzagVarint(offsetDelta)
    body += lengthPrefixed(key)
    body += lengthPrefixed(value)
    body += zigzagVarint(headerCount ?? Int64(headers.count))
    for header in headers {
        body += lengthPrefixed(header.key)
        body += lengthPrefixed(header.value)
    }
    return zigzagVarint(length ?? Int64(body.count)) + body
}

private func lengthPrefixed(_ bytes: [UInt8]?) -> [UInt8] {
    guard let bytes else { return zigzagVarint(-1) }
    return zigzagVarint(Int64(bytes.count)) + bytes
}

/// Zigzag then unsigned LEB128 (ByteUtils.java), written out here rather than taken from the
/// encoder under test.
func zigzagVarint(_ value: Int64) -> [UInt8] {
    unsignedVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
}

func unsignedVarint(_ value: UInt64) -> [UInt8] {
    var remaining = value
    var out: [UInt8] = []
    while remaining >= 0x80 {
        out.append(UInt8(remaining & 0x7F) | 0x80)
        remaining >>= 7
    }
    out.append(UInt8(remaining))
    return out
}

func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}

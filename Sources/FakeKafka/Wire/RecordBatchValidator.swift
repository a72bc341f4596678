/// The reason a partition's Records bytes were rejected, with the Kafka error code to send.
struct BatchRejection: Error, Sendable {
    var errorCode: Int16
    var message: String

    static func corrupt(_ message: String) -> BatchRejection {
        BatchRejection(errorCode: FakeKafkaErrorCode.corruptMessage, message: message)
    }

    static func invalid(_ message: String) -> BatchRejection {
        BatchRejection(errorCode: FakeKafkaErrorCode.invalidRecord, message: message)
    }
}

/// A v2 record batch whose framing and CRC were checked.
struct ValidatedBatch: Sendable {
    var producerID: Int64
    var producerEpoch: Int16
    var baseSequence: Int32
    var recordCount: Int32
    var compressionCodec: Int
    /// Records with offsets relative to the batch (the OffsetDelta); nil for a compressed batch.
    var records: [FakeKafkaRecord]?
}

/// Validates the Records field of one partition in a Produce request (v3 and later).
///
/// The checks follow Kafka's broker (ProduceRequest.validateRecords, DefaultRecordBatch.ensureValid,
/// LogValidator.validateBatch): exactly one batch of magic 2, a Length field that matches the
/// bytes, a CRC-32C over bytes 21 to the end, a positive record count equal to LastOffsetDelta + 1,
/// no control batch, and a non-negative BaseSequence when a ProducerId is set. Truncation, a wrong
/// Length and a CRC mismatch give CORRUPT_MESSAGE; the other checks give INVALID_RECORD.
/// Uncompressed records are decoded and must fill the batch exactly with OffsetDelta 0, 1, 2, ...;
/// a malformed record gives CORRUPT_MESSAGE.
enum RecordBatchValidator {
    static let headerSize = 61

    /// Reads the header fields that fit in `bytes`, for the request log, without validating.
    static func peekHeader(_ bytes: [UInt8]) -> (producerID: Int64?, epoch: Int16?, sequence: Int32?,
        count: Int32?, codec: Int?)
    {
        guard bytes.count >= headerSize else { return (nil, nil, nil, nil, nil) }
        var reader = RequestReader(bytes, context: "RecordBatch")
        guard (try? reader.skip(21, "prefix")) != nil,
            let attributes = try? reader.readInt16("Attributes"),
            (try? reader.skip(20, "offsets and timestamps")) != nil,
            let producerID = try? reader.readInt64("ProducerId"),
            let epoch = try? reader.readInt16("ProducerEpoch"),
            let sequence = try? reader.readInt32("BaseSequence"),
            let count = try? reader.readInt32("RecordsCount")
        else { return (nil, nil, nil, nil, nil) }
        return (producerID, epoch, sequence, count, Int(attributes & 0x07))
    }

    static func validate(_ bytes: [UInt8]) -> Result<ValidatedBatch, BatchRejection> {
        do {
            return .success(try validateOrThrow(bytes))
        } catch {
            return .failure(error)
        }
    }

    private static func validateOrThrow(_ bytes: [UInt8]) throws(BatchRejection) -> ValidatedBatch {
        guard bytes.count >= 17 else {
            throw .invalid("Records holds \(bytes.count) bytes, less than one batch header; "
                + "a Produce request v3+ must contain exactly one record batch per partition")
        }
        let length = Int(readInt32(bytes, at: 8))
        let magic = Int8(bitPattern: bytes[16])
        guard magic == 2 else {
            throw .invalid("record batch Magic is \(magic) at byte 16; Produce v3+ requires magic 2")
        }
        guard length + 12 >= headerSize else {
            throw .corrupt("record batch Length \(length) at byte 8 is below the minimum "
                + "\(headerSize - 12) of a v2 batch header")
        }
        guard length + 12 <= bytes.count else {
            throw .corrupt("record batch Length \(length) at byte 8 promises \(length + 12) bytes "
                + "but Records holds \(bytes.count); the batch is truncated")
        }
        guard length + 12 == bytes.count else {
            throw .invalid("Records holds \(bytes.count - length - 12) bytes after the first batch "
                + "(Length \(length)); Produce v3+ allows exactly one record batch per partition")
        }
        let storedCRC = UInt32(bitPattern: readInt32(bytes, at: 17))
        let computedCRC = CRC32C.checksum(bytes[21...])
        guard storedCRC == computedCRC else {
            throw .corrupt("record batch CRC at byte 17 is 0x\(hex(storedCRC)) but CRC-32C of bytes "
                + "21..<\(bytes.count) is 0x\(hex(computedCRC))")
        }
        let attributes = readInt16(bytes, at: 21)
        let lastOffsetDelta = readInt32(bytes, at: 23)
        let baseTimestamp = readInt64(bytes, at: 27)
        let producerID = readInt64(bytes, at: 43)
        let producerEpoch = readInt16(bytes, at: 51)
        let baseSequence = readInt32(bytes, at: 53)
        let recordCount = readInt32(bytes, at: 57)
        let codec = Int(attributes & 0x07)

        guard attributes & 0x20 == 0 else {
            throw .invalid("record batch Attributes 0x\(hex(UInt32(UInt16(bitPattern: attributes)))) "
                + "mark a control batch; clients may not write control records")
        }
        guard recordCount > 0 else {
            throw .invalid("record batch RecordsCount is \(recordCount) at byte 57; it must be positive")
        }
        guard Int64(lastOffsetDelta) + 1 == Int64(recordCount) else {
            throw .invalid("record batch LastOffsetDelta \(lastOffsetDelta) at byte 23 does not match "
                + "RecordsCount \(recordCount) at byte 57 (expected count - 1)")
        }
        guard producerID < 0 || baseSequence >= 0 else {
            throw .invalid("record batch BaseSequence is \(baseSequence) with ProducerId \(producerID); "
                + "an idempotent batch needs a sequence of 0 or more")
        }
        guard codec <= 4 else {
            throw BatchRejection(
                errorCode: FakeKafkaErrorCode.unsupportedCompressionType,
                message: "record batch compression codec \(codec) in Attributes is unknown")
        }
        var records: [FakeKafkaRecord]?
        if codec == 0 {
            records = try decodeRecords(bytes, count: Int(recordCount), baseTimestamp: baseTimestamp)
        }
        return ValidatedBatch(
            producerID: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence,
            recordCount: recordCount, compressionCodec: codec, records: records)
    }

    private static func decodeRecords(_ bytes: [UInt8], count: Int, baseTimestamp: Int64)
        throws(BatchRejection) -> [FakeKafkaRecord]
    {
        var reader = RecordReader(bytes: bytes, offset: headerSize)
        var records: [FakeKafkaRecord] = []
        // Each record takes at least 7 bytes, so the count is bounded by the bytes present.
        records.reserveCapacity(min(count, (bytes.count - headerSize) / 7))
        for index in 0..<count {
            let recordStart = reader.offset
            let length = try reader.readVarint("record \(index) Length")
            guard length >= 0, length <= reader.remaining else {
                throw .corrupt("record \(index) Length \(length) at byte \(recordStart) exceeds the "
                    + "\(reader.remaining) bytes left in the batch")
            }
            let end = reader.offset + Int(length)
            _ = try reader.readByte("record \(index) Attributes")
            let timestampDelta = try reader.readVarlong("record \(index) TimestampDelta")
            let offsetDelta = try reader.readVarint("record \(index) OffsetDelta")
            guard offsetDelta == index else {
                throw .invalid("record \(index) has OffsetDelta \(offsetDelta); records in a batch must "
                    + "have OffsetDelta 0, 1, 2, ... in order")
            }
            let key = try reader.readNullableBytes("record \(index) Key")
            let value = try reader.readNullableBytes("record \(index) Value")
            let headerCount = try reader.readVarint("record \(index) HeadersCount")
            guard headerCount >= 0, Int(headerCount) <= reader.remaining / 2 else {
                throw .corrupt("record \(index) HeadersCount \(headerCount) does not fit in the batch")
            }
            var headers: [FakeKafkaHeader] = []
            for headerIndex in 0..<Int(headerCount) {
                let field = "record \(index) header \(headerIndex)"
                guard let keyBytes = try reader.readNullableBytes(field + " Key") else {
                    throw .invalid("\(field) has a null key; header keys must be strings")
                }
                let headerValue = try reader.readNullableBytes(field + " Value")
                headers.append(FakeKafkaHeader(key: String(decoding: keyBytes, as: UTF8.self), value: headerValue))
            }
            guard reader.offset == end else {
                throw .corrupt("record \(index) Length \(length) at byte \(recordStart) does not match "
                    + "its fields, which end at byte \(reader.offset) instead of \(end)")
            }
            records.append(FakeKafkaRecord(
                offset: Int64(offsetDelta), timestamp: baseTimestamp &+ timestampDelta, key: key,
                value: value, headers: headers))
        }
        guard reader.remaining == 0 else {
            throw .corrupt("\(reader.remaining) bytes follow the last of \(count) records in the batch; "
                + "RecordsCount or a record Length is wrong")
        }
        return records
    }

    private static func readInt16(_ bytes: [UInt8], at index: Int) -> Int16 {
        Int16(bitPattern: UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
    }

    private static func readInt32(_ bytes: [UInt8], at index: Int) -> Int32 {
        var value: UInt32 = 0
        for byte in bytes[index..<(index + 4)] { value = value << 8 | UInt32(byte) }
        return Int32(bitPattern: value)
    }

    private static func readInt64(_ bytes: [UInt8], at index: Int) -> Int64 {
        var value: UInt64 = 0
        for byte in bytes[index..<(index + 8)] { value = value << 8 | UInt64(byte) }
        return Int64(bitPattern: value)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// Reads the zigzag varints and length-prefixed fields inside a record.
private struct RecordReader {
    let bytes: [UInt8]
    var offset: Int

    var remaining: Int { bytes.count - offset }

    mutating func readByte(_ field: String) throws(BatchRejection) -> UInt8 {
        guard offset < bytes.count else { throw .corrupt("\(field) at byte \(offset) is past the batch end") }
        offset += 1
        return bytes[offset - 1]
    }

    /// Reads a zigzag LEB128 value of at most `maximumBytes` bytes.
    private mutating func readZigzag(_ field: String, maximumBytes: Int) throws(BatchRejection) -> Int64 {
        let start = offset
        var raw: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<maximumBytes {
            guard offset < bytes.count else {
                throw .corrupt("\(field) varint at byte \(start) runs past the batch end")
            }
            let byte = bytes[offset]
            offset += 1
            raw |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
            }
            shift += 7
        }
        throw .corrupt("\(field) varint at byte \(start) is longer than \(maximumBytes) bytes")
    }

    mutating func readVarint(_ field: String) throws(BatchRejection) -> Int32 {
        let value = try readZigzag(field, maximumBytes: 5)
        guard let narrow = Int32(exactly: value) else {
            throw .corrupt("\(field) varint value \(value) does not fit in 32 bits")
        }
        return narrow
    }

    mutating func readVarlong(_ field: String) throws(BatchRejection) -> Int64 {
        try readZigzag(field, maximumBytes: 10)
    }

    /// Reads a varint length (-1 = null) and that many bytes.
    mutating func readNullableBytes(_ field: String) throws(BatchRejection) -> [UInt8]? {
        let start = offset
        let length = try readVarint(field + " length")
        if length == -1 { return nil }
        guard length >= 0, Int(length) <= remaining else {
            throw .corrupt("\(field) length \(length) at byte \(start) exceeds the \(remaining) bytes left")
        }
        let value = Array(bytes[offset..<(offset + Int(length))])
        offset += Int(length)
        return value
    }
}

import KafkaWire

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
/// LogValidator.validateBatch). The fake requires exactly one batch of magic 2 and a Length field
/// that matches the bytes. It checks the CRC-32C over bytes 21 to the end, a positive record count
/// equal to LastOffsetDelta + 1, no control batch, and a non-negative BaseSequence when a
/// ProducerId is set. Truncation, a wrong Length and a CRC mismatch give CORRUPT_MESSAGE, and the
/// other checks give INVALID_RECORD.
///
/// Uncompressed records are then decoded with KafkaWire's RecordBatch decoder and must fill the
/// batch exactly (else CORRUPT_MESSAGE). Their OffsetDelta must run 0, 1, 2, ... (else
/// INVALID_RECORD), which is stricter than Kafka: its LogValidator rewrites such offsets.
enum RecordBatchValidator {
    static let headerSize = 61

    /// Reads the header fields of a batch, for the request log, without validating. Returns nils
    /// when `bytes` is shorter than a batch header.
    static func peekHeader(
        _ bytes: [UInt8]
    ) -> (
        producerID: Int64?, epoch: Int16?, sequence: Int32?, count: Int32?, codec: Int?
    ) {
        guard bytes.count >= headerSize else { return (nil, nil, nil, nil, nil) }
        return (
            readInt64(bytes, at: 43), readInt16(bytes, at: 51), readInt32(bytes, at: 53),
            readInt32(bytes, at: 57), Int(readInt16(bytes, at: 21) & 0x07)
        )
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
            throw .invalid(
                "Records contains \(bytes.count) bytes, less than one batch header; "
                    + "a Produce request v3+ must contain exactly one record batch per partition")
        }
        let length = Int(readInt32(bytes, at: 8))
        let magic = Int8(bitPattern: bytes[16])
        guard magic == 2 else {
            throw .invalid("record batch Magic is \(magic) at byte 16; Produce v3+ requires magic 2")
        }
        guard length + 12 >= headerSize else {
            throw .corrupt(
                "record batch Length \(length) at byte 8 is below the minimum "
                    + "\(headerSize - 12) of a v2 batch header")
        }
        guard length + 12 <= bytes.count else {
            throw .corrupt(
                "record batch Length \(length) at byte 8 promises \(length + 12) bytes "
                    + "but Records contains \(bytes.count); the batch is truncated")
        }
        guard length + 12 == bytes.count else {
            throw .invalid(
                "Records contains \(bytes.count - length - 12) bytes after the first batch "
                    + "(Length \(length)); Produce v3+ allows exactly one record batch per partition")
        }
        let storedCRC = UInt32(bitPattern: readInt32(bytes, at: 17))
        let computedCRC = CRC32C.checksum(bytes[21...])
        guard storedCRC == computedCRC else {
            throw .corrupt(
                "record batch CRC at byte 17 is 0x\(hex(storedCRC)) but CRC-32C of bytes "
                    + "21..<\(bytes.count) is 0x\(hex(computedCRC))")
        }
        let attributes = readInt16(bytes, at: 21)
        let lastOffsetDelta = readInt32(bytes, at: 23)
        let producerID = readInt64(bytes, at: 43)
        let producerEpoch = readInt16(bytes, at: 51)
        let baseSequence = readInt32(bytes, at: 53)
        let recordCount = readInt32(bytes, at: 57)
        let codec = Int(attributes & 0x07)

        guard attributes & 0x20 == 0 else {
            throw .invalid(
                "record batch Attributes 0x\(hex(UInt32(UInt16(bitPattern: attributes)))) "
                    + "mark a control batch; clients may not write control records")
        }
        guard recordCount > 0 else {
            throw .invalid("record batch RecordsCount is \(recordCount) at byte 57; it must be positive")
        }
        guard Int64(lastOffsetDelta) + 1 == Int64(recordCount) else {
            throw .invalid(
                "record batch LastOffsetDelta \(lastOffsetDelta) at byte 23 does not match "
                    + "RecordsCount \(recordCount) at byte 57 (expected count - 1)")
        }
        guard producerID < 0 || baseSequence >= 0 else {
            throw .invalid(
                "record batch BaseSequence is \(baseSequence) with ProducerId \(producerID); "
                    + "an idempotent batch needs a sequence of 0 or more")
        }
        guard codec <= 4 else {
            throw BatchRejection(
                errorCode: FakeKafkaErrorCode.unsupportedCompressionType,
                message: "record batch compression codec \(codec) in Attributes is unknown")
        }
        var records: [FakeKafkaRecord]?
        if codec == 0 {
            records = try decodeRecords(bytes)
        }
        return ValidatedBatch(
            producerID: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence,
            recordCount: recordCount, compressionCodec: codec, records: records)
    }

    /// Decodes the records with KafkaWire's RecordBatch decoder (which checks the CRC again) and
    /// checks that OffsetDelta runs 0, 1, 2, ... so that a producer numbering records wrongly is
    /// caught.
    private static func decodeRecords(_ bytes: [UInt8]) throws(BatchRejection) -> [FakeKafkaRecord] {
        var reader = WireReader(bytes, context: WireContext(api: "RecordBatch"))
        let batch: RecordBatch
        do {
            batch = try RecordBatch.decode(from: &reader)
        } catch {
            throw .corrupt("record batch is malformed: \(error)")
        }
        var records: [FakeKafkaRecord] = []
        records.reserveCapacity(batch.records.count)
        for (index, record) in batch.records.enumerated() {
            guard record.offsetDelta == index else {
                throw .invalid(
                    "record \(index) has OffsetDelta \(record.offsetDelta); records in a batch must "
                        + "have OffsetDelta 0, 1, 2, ... in order")
            }
            records.append(
                FakeKafkaRecord(
                    offset: Int64(record.offsetDelta), timestamp: batch.timestamp(of: record),
                    key: record.key,
                    value: record.value,
                    headers: record.headers.map { FakeKafkaHeader(key: $0.key, value: $0.value) }))
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

import Testing

@testable import KafkaWire

/// Malformed RecordBatch v2 input with a valid CRC, so each check behind the checksum is reached:
/// every case must throw `WireDecodingError` naming the field, or decode, and never trap.
@Suite(.timeLimit(.minutes(1))) struct RecordBatchRobustnessTests {
    static let oneRecord = handBuiltRecord(key: [1, 2], value: [3], headers: [([0x68], [0x76])])

    private func decodeError(_ bytes: [UInt8]) -> WireDecodingError? {
        decodingError { try RecordBatch.decodeAll(bytes) }
    }

    @Test func handBuiltBatchDecodes() throws {
        let batches = try RecordBatch.decodeAll(HandBuiltBatch(records: Self.oneRecord).bytes)
        #expect(batches.count == 1)
        #expect(batches.first?.records.first?.key == [1, 2])
        #expect(batches.first?.records.first?.headers == [RecordHeader(key: "h", value: [0x76])])
    }

    // MARK: Length

    @Test(arguments: [Int32(-1), Int32.min, 0, 48])
    func lengthBelowHeaderIsInvalid(length: Int32) {
        let error = decodeError(HandBuiltBatch(records: Self.oneRecord, length: length).bytes)
        #expect(error?.kind == .invalidValue)
        #expect(error?.field == "Length")
        #expect(error?.offset == 8)
    }

    @Test(arguments: [Int32(100), 10_000, Int32.max])
    func lengthPastTheBytesIsTruncated(length: Int32) {
        let error = decodeError(HandBuiltBatch(records: Self.oneRecord, length: length).bytes)
        #expect(error?.kind == .truncated)
        #expect(error?.field == "Length")
    }

    /// Length one byte short cuts the last record; the byte left over must not be read as part
    /// of the batch.
    @Test func lengthShortOfTheBytesThrows() {
        let length = Int32(49 + Self.oneRecord.count - 1)
        let error = decodeError(HandBuiltBatch(records: Self.oneRecord, length: length).bytes)
        #expect(error?.kind == .truncated)
    }

    // MARK: RecordsCount

    @Test func moreRecordsCountedThanPresentIsTruncated() {
        let error = decodeError(HandBuiltBatch(recordCount: 2, records: Self.oneRecord).bytes)
        #expect(error?.kind == .truncated)
        #expect(error?.field == "Record length")
    }

    @Test func fewerRecordsCountedThanPresentLeavesTrailingBytes() {
        let error = decodeError(HandBuiltBatch(recordCount: 1, records: Self.oneRecord + Self.oneRecord).bytes)
        #expect(error?.kind == .trailingBytes)
    }

    @Test func recordsCountInt32MaxThrowsBeforeReserving() {
        let clock = ContinuousClock()
        let start = clock.now
        let error = decodeError(HandBuiltBatch(recordCount: Int32.max, records: Self.oneRecord).bytes)
        #expect(error?.kind == .countTooLarge)
        #expect(error?.field == "RecordsCount")
        #expect(error?.offset == 57)
        #expect(clock.now - start < .seconds(1))
    }

    @Test(arguments: [Int32(-1), Int32.min])
    func negativeRecordsCountIsInvalid(count: Int32) {
        let error = decodeError(HandBuiltBatch(recordCount: count, records: Self.oneRecord).bytes)
        #expect(error?.kind == .invalidLength)
        #expect(error?.field == "RecordsCount")
    }

    // MARK: Record fields

    /// The offset names where the record body the length claims would start, after the varint.
    @Test(arguments: [Int64(200), Int64(Int32.max)])
    func recordLengthPastTheBatchIsTruncated(length: Int64) {
        let record = handBuiltRecord(length: length)
        let error = decodeError(HandBuiltBatch(records: record).bytes)
        #expect(error?.kind == .truncated)
        #expect(error?.field == "Record length")
        #expect(error?.offset == 61 + zigzagVarint(length).count)
    }

    @Test(arguments: [Int64(-1), Int64(Int32.min), 0, 5])
    func recordLengthBelowMinimumIsInvalid(length: Int64) {
        let error = decodeError(HandBuiltBatch(records: handBuiltRecord(length: length)).bytes)
        #expect(error?.kind == .invalidLength)
        #expect(error?.field == "Record length")
    }

    @Test func recordLengthShortOfItsFieldsThrows() {
        var record = handBuiltRecord(key: [1, 2, 3], value: [4])
        let trueLength = record.count - 1
        record[0] = zigzagVarint(Int64(trueLength - 1))[0]
        let error = decodeError(HandBuiltBatch(records: Array(record.dropLast())).bytes)
        #expect(error?.kind == .truncated)
    }

    @Test func recordLengthBeyondItsFieldsLeavesTrailingBytes() {
        var record = handBuiltRecord(key: [1], value: [2])
        record[0] = zigzagVarint(Int64(record.count))[0]
        let error = decodeError(HandBuiltBatch(records: record + [0xEE]).bytes)
        #expect(error?.kind == .trailingBytes)
    }

    @Test(arguments: [Int64(Int32.max), 1_000_000])
    func headerCountBeyondTheBytesThrowsBeforeReserving(count: Int64) {
        let record = handBuiltRecord(headers: [([0x61], [0x62])], headerCount: count)
        let error = decodeError(HandBuiltBatch(records: record).bytes)
        #expect(error?.kind == .countTooLarge)
        #expect(error?.field == "HeadersCount")
    }

    @Test(arguments: [Int64(-1), Int64(Int32.min)])
    func negativeHeaderCountIsInvalid(count: Int64) {
        let record = handBuiltRecord(headerCount: count)
        let error = decodeError(HandBuiltBatch(records: record).bytes)
        #expect(error?.kind == .invalidLength)
        #expect(error?.field == "HeadersCount")
    }

    @Test func headerKeyNotUTF8IsInvalidString() {
        let record = handBuiltRecord(headers: [([0xC3, 0x28], [1])])
        let error = decodeError(HandBuiltBatch(records: record).bytes)
        #expect(error?.kind == .invalidString)
        #expect(error?.field == "Header key")
    }

    @Test func nullHeaderKeyIsInvalid() {
        var record = handBuiltRecord(key: nil, value: nil)
        // Replace HeadersCount 0 with count 1, key length -1, value length -1.
        record.removeLast()
        record += zigzagVarint(1) + zigzagVarint(-1) + zigzagVarint(-1)
        record[0] = zigzagVarint(Int64(record.count - 1))[0]
        let error = decodeError(HandBuiltBatch(records: record).bytes)
        #expect(error?.kind == .invalidLength)
        #expect(error?.field == "Header key")
    }

    @Test(arguments: [Int64(-2), Int64(Int32.min), Int64(Int32.max), 100])
    func keyLengthOutOfRangeThrows(length: Int64) {
        var body: [UInt8] = [0, 0, 0] + zigzagVarint(length) + [1, 2, 3, 0]
        body = zigzagVarint(Int64(body.count)) + body
        let error = decodeError(HandBuiltBatch(records: body).bytes)
        #expect(error != nil)
        #expect(error?.field == "Key")
    }

    @Test func varlongOfElevenBytesIsInvalid() {
        let overlong: [UInt8] = Array(repeating: 0x80, count: 10) + [0x00]
        var body: [UInt8] = [0] + overlong + [0, 0, 0, 0]
        body = zigzagVarint(Int64(body.count)) + body
        let error = decodeError(HandBuiltBatch(records: body).bytes)
        #expect(error?.kind == .invalidVarint)
        #expect(error?.field == "TimestampDelta")
    }

    @Test func offsetDeltaOfSixBytesIsInvalid() {
        var body: [UInt8] = [0, 0] + [0x80, 0x80, 0x80, 0x80, 0x80, 0x00] + [0, 0, 0]
        body = zigzagVarint(Int64(body.count)) + body
        let error = decodeError(HandBuiltBatch(records: body).bytes)
        #expect(error?.kind == .invalidVarint)
        #expect(error?.field == "OffsetDelta")
    }

    // MARK: Extremes of timestamps and offsets

    /// Deltas at the Int64 and Int32 extremes on top of extreme base values decode, and the
    /// absolute timestamp and offset wrap like Java's long arithmetic instead of trapping.
    @Test(arguments: [
        (Int64.max, Int64.max, Int64(Int32.max), Int64.max),
        (Int64.min, Int64.min, Int64(Int32.min), Int64.min),
        (Int64.max, Int64.min, Int64(Int32.max), Int64.min),
        (-1, Int64.max, -1, Int64.max),
    ])
    func extremeDeltasDecodeAndWrap(
        baseTimestamp: Int64, timestampDelta: Int64, offsetDelta: Int64, baseOffset: Int64
    ) throws {
        let record = handBuiltRecord(timestampDelta: timestampDelta, offsetDelta: offsetDelta)
        let bytes = HandBuiltBatch(
            baseOffset: baseOffset, lastOffsetDelta: Int32(offsetDelta), baseTimestamp: baseTimestamp,
            maxTimestamp: Int64.max, records: record
        ).bytes
        let batch = try #require(try RecordBatch.decodeAll(bytes).first)
        let decoded = try #require(batch.records.first)
        #expect(decoded.timestampDelta == timestampDelta)
        #expect(Int64(decoded.offsetDelta) == offsetDelta)
        #expect(batch.timestamp(of: decoded) == baseTimestamp &+ timestampDelta)
        #expect(batch.offset(of: decoded) == baseOffset &+ offsetDelta)
        let rebuilt = RecordBatch(baseTimestamp: baseTimestamp, records: batch.records)
        #expect(rebuilt.maxTimestamp == baseTimestamp &+ timestampDelta)
    }

    // MARK: Attributes

    /// Compressed sections are kept raw, whatever they contain: no codec is built in, so no
    /// decompressor runs on hostile bytes.
    @Test(arguments: [Int16(1), 2, 3, 4])
    func compressedBatchKeepsRawRecords(codec: Int16) throws {
        let garbage: [UInt8] = [0xFF, 0x00, 0x7F, 0x80, 0x01]
        let bytes = HandBuiltBatch(attributes: codec, recordCount: Int32.max, records: garbage).bytes
        let batch = try #require(try RecordBatch.decodeAll(bytes).first)
        #expect(batch.compressedRecords == garbage)
        #expect(batch.records.isEmpty)
        #expect(batch.recordCount == Int32.max)
    }

    /// Codec ids 5 to 7 are unassigned; Apache Kafka's CompressionType.forId rejects them.
    @Test(arguments: [Int16(5), 6, 7])
    func unknownCompressionCodecIsInvalid(codec: Int16) {
        let error = decodeError(HandBuiltBatch(attributes: codec, records: Self.oneRecord).bytes)
        #expect(error?.kind == .invalidValue)
        #expect(error?.field == "Attributes")
        #expect(error?.offset == 21)
    }

    /// A control batch with a transaction marker record (key: version 0, type 1 = COMMIT) decodes
    /// like any other batch.
    @Test func controlBatchWithMarkerDecodes() throws {
        let marker = handBuiltRecord(key: [0, 0, 0, 1], value: [0, 0, 0, 0, 0, 5])
        let bytes = HandBuiltBatch(attributes: 0x30, records: marker).bytes
        let batch = try #require(try RecordBatch.decodeAll(bytes).first)
        #expect(batch.attributes.isControl)
        #expect(batch.attributes.isTransactional)
        #expect(batch.records.first?.key == [0, 0, 0, 1])
    }

    @Test(arguments: [UInt8(0), 1, 3, 0xFF])
    func otherMagicIsInvalid(magic: UInt8) {
        let error = decodeError(HandBuiltBatch(magic: magic, records: Self.oneRecord).bytes)
        #expect(error?.kind == .invalidValue)
        #expect(error?.field == "Magic")
        #expect(error?.offset == 16)
    }

    @Test func secondBatchTruncatedThrows() {
        let batch = HandBuiltBatch(records: Self.oneRecord).bytes
        for cut in 1..<batch.count {
            let error = decodeError(batch + batch.prefix(cut))
            #expect(error?.kind == .truncated, "second batch cut to \(cut) bytes")
        }
    }

    /// Every byte of a valid batch, replaced by each extreme value with the CRC fixed up, and
    /// every prefix, must throw or decode; the suite's time limit catches a hang.
    @Test func everyByteAtExtremesThrowsOrDecodes() {
        let batch = HandBuiltBatch(
            recordCount: 2,
            records: Self.oneRecord + handBuiltRecord(offsetDelta: 1, key: nil, value: nil))
        let original = batch.bytes
        for index in 0..<original.count where !(17..<21).contains(index) {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF] {
                var mutated = original
                mutated[index] = value
                let crc = CRC32C.checksum(mutated[21...])
                mutated.replaceSubrange(17..<21, with: bigEndian(crc))
                _ = decodeError(mutated)
            }
        }
        // The empty prefix is a Records field with no batches, which is valid.
        for length in 1..<original.count {
            #expect(decodeError(Array(original[..<length])) != nil, "prefix \(length)")
        }
    }
}

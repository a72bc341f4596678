import Testing

@testable import KafkaWire

/// The builder's size-limited append, the location of encoded records in a batch and the append
/// of already encoded fields, which together move records between batches without decoding them.
@Suite struct RecordBatchRebatchTests {
    private static let value = [UInt8](repeating: 0x5a, count: 100)

    @Test func limitedAppendStopsAtLimit() throws {
        var builder = RecordBatchBuilder(capacity: 64)
        let first = try builder.append(key: [1], value: Self.value, timestamp: 1_000, maxBatchBytes: 200)
        #expect(first, "the first record fits a 200-byte batch")
        let sizeAfterFirst = builder.sizeInBytes
        let second = try builder.append(key: [2], value: Self.value, timestamp: 1_001, maxBatchBytes: 200)
        #expect(!second, "a second 100-byte value exceeds 200 bytes")
        #expect(builder.sizeInBytes == sizeAfterFirst, "a rejected record leaves the size unchanged")
        #expect(builder.recordCount == 1, "a rejected record is not counted")
        #expect(builder.maxTimestamp == 1_000, "a rejected record leaves MaxTimestamp unchanged")
    }

    @Test func limitedAppendTakesFirstRecordAboveLimit() throws {
        var builder = RecordBatchBuilder(capacity: 64)
        let appended = try builder.append(key: nil, value: Self.value, timestamp: 5, maxBatchBytes: 10)
        #expect(appended, "an empty batch takes a record larger than the limit")
        #expect(builder.recordCount == 1)
    }

    @Test func limitedAppendMatchesSizeAfterAppending() throws {
        var builder = RecordBatchBuilder(capacity: 64)
        _ = try builder.append(key: [1], value: Self.value, timestamp: 1_000, maxBatchBytes: 1_000)
        let expected = builder.sizeAfterAppending(key: [2], value: Self.value, timestamp: 1_300)
        let atLimit = try builder.append(key: [2], value: Self.value, timestamp: 1_300, maxBatchBytes: expected)
        #expect(atLimit, "a record that reaches the limit exactly fits")
        #expect(builder.sizeInBytes == expected)
    }

    @Test func encodedRecordsLocatesGoldenRecord() throws {
        // Record at byte 61: length 0x28, attributes 0, TimestampDelta 0x0A (5), OffsetDelta 0, then
        // key, value and headers up to the end of the 82-byte batch.
        let records = try RecordBatch.encodedRecords(in: RecordBatchTests.goldenBatch)
        #expect(records.count == 1)
        #expect(records.first?.timestamp == 1_479_847_795_005)
        #expect(records.first?.fields == 65..<82)
    }

    @Test func encodedFieldsRebuildSameRecords() throws {
        var original = RecordBatchBuilder(capacity: 64)
        let headers = [RecordHeader(key: "trace", value: [9, 9]), RecordHeader(key: "empty", value: nil)]
        try original.append(key: Array("a".utf8), value: [1, 2, 3], headers: headers, timestamp: 2_000)
        try original.append(key: nil, value: nil, timestamp: 1_990)
        try original.append(key: Array("c".utf8), value: Self.value, timestamp: 2_500)
        let bytes = original.finish()

        let located = try RecordBatch.encodedRecords(in: bytes)
        #expect(located.map(\.timestamp) == [2_000, 1_990, 2_500])
        var moved = RecordBatchBuilder(capacity: 64)
        for record in located.dropFirst() {
            let appended = try moved.append(encodedFields: bytes[record.fields], timestamp: record.timestamp)
            #expect(appended)
        }
        let decodedOriginal = try #require(try RecordBatch.decodeAll(bytes).first)
        let decodedMoved = try #require(try RecordBatch.decodeAll(moved.finish()).first)
        #expect(decodedMoved.records.count == 2)
        #expect(decodedMoved.baseTimestamp == 1_990, "the first moved record sets BaseTimestamp")
        #expect(decodedMoved.maxTimestamp == 2_500)
        for (movedRecord, originalRecord) in zip(decodedMoved.records, decodedOriginal.records.dropFirst()) {
            #expect(movedRecord.key == originalRecord.key)
            #expect(movedRecord.value == originalRecord.value)
            #expect(movedRecord.headers == originalRecord.headers)
        }
        #expect(decodedMoved.records.map(\.offsetDelta) == [0, 1], "offset deltas restart in the new batch")
        #expect(decodedMoved.records.map(\.timestampDelta) == [0, 510])
    }

    @Test func encodedFieldsSizeMatchesAppend() throws {
        var builder = RecordBatchBuilder(capacity: 64)
        let fields = ArraySlice<UInt8>([2, 0x61, 2, 0x62, 0])
        let expected = builder.sizeAfterAppending(encodedFieldCount: fields.count, timestamp: 7)
        _ = try builder.append(encodedFields: fields, timestamp: 7)
        #expect(builder.sizeInBytes == expected)
        let tooSmall = builder.sizeAfterAppending(encodedFieldCount: fields.count, timestamp: 8) - 1
        let appended = try builder.append(encodedFields: fields, timestamp: 8, maxBatchBytes: tooSmall)
        #expect(!appended, "a record one byte over the limit is rejected")
    }

    @Test func encodedRecordsRejectsCompressedBatch() throws {
        var bytes = RecordBatchTests.goldenBatch
        bytes[22] = 1  // Attributes low byte: gzip
        #expect(throws: WireDecodingError.self) { try RecordBatch.encodedRecords(in: bytes) }
    }

    @Test func encodedRecordsRejectsTruncatedBatch() throws {
        let bytes = Array(RecordBatchTests.goldenBatch.dropLast(3))
        #expect(throws: WireDecodingError.self) { try RecordBatch.encodedRecords(in: bytes) }
    }

    private static func fill(_ builder: inout RecordBatchBuilder) throws {
        for index in 0..<20 {
            let value = [UInt8](repeating: UInt8(index), count: 30)
            try builder.append(key: [UInt8(index)], value: value, timestamp: 100 + Int64(index))
        }
    }

    @Test func finishWithoutCapacityMatchesFinish() throws {
        var reused = RecordBatchBuilder(capacity: 256)
        var once = RecordBatchBuilder(capacity: 256)
        try Self.fill(&reused)
        try Self.fill(&once)
        let reusedBatch = reused.finish()
        let onceBatch = once.finish(keepingCapacity: false)
        #expect(onceBatch == reusedBatch, "both finish variants produce the same batch")
        try once.append(key: [1], value: [2], timestamp: 3)
        let next = try #require(try RecordBatch.decodeAll(once.finish()).first)
        #expect(next.records.count == 1, "the builder takes appends after finish(keepingCapacity: false)")
    }
}

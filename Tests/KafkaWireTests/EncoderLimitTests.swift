import Testing

@testable import KafkaWire

/// Values the wire format cannot carry: each encoder throws `WireEncodingError` naming the field,
/// never traps and never writes a length that wrapped around.
@Suite struct EncoderLimitTests {
    @Test func stringOfInt16MaxBytesEncodesAndOneMoreThrows() throws {
        var writer = WireWriter(api: "Test request")
        try writer.writeString(String(repeating: "a", count: Int(Int16.max)), field: "ClientId")
        #expect(writer.count == 2 + Int(Int16.max))
        let error = #expect(throws: WireEncodingError.self) {
            try writer.writeString(String(repeating: "a", count: Int(Int16.max) + 1), field: "ClientId")
        }
        #expect(error?.kind == .valueTooLong)
        #expect(error?.field == "ClientId")
        #expect(error?.description.contains("32768") == true)
        #expect(writer.count == 2 + Int(Int16.max), "a failed write must append nothing")
    }

    /// The limit is on UTF-8 bytes, not characters: 10,923 three-byte characters are 32,769 bytes.
    @Test func stringLimitCountsUTF8Bytes() {
        var writer = WireWriter(api: "Test request")
        let error = #expect(throws: WireEncodingError.self) {
            try writer.writeNullableString(String(repeating: "€", count: 10_923), field: "TransactionalId")
        }
        #expect(error?.kind == .valueTooLong)
    }

    @Test func classicTopicNameTooLongThrowsInRequest() {
        let request = ProduceRequest(
            acks: -1, timeoutMs: 1_000,
            topicData: [.init(name: String(repeating: "t", count: 40_000), partitionData: [])])
        let error = #expect(throws: WireEncodingError.self) {
            try KafkaFrame.encodeRequest(request, version: 8, correlationId: 1, clientId: nil)
        }
        #expect(error?.field == "TopicData.Name")
        #expect(throws: Never.self) {
            try KafkaFrame.encodeRequest(request, version: 9, correlationId: 1, clientId: nil)
        }
    }

    @Test func clientIdTooLongThrowsInHeader() {
        let error = #expect(throws: WireEncodingError.self) {
            try KafkaFrame.encodeRequest(
                ApiVersionsRequest(), version: 3, correlationId: 1,
                clientId: String(repeating: "c", count: 40_000))
        }
        #expect(error?.field == "ClientId")
    }

    @Test(arguments: [Int(Int32.max) + 1, Int.max])
    func classicArrayCountAboveInt32MaxThrows(count: Int) {
        var writer = WireWriter(api: "Test request")
        let error = #expect(throws: WireEncodingError.self) {
            try writer.writeArrayCount(count, field: "TopicData")
        }
        #expect(error?.kind == .valueTooLong)
        #expect(writer.count == 0)
        #expect(throws: Never.self) { try writer.writeArrayCount(Int(Int32.max), field: "TopicData") }
    }

    /// The compact form stores count + 1 in an unsigned varint that Kafka reads as an int32, so
    /// Int32.max - 1 is the largest count.
    @Test(arguments: [Int(Int32.max), Int.max])
    func compactArrayCountAtInt32MaxThrows(count: Int) {
        var writer = WireWriter(api: "Test request")
        #expect(throws: WireEncodingError.self) { try writer.writeCompactArrayCount(count, field: "Topics") }
        #expect(writer.count == 0)
        #expect(throws: Never.self) { try writer.writeCompactArrayCount(Int(Int32.max) - 1, field: "Topics") }
        #expect(writer.bytes == [0xFF, 0xFF, 0xFF, 0xFF, 0x07])
    }

    /// A Swift `String` cannot hold invalid UTF-8: bytes decoded leniently become U+FFFD, so the
    /// encoder writes valid UTF-8 that the decoder reads back.
    @Test func headerKeyFromInvalidBytesEncodesAsValidUTF8() throws {
        let key = String(decoding: [0x61, 0xC3, 0x28, 0xFF], as: UTF8.self)
        var builder = RecordBatchBuilder()
        try builder.append(key: nil, value: [1], headers: [RecordHeader(key: key, value: nil)], timestamp: 1)
        let batch = try #require(try RecordBatch.decodeAll(builder.finish()).first)
        #expect(batch.records.first?.headers.first?.key == key)
        #expect(String(validating: Array(key.utf8), as: UTF8.self) != nil)
    }

    /// Record deltas at their extremes encode and decode unchanged.
    @Test func extremeTimestampsRoundTrip() throws {
        var builder = RecordBatchBuilder()
        try builder.append(key: nil, value: nil, timestamp: Int64.max)
        try builder.append(key: nil, value: nil, timestamp: Int64.min)
        let batch = try #require(try RecordBatch.decodeAll(builder.finish()).first)
        #expect(batch.records.map { batch.timestamp(of: $0) } == [Int64.max, Int64.min])
        #expect(batch.maxTimestamp == Int64.max)
    }
}

/// Batches past Int32.max bytes, whose Length field would wrap. These allocate about 1 GiB each
/// and run one at a time.
@Suite(.serialized) struct EncoderSizeOverflowTests {
    /// Half of Int32.max plus a margin: two such values overflow the Length field, one does not.
    static let halfValueCount = Int(Int32.max / 2) + 1_024

    @Test func builderRejectsBatchOverInt32MaxBytes() throws {
        let value = [UInt8](repeating: 0x42, count: Self.halfValueCount)
        // Capacity for one record up front, so the test does not spend its time growing the buffer.
        var builder = RecordBatchBuilder(capacity: Self.halfValueCount + 1_024)
        try builder.append(key: nil, value: value, timestamp: 1)
        let sizeBefore = builder.sizeInBytes
        let error = #expect(throws: WireEncodingError.self) {
            try builder.append(key: nil, value: value, timestamp: 2)
        }
        #expect(error?.kind == .valueTooLong)
        #expect(error?.field == "Length")
        #expect(builder.sizeInBytes == sizeBefore, "a rejected record must not be appended")
        #expect(builder.recordCount == 1)
        #expect(builder.maxTimestamp == 1)
    }

    @Test func encodedRejectsBatchOverInt32MaxBytes() {
        let value = [UInt8](repeating: 0x42, count: Self.halfValueCount)
        let record = Record(timestampDelta: 0, offsetDelta: 0, key: nil, value: value)
        let batch = RecordBatch(baseTimestamp: 0, records: [record, record])
        let error = #expect(throws: WireEncodingError.self) { try batch.encoded() }
        #expect(error?.kind == .valueTooLong)
        #expect(error?.field == "Length")
    }
}

import Testing

@testable import KafkaWire

@Suite struct RecordBatchTests {
    /// The "uncompressed record" batch of IBM/sarama's record_test.go, written out field by field
    /// from the RecordBatch v2 layout: one record, key 01 02 03 04, value 05 06 07, one header
    /// 08 09 0a = 0b 0c, BaseTimestamp 1479847795000, TimestampDelta 5, producer fields 0.
    static let goldenBatch = hexBytes(
        """
        00 00 00 00 00 00 00 00
        00 00 00 46
        00 00 00 00
        02
        54 79 61 FD
        00 00
        00 00 00 00
        00 00 01 58 8D CD 59 38
        00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00
        00 00
        00 00 00 00
        00 00 00 01
        28 00 0A 00 08 01 02 03 04 06 05 06 07 02 06 08 09 0A 04 0B 0C
        """)

    static let goldenRecord = Record(
        timestampDelta: 5, offsetDelta: 0, key: [1, 2, 3, 4], value: [5, 6, 7],
        headers: [RecordHeader(key: "\u{8}\u{9}\u{A}", value: [11, 12])])

    static func goldenModel() -> RecordBatch {
        RecordBatch(
            partitionLeaderEpoch: 0, baseTimestamp: 1_479_847_795_000, maxTimestamp: 0, producerId: 0,
            producerEpoch: 0, baseSequence: 0, records: [goldenRecord])
    }

    @Test func goldenBatchHandBuiltIs82Bytes() {
        #expect(Self.goldenBatch.count == 82)
        #expect(CRC32C.checksum(Self.goldenBatch[21...]) == 0x5479_61FD)
    }

    @Test func encoderReproducesGoldenBatch() throws {
        #expect(hexString(try Self.goldenModel().encoded()) == hexString(Self.goldenBatch))
    }

    @Test func decoderReadsGoldenBatch() throws {
        let batches = try RecordBatch.decodeAll(Self.goldenBatch)
        #expect(batches.count == 1)
        let batch = try #require(batches.first)
        #expect(batch.baseOffset == 0)
        #expect(batch.partitionLeaderEpoch == 0)
        #expect(batch.crc == 0x5479_61FD)
        #expect(batch.attributes.rawValue == 0)
        #expect(batch.lastOffsetDelta == 0)
        #expect(batch.baseTimestamp == 1_479_847_795_000)
        #expect(batch.maxTimestamp == 0)
        #expect(batch.producerId == 0)
        #expect(batch.producerEpoch == 0)
        #expect(batch.baseSequence == 0)
        #expect(batch.records == [Self.goldenRecord])
        #expect(batch.timestamp(of: batch.records[0]) == 1_479_847_795_005)
    }

    @Test func builderMatchesGoldenRecordSection() throws {
        var builder = RecordBatchBuilder(
            partitionLeaderEpoch: 0, producerId: 0, producerEpoch: 0, baseSequence: 0)
        // The golden batch's base timestamp is the first record's timestamp minus its 5 ms delta,
        // which the builder cannot express (its first record has delta 0), so compare sections.
        try builder.append(
            key: [1, 2, 3, 4], value: [5, 6, 7],
            headers: [RecordHeader(key: "\u{8}\u{9}\u{A}", value: [11, 12])],
            timestamp: 1_479_847_795_000)
        let bytes = builder.finish()
        #expect(bytes.count == 82)
        #expect(Array(bytes[0..<21]) != [])
        #expect(Array(bytes[8..<12]) == Array(Self.goldenBatch[8..<12]))
        #expect(Array(bytes[27..<35]) == Array(Self.goldenBatch[27..<35]))
        // Record: same bytes except TimestampDelta 0 instead of 5.
        var expectedRecord = Array(Self.goldenBatch[61...])
        expectedRecord[2] = 0x00
        #expect(Array(bytes[61...]) == expectedRecord)
        let decoded = try RecordBatch.decodeAll(bytes)
        #expect(decoded.first?.maxTimestamp == 1_479_847_795_000)
    }

    @Test func builderRoundTripsNullsHeadersAndTimestamps() throws {
        var builder = RecordBatchBuilder(producerId: 42, producerEpoch: 3, baseSequence: 100)
        try builder.append(key: nil, value: [1], timestamp: 1000)
        try builder.append(key: [], value: nil, headers: [RecordHeader(key: "h", value: nil)], timestamp: 990)
        try builder.append(
            key: [9], value: [UInt8](repeating: 7, count: 300),
            headers: [RecordHeader(key: "a", value: []), RecordHeader(key: "ü", value: [1, 2])],
            timestamp: 2000)
        #expect(builder.recordCount == 3)
        let size = builder.sizeInBytes
        let bytes = builder.finish()
        #expect(bytes.count == size)
        #expect(builder.isEmpty)

        let batch = try #require(try RecordBatch.decodeAll(bytes).first)
        #expect(batch.producerId == 42)
        #expect(batch.producerEpoch == 3)
        #expect(batch.baseSequence == 100)
        #expect(batch.partitionLeaderEpoch == -1)
        #expect(batch.lastOffsetDelta == 2)
        #expect(batch.recordCount == 3)
        #expect(batch.baseTimestamp == 1000)
        #expect(batch.maxTimestamp == 2000)
        #expect(batch.records.map(\.offsetDelta) == [0, 1, 2])
        #expect(batch.records.map(\.timestampDelta) == [0, -10, 1000])
        #expect(batch.records[0].key == nil)
        #expect(batch.records[1].key == [])
        #expect(batch.records[1].value == nil)
        #expect(batch.records[1].headers == [RecordHeader(key: "h", value: nil)])
        #expect(batch.records[2].value?.count == 300)
        #expect(batch.records[2].headers.last == RecordHeader(key: "ü", value: [1, 2]))
        // The model encoder and the builder agree byte for byte.
        #expect(try batch.encoded() == bytes)
    }

    @Test func encodedSizePredictsAppend() throws {
        var builder = RecordBatchBuilder()
        let key = [UInt8](repeating: 1, count: 16)
        let value = [UInt8](repeating: 2, count: 200)
        let headers = [RecordHeader(key: "trace", value: [1, 2, 3])]
        let before = builder.sizeInBytes
        try builder.append(key: key, value: value, headers: headers, timestamp: 5)
        #expect(
            builder.sizeInBytes - before
                == RecordBatchBuilder.encodedSize(key: key, value: value, headers: headers))
    }

    @Test func sizeAfterAppendingMatchesAppend() throws {
        var builder = RecordBatchBuilder()
        for (index, timestamp) in [Int64(1_000), 1_000_000, 5, 70_000_000_000].enumerated() {
            let value = [UInt8](repeating: 3, count: 60 * index)
            let predicted = builder.sizeAfterAppending(key: [1], value: value, timestamp: timestamp)
            try builder.append(key: [1], value: value, timestamp: timestamp)
            #expect(builder.sizeInBytes == predicted, "record \(index)")
        }
        let size = builder.sizeInBytes
        #expect(builder.finish().count == size)
    }

    @Test func builderIsReusableAfterFinish() throws {
        var builder = RecordBatchBuilder(capacity: 64)
        for _ in 0..<2 {
            for i in 0..<50 {
                try builder.append(
                    key: [UInt8(i)], value: [UInt8](repeating: 0, count: 100), timestamp: Int64(i))
            }
            let batch = try #require(try RecordBatch.decodeAll(builder.finish()).first)
            #expect(batch.records.count == 50)
            #expect(batch.records.last?.key == [49])
        }
    }

    @Test func attributesBits() {
        var attributes = RecordBatchAttributes(
            compression: .zstd, timestampType: .logAppendTime, isTransactional: true)
        #expect(attributes.rawValue == 0x04 | 0x08 | 0x10)
        attributes.isControl = true
        #expect(attributes.rawValue & 0x20 != 0)
        attributes.isTransactional = false
        #expect(attributes.rawValue == 0x04 | 0x08 | 0x20)
        #expect(attributes.compression == .zstd)
        #expect(attributes.timestampType == .logAppendTime)
        #expect(RecordBatchAttributes(rawValue: 7).compression == nil)
    }

    @Test func setProducerStateRewritesFieldsAndCRC() throws {
        var bytes = Self.goldenBatch
        RecordBatch.setProducerState(in: &bytes, producerId: 7, producerEpoch: 1, baseSequence: 5)
        let batch = try #require(try RecordBatch.decodeAll(bytes).first)
        #expect(batch.producerId == 7)
        #expect(batch.producerEpoch == 1)
        #expect(batch.baseSequence == 5)
        #expect(batch.records == [Self.goldenRecord])
    }

    @Test func crcMismatchNamesExpectedAndActual() {
        var corrupt = Self.goldenBatch
        corrupt[80] ^= 0xFF
        let error = decodingError { try RecordBatch.decodeAll(corrupt) }
        #expect(error?.kind == .crcMismatch)
        #expect(error?.field == "CRC")
        #expect(error?.offset == 17)
        #expect(error?.crcMismatch?.expected == 0x5479_61FD)
        let actual = CRC32C.checksum(corrupt[21...])
        #expect(error?.crcMismatch?.actual == actual)
        #expect(error?.description.contains("0x547961FD") == true)
        #expect(error?.description.contains(String(actual, radix: 16, uppercase: true)) == true)
    }

    @Test func everyTruncationThrows() throws {
        for length in 0..<Self.goldenBatch.count {
            let prefix = Array(Self.goldenBatch[..<length])
            if length == 0 {
                #expect(try RecordBatch.decodeAll(prefix).isEmpty)
                continue
            }
            #expect(decodingError { try RecordBatch.decodeAll(prefix) } != nil, "prefix \(length)")
        }
    }

    @Test func recordCountOfInt32MaxIsRejected() {
        var bytes = Self.goldenBatch
        bytes.replaceSubrange(57..<61, with: [0x7F, 0xFF, 0xFF, 0xFF])
        RecordBatchHeaderWriter.updateCRC(of: &bytes)
        let error = decodingError { try RecordBatch.decodeAll(bytes) }
        #expect(error?.kind == .countTooLarge)
        #expect(error?.field == "RecordsCount")
    }

    @Test func negativeKeyLengthOtherThanMinusOneIsInvalid() {
        var bytes = Self.goldenBatch
        bytes[65] = 0x03  // zigzag -2
        RecordBatchHeaderWriter.updateCRC(of: &bytes)
        let error = decodingError { try RecordBatch.decodeAll(bytes) }
        #expect(error?.kind == .invalidLength)
        #expect(error?.field == "Key")
        #expect(error?.offset == 65)
    }

    @Test func wrongMagicIsRejected() {
        var bytes = Self.goldenBatch
        bytes[16] = 1
        #expect(decodingError { try RecordBatch.decodeAll(bytes) }?.field == "Magic")
    }

    @Test func lengthBelowHeaderIsRejected() {
        var bytes = Self.goldenBatch
        bytes.replaceSubrange(8..<12, with: [0, 0, 0, 10])
        #expect(decodingError { try RecordBatch.decodeAll(bytes) }?.field == "Length")
    }

    @Test func compressedBatchKeepsRawRecords() throws {
        var bytes = Self.goldenBatch
        bytes[22] = 0x01  // gzip
        RecordBatchHeaderWriter.updateCRC(of: &bytes)
        let batch = try #require(try RecordBatch.decodeAll(bytes).first)
        #expect(batch.attributes.compression == .gzip)
        #expect(batch.records.isEmpty)
        #expect(batch.compressedRecords == Array(Self.goldenBatch[61...]))
        #expect(throws: WireEncodingError.self) { try batch.encoded() }
    }
}

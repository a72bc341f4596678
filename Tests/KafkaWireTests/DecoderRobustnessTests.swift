import Testing

@testable import KafkaWire

/// Hostile lengths, counts, varints and tagged fields at the primitive level: each must throw a
/// `WireDecodingError` naming the field and the offset where it starts, consume nothing, and
/// allocate nothing sized by the wire.
@Suite(.timeLimit(.minutes(1))) struct DecoderRobustnessTests {
    private static let context = WireContext(api: "Test message", version: 7)

    private func reader(_ hex: String) -> WireReader {
        WireReader(hexBytes(hex), context: Self.context)
    }

    // MARK: Varints

    @Test(arguments: ["80 80 80 80 80 00", "FF FF FF FF FF 01", "80 80 80 80 80 80 80 80 80 80 00"])
    func varintLongerThanFiveBytesIsInvalid(hex: String) {
        var unsigned = reader("AA " + hex)
        try? unsigned.skip(1, field: "lead")
        #expect(decodingError { try unsigned.readUnsignedVarint("Tag") }?.kind == .invalidVarint)
        #expect(unsigned.readerIndex == 1)
        var signed = reader("AA " + hex)
        try? signed.skip(1, field: "lead")
        let error = decodingError { try signed.readVarint("Record length") }
        #expect(error?.kind == .invalidVarint)
        #expect(error?.offset == 1)
        #expect(signed.readerIndex == 1)
    }

    /// Five bytes whose value needs more than 32 bits: the error names where the varint starts
    /// and the reader consumes nothing, as for every other decoding error.
    @Test(arguments: ["FF FF FF FF 1F", "80 80 80 80 10", "FF FF FF FF 7F"])
    func fiveByteVarintAbove32BitsIsInvalid(hex: String) {
        var unsigned = reader("AA BB " + hex)
        try? unsigned.skip(2, field: "lead")
        let unsignedError = decodingError { try unsigned.readUnsignedVarint("Tag") }
        #expect(unsignedError?.kind == .invalidVarint)
        #expect(unsignedError?.offset == 2)
        #expect(unsigned.readerIndex == 2)
        var signed = reader("AA BB " + hex)
        try? signed.skip(2, field: "lead")
        let signedError = decodingError { try signed.readVarint("OffsetDelta") }
        #expect(signedError?.kind == .invalidVarint)
        #expect(signedError?.offset == 2)
        #expect(signed.readerIndex == 2)
    }

    @Test func varlongOfTenBytesReachesExtremes() throws {
        var minimum = reader("FF FF FF FF FF FF FF FF FF 01")
        #expect(try minimum.readVarlong("TimestampDelta") == Int64.min)
        var maximum = reader("FE FF FF FF FF FF FF FF FF 01")
        #expect(try maximum.readVarlong("TimestampDelta") == Int64.max)
    }

    @Test(arguments: ["80 80 80 80 80 80 80 80 80 80 00", "FF FF FF FF FF FF FF FF FF FF 01"])
    func varlongOfElevenBytesIsInvalid(hex: String) {
        var varlong = reader(hex)
        let error = decodingError { try varlong.readVarlong("TimestampDelta") }
        #expect(error?.kind == .invalidVarint)
        #expect(error?.offset == 0)
        #expect(varlong.readerIndex == 0)
    }

    /// Padded encodings within the byte limit decode to their value, as Java's ByteUtils reads them.
    @Test func paddedVarintWithinLimitDecodes() throws {
        var padded = reader("80 80 80 80 00")
        #expect(try padded.readUnsignedVarint("Tag") == 0)
        #expect(padded.isAtEnd)
    }

    @Test(arguments: 1...4)
    func varintCutShortIsTruncated(length: Int) {
        var cut = WireReader(Array(hexBytes("FF FF FF FF 07").prefix(length)), context: Self.context)
        #expect(decodingError { try cut.readUnsignedVarint("Tag") }?.kind == .truncated)
        #expect(cut.readerIndex == 0)
    }

    // MARK: Strings and bytes

    @Test(arguments: ["FF FE", "80 00", "FF FF"])
    func negativeStringLengthIsInvalid(hex: String) {
        var string = reader(hex + " 61 62")
        let error = decodingError { try string.readString("Topics.Name") }
        #expect(error?.kind == .invalidLength)
        #expect(error?.field == "Topics.Name")
        #expect(error?.offset == 0)
        #expect(string.readerIndex == 0)
    }

    @Test func nullableStringBelowMinusOneIsInvalid() {
        var string = reader("FF FE 61")
        #expect(decodingError { try string.readNullableString("ClientId") }?.kind == .invalidLength)
        #expect(string.readerIndex == 0)
    }

    @Test func stringLongerThanTheBytesIsTruncated() {
        var string = reader("7F FF 61 62 63")
        let error = decodingError { try string.readString("Brokers.Host") }
        #expect(error?.kind == .truncated)
        #expect(string.readerIndex == 0)
    }

    @Test(arguments: ["FF FF FF FF 0F", "FF FF FF FF 07", "80 80 80 80 08"])
    func compactLengthBeyondTheBytesIsTruncated(hex: String) {
        var compact = reader(hex + " 61")
        #expect(decodingError { try compact.readCompactString("Host") }?.kind == .truncated)
        #expect(compact.readerIndex == 0)
        var bytes = reader(hex + " 61")
        #expect(decodingError { try bytes.readCompactNullableByteRange("Records") }?.kind == .truncated)
        #expect(bytes.readerIndex == 0)
    }

    @Test(arguments: ["FF FF FF FE", "80 00 00 00", "7F FF FF FF"])
    func byteArrayLengthOutOfRangeThrows(hex: String) {
        var bytes = reader(hex + " 01 02")
        let error = decodingError { try bytes.readNullableByteRange("Records") }
        #expect(error?.kind == .invalidLength || error?.kind == .truncated)
        #expect(error?.offset == 0)
        #expect(bytes.readerIndex == 0)
    }

    @Test(arguments: ["C3 28", "FF", "ED A0 80", "F4 90 80 80", "C0 80"])
    func invalidUTF8IsInvalidString(hex: String) {
        let bytes = hexBytes(hex)
        var classic = WireReader(bigEndian(Int16(bytes.count)) + bytes, context: Self.context)
        let error = decodingError { try classic.readString("ClientId") }
        #expect(error?.kind == .invalidString)
        #expect(error?.offset == 0)
        #expect(classic.readerIndex == 0)
        var compact = WireReader(unsignedVarint(UInt64(bytes.count + 1)) + bytes, context: Self.context)
        #expect(decodingError { try compact.readCompactString("Host") }?.kind == .invalidString)
        #expect(compact.readerIndex == 0)
    }

    // MARK: Array counts

    /// A count of Int32.max with a few bytes behind it fails at once, before any element is read
    /// or any storage reserved.
    @Test(arguments: [false, true])
    func arrayCountInt32MaxThrowsBeforeReserving(compact: Bool) {
        let count = compact ? unsignedVarint(UInt64(Int32.max) + 1) : bigEndian(Int32.max)
        var array = WireReader(count + [0, 0, 0, 1, 0, 0, 0, 2], context: Self.context)
        let clock = ContinuousClock()
        let start = clock.now
        let error = decodingError {
            try array.readArray("Brokers", compact: compact) { (reader) throws(WireDecodingError) in
                try reader.readInt32("Brokers.NodeId")
            }
        }
        #expect(error?.kind == .countTooLarge)
        #expect(error?.field == "Brokers")
        #expect(error?.offset == 0)
        #expect(array.readerIndex == 0)
        #expect(clock.now - start < .seconds(1))
    }

    @Test func compactArrayCountOfUInt32MaxThrows() {
        var array = reader("FF FF FF FF 0F 00")
        #expect(decodingError { try array.readCompactArrayCount("Topics") }?.kind == .countTooLarge)
        #expect(array.readerIndex == 0)
    }

    @Test(arguments: ["FF FF FF FE", "80 00 00 00"])
    func negativeArrayCountIsInvalid(hex: String) {
        var array = reader(hex)
        #expect(decodingError { try array.readNullableArrayCount("Topics") }?.kind == .invalidLength)
        #expect(array.readerIndex == 0)
    }

    @Test func int32ArrayCountedBeyondTheBytesThrows() {
        var array = reader("00 00 00 03 00 00 00 01 00 00 00 02")
        #expect(decodingError { try array.readInt32Array("IsrNodes", compact: false) }?.kind == .countTooLarge)
    }

    // MARK: Tagged fields

    @Test(arguments: ["FF FF FF FF 0F", "05 00 00"])
    func taggedFieldCountBeyondTheBytesThrows(hex: String) {
        var tags = reader(hex)
        let error = decodingError { try tags.readTaggedFields("Header tagged fields") }
        #expect(error?.kind == .countTooLarge)
        #expect(error?.field == "Header tagged fields count")
    }

    @Test(arguments: ["01 00 FF FF FF FF 0F 00", "01 00 80 80 80 80 08 00", "01 00 05 01 02"])
    func taggedFieldSizeBeyondTheBytesIsTruncated(hex: String) {
        var tags = reader(hex)
        #expect(decodingError { try tags.readTaggedFields("Header tagged fields") }?.kind == .truncated)
    }

    @Test(arguments: ["02 00 00 00 00", "02 03 00 01 00", "03 00 00 05 00 05 00"])
    func tagsThatDoNotIncreaseAreInvalid(hex: String) {
        var tags = reader(hex)
        let error = decodingError { try tags.readTaggedFields("Header tagged fields") }
        #expect(error?.kind == .invalidValue)
        #expect(error?.field == "Header tagged fields tag")
    }

    @Test func largestTagIsKeptUnknown() throws {
        var tags = reader("01 FF FF FF FF 0F 01 AB")
        #expect(try tags.readTaggedFields("Tags") == [TaggedField(tag: UInt32.max, data: [0xAB])])
        #expect(tags.isAtEnd)
    }

    /// A known tag whose decoder leaves bytes unread is an error, not silently skipped.
    @Test func knownTagWithExtraBytesIsTrailingBytes() {
        var tags = reader("01 00 03 AA BB CC")
        let error = decodingError {
            try tags.readTaggedFields("Tags") { (_, field) throws(WireDecodingError) in
                _ = try field.readInt8("Tag byte")
                return true
            }
        }
        #expect(error?.kind == .trailingBytes)
    }

    // MARK: Frames

    @Test(arguments: [Int32.max, Int32(FrameSplitter.defaultMaximumFrameSize + 1)])
    func sizePrefixAboveMaximumIsFrameTooLarge(size: Int32) {
        var frame = WireReader(bigEndian(size) + [1, 2, 3])
        let error = decodingError { try FrameSplitter().nextFrameRange(from: &frame) }
        #expect(error?.kind == .frameTooLarge)
        #expect(error?.offset == 0)
        #expect(frame.readerIndex == 0)
    }

    @Test(arguments: [Int32.min, -2, -1])
    func negativeSizePrefixIsInvalid(size: Int32) {
        var frame = WireReader(bigEndian(size))
        #expect(decodingError { try FrameSplitter().nextFrameRange(from: &frame) }?.kind == .invalidLength)
        #expect(frame.readerIndex == 0)
    }

    @Test func sizeExactlyAtMaximumIsAccepted() throws {
        var frame = WireReader(bigEndian(Int32(3)) + [1, 2, 3])
        #expect(try FrameSplitter(maximumFrameSize: 3).nextFrame(from: &frame) == [1, 2, 3])
        var zero = WireReader(bigEndian(Int32(0)))
        #expect(try FrameSplitter(maximumFrameSize: 0).nextFrame(from: &zero) == [])
    }

    /// Every recorded frame: each strict prefix returns nil and consumes nothing, the whole frame
    /// returns its body, and a `FrameBuffer` fed at every split point returns the same body once.
    @Test(arguments: KafkaFixtures.allFrames)
    func everyRecordedFramePrefixIsIncomplete(name: String) throws {
        let frame = KafkaFixtures.bytes(name)
        try #require(frame.count > 4)
        let splitter = FrameSplitter()
        for length in 0..<frame.count {
            var prefix = WireReader(Array(frame[..<length]))
            #expect(try splitter.nextFrameRange(from: &prefix) == nil, "prefix \(length)")
            #expect(prefix.readerIndex == 0, "prefix \(length)")
        }
        var whole = WireReader(frame)
        #expect(try splitter.nextFrame(from: &whole) == Array(frame.dropFirst(4)))
        #expect(whole.isAtEnd)
        for split in 0...frame.count {
            var buffer = FrameBuffer()
            buffer.append(frame[..<split])
            var bodies: [[UInt8]] = []
            while let body = try buffer.nextFrame() { bodies.append(body) }
            buffer.append(frame[split...])
            while let body = try buffer.nextFrame() { bodies.append(body) }
            #expect(bodies == [Array(frame.dropFirst(4))], "split at \(split)")
            #expect(buffer.bufferedByteCount == 0)
        }
    }

    // MARK: Error text

    /// The description names the API, version, field and byte offset, the four facts needed to
    /// find the bad byte in a capture.
    @Test func errorDescriptionNamesApiVersionFieldAndOffset() throws {
        var body = [UInt8]()
        body += bigEndian(Int32(0))  // ThrottleTimeMs
        body += bigEndian(Int32.max)  // Brokers count
        body += [0, 0, 0, 1]
        let error = try #require(decodingError {
            var reader = WireReader(body)
            return try MetadataResponse.decode(from: &reader, version: 4)
        })
        #expect(error.api == "Kafka message")
        #expect(error.version == 4)
        #expect(error.field == "Brokers")
        #expect(error.offset == 4)
        #expect(error.description.contains("v4, field Brokers at byte offset 4"), "\(error)")
        #expect(error.description.contains("2147483647"), "\(error)")
        let frame = [0, 0, 0, 9] + body
        let framed = try #require(decodingError {
            try KafkaFrame.decodeResponse(MetadataResponse.self, frame: frame, version: 4)
        })
        #expect(framed.description.hasPrefix("Metadata response v4, field Brokers at byte offset 8"), "\(framed)")
    }
}

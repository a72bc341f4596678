import Testing

@testable import KafkaWire

/// Every recorded frame must split identically whichever way its bytes arrive.
@Suite struct FixtureFramingTests {
    @Test func fixturesArePresent() {
        #expect(
            KafkaFixtures.names(direction: "request").count >= 30,
            "Fixtures/kafka is missing or incomplete at \(KafkaFixtures.root.path)")
        #expect(KafkaFixtures.names(direction: "response").count >= 30)
    }

    @Test(arguments: KafkaFixtures.allFrames)
    func everyStrictPrefixIsIncomplete(name: String) throws {
        let bytes = KafkaFixtures.bytes(name)
        try #require(bytes.count > 4)
        for length in 0..<bytes.count {
            var reader = WireReader(Array(bytes[..<length]))
            #expect(try FrameSplitter().nextFrame(from: &reader) == nil, "prefix \(length)")
            #expect(reader.readerIndex == 0, "prefix \(length)")
        }
        var whole = WireReader(bytes)
        #expect(try FrameSplitter().nextFrame(from: &whole) == Array(bytes[4...]))
        #expect(whole.isAtEnd)
    }

    @Test(arguments: KafkaFixtures.allFrames)
    func decodesWhenFedOneByteAtATime(name: String) throws {
        let bytes = KafkaFixtures.bytes(name)
        let expected = try FixtureDecoding.decode(name: name, frame: Array(bytes[4...]))
        var buffer = FrameBuffer()
        var frames: [[UInt8]] = []
        for byte in bytes {
            buffer.append([byte])
            while let frame = try buffer.nextFrame() { frames.append(frame) }
        }
        #expect(frames.count == 1)
        let frame = try #require(frames.first)
        #expect(try FixtureDecoding.decode(name: name, frame: frame) == expected)
    }

    @Test(arguments: KafkaFixtures.allFrames)
    func decodesWhenSplitAtEveryOffset(name: String) throws {
        let bytes = KafkaFixtures.bytes(name)
        let expected = try FixtureDecoding.decode(name: name, frame: Array(bytes[4...]))
        for split in 0...bytes.count {
            var buffer = FrameBuffer()
            var frames: [[UInt8]] = []
            buffer.append(bytes[..<split])
            while let frame = try buffer.nextFrame() { frames.append(frame) }
            buffer.append(bytes[split...])
            while let frame = try buffer.nextFrame() { frames.append(frame) }
            #expect(frames.count == 1, "split \(split)")
            guard let frame = frames.first else { continue }
            #expect(try FixtureDecoding.decode(name: name, frame: frame) == expected, "split \(split)")
        }
    }

    @Test(arguments: KafkaFixtures.allFrames)
    func maximumFrameSizeBelowFrameIsRejected(name: String) {
        let bytes = KafkaFixtures.bytes(name)
        var reader = WireReader(bytes)
        let splitter = FrameSplitter(maximumFrameSize: bytes.count - 5)
        #expect(decodingError { try splitter.nextFrame(from: &reader) }?.kind == .frameTooLarge)
        #expect(reader.readerIndex == 0)
    }
}

import Testing

@testable import KafkaWire

@Suite struct FrameSplitterTests {
    let twoFrames = hexBytes("00 00 00 03 AA BB CC 00 00 00 00 00 00 00 01 DD")

    @Test func splitsConsecutiveFrames() throws {
        var reader = WireReader(twoFrames)
        let splitter = FrameSplitter()
        #expect(try splitter.nextFrame(from: &reader) == [0xAA, 0xBB, 0xCC])
        #expect(try splitter.nextFrame(from: &reader) == [])
        #expect(try splitter.nextFrame(from: &reader) == [0xDD])
        #expect(try splitter.nextFrame(from: &reader) == nil)
    }

    @Test func everyStrictPrefixIsIncompleteAndConsumesNothing() throws {
        let frame = hexBytes("00 00 00 03 AA BB CC")
        for length in 0..<frame.count {
            var reader = WireReader(Array(frame[..<length]))
            #expect(try FrameSplitter().nextFrame(from: &reader) == nil, "prefix \(length)")
            #expect(reader.readerIndex == 0, "prefix \(length)")
        }
    }

    @Test func bufferFedOneByteAtATime() throws {
        var buffer = FrameBuffer()
        var frames: [[UInt8]] = []
        for byte in twoFrames {
            buffer.append([byte])
            while let frame = try buffer.nextFrame() { frames.append(frame) }
        }
        #expect(frames == [[0xAA, 0xBB, 0xCC], [], [0xDD]])
        #expect(buffer.bufferedByteCount == 0)
    }

    @Test func sizeAboveMaximumThrowsBeforeBuffering() {
        var reader = WireReader(hexBytes("00 00 01 00"))
        let error = decodingError { try FrameSplitter(maximumFrameSize: 255).nextFrame(from: &reader) }
        #expect(error?.kind == .frameTooLarge)
        #expect(error?.description.contains("256") == true)
        #expect(reader.readerIndex == 0)
        var defaultReader = WireReader(hexBytes("06 40 00 01"))
        #expect(decodingError { try FrameSplitter().nextFrame(from: &defaultReader) }?.kind == .frameTooLarge)
    }

    @Test func negativeSizeIsInvalid() {
        var reader = WireReader(hexBytes("FF FF FF FF"))
        #expect(decodingError { try FrameSplitter().nextFrame(from: &reader) }?.kind == .invalidLength)
    }

    @Test func defaultMaximumIs100MiB() {
        #expect(FrameSplitter().maximumFrameSize == 104_857_600)
    }
}

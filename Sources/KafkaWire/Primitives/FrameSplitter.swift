/// Splits a byte stream into Kafka frames: an int32 size, then that many bytes.
///
/// `nil` means more bytes are needed and nothing was consumed. A negative size or one above
/// `maximumFrameSize` throws before anything is buffered, so the connection should be closed.
public struct FrameSplitter: Sendable {
    /// 100 MiB, the default `socket.request.max.bytes` of an Apache Kafka broker.
    public static let defaultMaximumFrameSize = 100 * 1024 * 1024

    public let maximumFrameSize: Int

    public init(maximumFrameSize: Int = FrameSplitter.defaultMaximumFrameSize) {
        precondition(maximumFrameSize >= 0, "maximumFrameSize must not be negative")
        self.maximumFrameSize = maximumFrameSize
    }

    /// Reads the next frame's body range from `reader`.
    ///
    /// Returns nil and consumes nothing when the size prefix or body is incomplete. On success,
    /// consumes the prefix and body and returns the body's range in `reader.bytes`.
    public func nextFrameRange(from reader: inout WireReader) throws(WireDecodingError) -> Range<Int>? {
        guard reader.readableBytes >= 4 else { return nil }
        let sizeOffset = reader.readerIndex
        let size = try reader.peekInt32("frame size")
        guard size >= 0 else {
            throw .negativeFrameSize(field: "frame size", offset: sizeOffset, size: size)
        }
        guard Int(size) <= maximumFrameSize else {
            throw .frameTooLarge(
                field: "frame size", offset: sizeOffset, size: Int(size), maximum: maximumFrameSize)
        }
        guard reader.readableBytes - 4 >= Int(size) else { return nil }
        try reader.skip(4, field: "frame size")
        return try reader.readRange(count: Int(size), field: "frame body")
    }

    /// Reads the next frame's body as a new array; nil when incomplete, consuming nothing.
    public func nextFrame(from reader: inout WireReader) throws(WireDecodingError) -> [UInt8]? {
        guard let range = try nextFrameRange(from: &reader) else { return nil }
        return Array(reader.bytes[range])
    }
}

/// A receive buffer for one connection: append bytes as they arrive, then take whole frames.
public struct FrameBuffer: Sendable {
    private var storage: [UInt8] = []
    private var start = 0
    public let splitter: FrameSplitter

    public init(maximumFrameSize: Int = FrameSplitter.defaultMaximumFrameSize) {
        splitter = FrameSplitter(maximumFrameSize: maximumFrameSize)
    }

    /// Bytes received but not yet returned as part of a frame.
    public var bufferedByteCount: Int { storage.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        storage.append(contentsOf: bytes)
    }

    /// Returns the next whole frame body, or nil when more bytes are needed (consuming nothing).
    /// Throws when the size prefix is negative or above the maximum frame size.
    public mutating func nextFrame() throws(WireDecodingError) -> [UInt8]? {
        let frame: [UInt8]
        // The reader shares `storage`; it goes out of scope before `storage` is mutated below, so
        // the mutation does not copy the buffer.
        do {
            var reader = WireReader(storage, range: start..<storage.count, context: WireContext(api: "Frame"))
            guard let range = try splitter.nextFrameRange(from: &reader) else { return nil }
            frame = Array(storage[range])
            start = reader.readerIndex
        }
        // Compact once the consumed prefix dominates, so memory stays bounded by the unread bytes.
        if start == storage.count {
            storage.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65_536 && start * 2 > storage.count {
            storage.removeSubrange(0..<start)
            start = 0
        }
        return frame
    }
}

/// A growable byte buffer with a reader index: bytes are appended at the end and consumed from
/// the reader index, so a parser can leave an incomplete frame in place until more bytes arrive.
public struct ByteCursor: Sendable {
    /// All stored bytes. Those before ``readerIndex`` are already consumed.
    public private(set) var bytes: [UInt8]
    /// Index in ``bytes`` of the first unconsumed byte.
    public private(set) var readerIndex: Int

    public init(_ bytes: [UInt8] = []) {
        self.bytes = bytes
        self.readerIndex = 0
    }

    /// Number of unconsumed bytes.
    public var readableBytes: Int { bytes.count - readerIndex }

    /// The unconsumed bytes, copied.
    public var readableSlice: ArraySlice<UInt8> { bytes[readerIndex...] }

    public mutating func append(contentsOf newBytes: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: newBytes)
    }

    public mutating func append<S: Sequence>(contentsOf newBytes: S) where S.Element == UInt8 {
        bytes.append(contentsOf: newBytes)
    }

    /// Consumes `count` bytes; `count` must not exceed ``readableBytes``.
    public mutating func moveReaderIndex(forwardBy count: Int) {
        precondition(
            count >= 0 && count <= readableBytes, "cannot consume \(count) of \(readableBytes) bytes")
        readerIndex += count
    }

    /// Frees the consumed bytes. Cheap when everything was consumed, otherwise it moves the
    /// unconsumed bytes to the front, so call it after parsing a batch rather than per frame.
    public mutating func discardReadBytes() {
        if readerIndex == bytes.count {
            bytes.removeAll(keepingCapacity: true)
        } else if readerIndex > 0 {
            bytes.removeSubrange(0..<readerIndex)
        }
        readerIndex = 0
    }

    /// Calls `body` with the unconsumed bytes.
    public func withUnsafeReadableBytes<R, E: Error>(
        _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R
    ) throws(E) -> R {
        let result: Result<R, E> = bytes.withUnsafeBufferPointer { all in
            let readable = UnsafeBufferPointer(rebasing: all[readerIndex...])
            do throws(E) {
                return .success(try body(readable))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

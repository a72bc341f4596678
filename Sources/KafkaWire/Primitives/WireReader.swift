/// A cursor over bytes received from Kafka.
///
/// `read*` methods consume bytes and advance `readerIndex`; `peek*` and `get*(at:)` read without
/// consuming. Every read checks the bytes remaining first. On failure it throws `WireDecodingError`
/// naming the API and version in `context`, the field and the byte offset, and consumes nothing.
/// All integers are big-endian (network order) unless the method name says varint.
public struct WireReader: Sendable {
    public let bytes: [UInt8]
    /// The index of the next byte to read.
    public internal(set) var readerIndex: Int
    /// The index one past the last readable byte.
    public let endIndex: Int
    /// The message and version being decoded, carried into errors.
    public var context: WireContext

    /// Creates a reader over all of `bytes`.
    public init(_ bytes: [UInt8], context: WireContext = WireContext(api: "Kafka message")) {
        self.bytes = bytes
        self.readerIndex = 0
        self.endIndex = bytes.count
        self.context = context
    }

    /// Creates a reader over `range` of `bytes`; offsets in errors stay relative to `bytes`.
    public init(_ bytes: [UInt8], range: Range<Int>, context: WireContext) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "range outside bytes")
        self.bytes = bytes
        self.readerIndex = range.lowerBound
        self.endIndex = range.upperBound
        self.context = context
    }

    public var readableBytes: Int { endIndex - readerIndex }
    public var isAtEnd: Bool { readerIndex >= endIndex }

    /// Throws `truncated` unless `count` bytes remain.
    @inline(__always)
    func require(_ count: Int, _ field: String) throws(WireDecodingError) {
        if count > endIndex - readerIndex {
            throw .truncated(
                context, field: field, offset: readerIndex, needed: count, remaining: readableBytes)
        }
    }

    /// Advances past `count` bytes without reading them.
    public mutating func skip(_ count: Int, field: String) throws(WireDecodingError) {
        try require(count, field)
        readerIndex += count
    }

    /// Moves the cursor back to `index`, for a caller that parsed ahead and must consume nothing.
    public mutating func moveReaderIndex(to index: Int) {
        precondition(index >= 0 && index <= endIndex, "reader index outside the readable range")
        readerIndex = index
    }

    /// Throws `trailingBytes` unless every byte was read.
    public func requireAtEnd() throws(WireDecodingError) {
        if readerIndex != endIndex {
            throw .trailingBytes(context, offset: readerIndex, count: endIndex - readerIndex)
        }
    }

    // MARK: Fixed-width integers

    /// Returns the big-endian integer of type `T` at `index` without consuming.
    @inline(__always)
    public func getInteger<T: FixedWidthInteger>(
        at index: Int, as: T.Type = T.self, field: String = "integer"
    )
        throws(WireDecodingError) -> T
    {
        let size = MemoryLayout<T>.size
        guard index >= 0, index <= endIndex - size else {
            let remaining = max(0, endIndex - index)
            throw .truncated(context, field: field, offset: index, needed: size, remaining: remaining)
        }
        var value: T = 0
        for i in 0..<size {
            value = (value << 8) | T(truncatingIfNeeded: bytes[index &+ i])
        }
        return value
    }

    @inline(__always)
    public mutating func readInteger<T: FixedWidthInteger>(
        as: T.Type = T.self, field: String
    )
        throws(WireDecodingError) -> T
    {
        let value: T = try getInteger(at: readerIndex, field: field)
        readerIndex += MemoryLayout<T>.size
        return value
    }

    public mutating func readInt8(_ field: String) throws(WireDecodingError) -> Int8 {
        try readInteger(field: field)
    }

    public mutating func readInt16(_ field: String) throws(WireDecodingError) -> Int16 {
        try readInteger(field: field)
    }

    public mutating func readInt32(_ field: String) throws(WireDecodingError) -> Int32 {
        try readInteger(field: field)
    }

    public mutating func readInt64(_ field: String) throws(WireDecodingError) -> Int64 {
        try readInteger(field: field)
    }

    public mutating func readUInt32(_ field: String) throws(WireDecodingError) -> UInt32 {
        try readInteger(field: field)
    }

    public func peekInt16(_ field: String = "int16") throws(WireDecodingError) -> Int16 {
        try getInteger(at: readerIndex, field: field)
    }

    public func peekInt32(_ field: String = "int32") throws(WireDecodingError) -> Int32 {
        try getInteger(at: readerIndex, field: field)
    }

    /// Reads a Kafka BOOLEAN: one byte, 0 is false and any other value is true.
    public mutating func readBool(_ field: String) throws(WireDecodingError) -> Bool {
        let byte: UInt8 = try readInteger(field: field)
        return byte != 0
    }

    /// Reads a Kafka UUID: 16 raw bytes.
    public mutating func readUUID(_ field: String) throws(WireDecodingError) -> KafkaUUID {
        try require(16, field)
        let uuid = KafkaUUID(bytes: Array(bytes[readerIndex..<readerIndex + 16]))
        readerIndex += 16
        return uuid
    }

    // MARK: Raw bytes

    /// Reads `count` bytes into a new array; `count` is checked against the bytes remaining first.
    public mutating func readBytes(count: Int, field: String) throws(WireDecodingError) -> [UInt8] {
        guard count >= 0 else {
            throw .invalidLength(context, field: field, offset: readerIndex, length: Int64(count))
        }
        try require(count, field)
        let slice = Array(bytes[readerIndex..<readerIndex + count])
        readerIndex += count
        return slice
    }

    /// Reads `count` bytes as the index range they occupy in `bytes`, copying nothing.
    public mutating func readRange(count: Int, field: String) throws(WireDecodingError) -> Range<Int> {
        guard count >= 0 else {
            throw .invalidLength(context, field: field, offset: readerIndex, length: Int64(count))
        }
        try require(count, field)
        let range = readerIndex..<readerIndex + count
        readerIndex += count
        return range
    }

    /// Decodes `count` bytes as UTF-8; the bytes must already be known to be present.
    mutating func readUTF8(count: Int, field: String, at start: Int) throws(WireDecodingError) -> String {
        try require(count, field)
        let range = readerIndex..<readerIndex + count
        guard let string = String(validating: bytes[range], as: UTF8.self) else {
            throw .invalidString(context, field: field, offset: start)
        }
        readerIndex += count
        return string
    }
}

/// A Kafka UUID (topic id): 16 bytes, all zero for "no id".
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public static let zero = KafkaUUID(bytes: [UInt8](repeating: 0, count: 16))

    /// Creates a UUID from exactly 16 bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a Kafka UUID is 16 bytes")
        self.bytes = bytes
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// A cursor over one complete request frame (the bytes after the int32 size prefix).
///
/// Every read checks the bytes remaining first and throws `RequestDecodingError` naming the
/// field and byte offset. Declared lengths and counts are checked against the bytes remaining
/// before anything is allocated. Integers are big-endian unless the method name says varint.
/// The fake keeps its own decoder, separate from KafkaWire, so that a bug shared by the
/// producer's encoder and the codec cannot hide itself in tests that run against the fake.
struct RequestReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    /// Message name and version used in errors, for example `Produce v9 request`.
    var context: String

    init(_ bytes: [UInt8], context: String) {
        self.bytes = bytes
        self.offset = 0
        self.context = context
    }

    var remaining: Int { bytes.count - offset }

    private func require(_ count: Int, _ field: String) throws(RequestDecodingError) {
        if count > remaining {
            throw .truncated(context, field: field, offset: offset, needed: count, remaining: remaining)
        }
    }

    mutating func readInteger<T: FixedWidthInteger>(_ field: String, as: T.Type = T.self)
        throws(RequestDecodingError) -> T
    {
        let size = MemoryLayout<T>.size
        try require(size, field)
        var value: T = 0
        for index in offset..<(offset + size) {
            value = (value << 8) | T(truncatingIfNeeded: bytes[index])
        }
        offset += size
        return value
    }

    mutating func readInt8(_ field: String) throws(RequestDecodingError) -> Int8 {
        try readInteger(field)
    }

    mutating func readInt16(_ field: String) throws(RequestDecodingError) -> Int16 {
        try readInteger(field)
    }

    mutating func readInt32(_ field: String) throws(RequestDecodingError) -> Int32 {
        try readInteger(field)
    }

    mutating func readInt64(_ field: String) throws(RequestDecodingError) -> Int64 {
        try readInteger(field)
    }

    mutating func readBool(_ field: String) throws(RequestDecodingError) -> Bool {
        let value: UInt8 = try readInteger(field)
        return value != 0
    }

    mutating func readBytes(_ count: Int, _ field: String) throws(RequestDecodingError) -> [UInt8] {
        try require(count, field)
        let slice = Array(bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    mutating func skip(_ count: Int, _ field: String) throws(RequestDecodingError) {
        try require(count, field)
        offset += count
    }

    /// Reads an unsigned LEB128 varint of at most 5 bytes (the compact length form).
    mutating func readUnsignedVarint(_ field: String) throws(RequestDecodingError) -> UInt32 {
        let start = offset
        var value: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard offset < bytes.count else {
                offset = start
                throw .truncated(context, field: field, offset: start, needed: 1, remaining: 0)
            }
            let byte = bytes[offset]
            offset += 1
            if shift == 28 && byte > 0x0F {
                offset = start
                throw .invalidVarint(context, field: field, offset: start)
            }
            value |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// Reads an array count: int32 in classic versions, unsigned varint N+1 in flexible ones.
    /// Returns nil for a null array. Throws when the count exceeds what the remaining bytes can
    /// hold at `minimumElementSize` bytes an element.
    mutating func readArrayCount(_ field: String, flexible: Bool, minimumElementSize: Int)
        throws(RequestDecodingError) -> Int?
    {
        let start = offset
        let count: Int64
        if flexible {
            let raw = try readUnsignedVarint(field)
            if raw == 0 { return nil }
            count = Int64(raw) - 1
        } else {
            let raw = try readInt32(field)
            if raw == -1 { return nil }
            guard raw >= 0 else { throw .invalidLength(context, field: field, offset: start, length: Int64(raw)) }
            count = Int64(raw)
        }
        let maximum = remaining / max(1, minimumElementSize)
        guard count <= Int64(maximum) else {
            throw .countTooLarge(context, field: field, offset: start, count: count, maximum: maximum)
        }
        return Int(count)
    }

    /// Reads a nullable string: int16 length (-1 = null) or compact (0 = null).
    mutating func readNullableString(_ field: String, flexible: Bool) throws(RequestDecodingError) -> String? {
        let start = offset
        let length: Int
        if flexible {
            let raw = try readUnsignedVarint(field)
            if raw == 0 { return nil }
            length = Int(raw) - 1
        } else {
            let raw = try readInt16(field)
            if raw == -1 { return nil }
            guard raw >= 0 else { throw .invalidLength(context, field: field, offset: start, length: Int64(raw)) }
            length = Int(raw)
        }
        let body = try readBytes(length, field)
        guard let text = String(validating: body, as: UTF8.self) else {
            throw .invalidString(context, field: field, offset: start)
        }
        return text
    }

    /// Reads a non-null string; a null is malformed.
    mutating func readString(_ field: String, flexible: Bool) throws(RequestDecodingError) -> String {
        let start = offset
        guard let text = try readNullableString(field, flexible: flexible) else {
            throw .invalidLength(context, field: field, offset: start, length: -1)
        }
        return text
    }

    /// Reads nullable bytes: int32 length (-1 = null) or compact (0 = null).
    mutating func readNullableBytes(_ field: String, flexible: Bool) throws(RequestDecodingError) -> [UInt8]? {
        let start = offset
        let length: Int
        if flexible {
            let raw = try readUnsignedVarint(field)
            if raw == 0 { return nil }
            length = Int(raw) - 1
        } else {
            let raw = try readInt32(field)
            if raw == -1 { return nil }
            guard raw >= 0 else { throw .invalidLength(context, field: field, offset: start, length: Int64(raw)) }
            length = Int(raw)
        }
        return try readBytes(length, field)
    }

    /// Skips a tagged-field section: count, then per field a tag, a size and that many bytes.
    mutating func skipTaggedFields(_ field: String = "TaggedFields") throws(RequestDecodingError) {
        let count = try readUnsignedVarint(field)
        guard Int(count) <= remaining else {
            throw .countTooLarge(context, field: field, offset: offset, count: Int64(count), maximum: remaining)
        }
        for _ in 0..<count {
            _ = try readUnsignedVarint(field + ".tag")
            let size = try readUnsignedVarint(field + ".size")
            try skip(Int(size), field + ".data")
        }
    }
}

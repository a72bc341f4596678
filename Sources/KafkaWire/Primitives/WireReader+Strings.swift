// Strings, byte arrays and array counts in both encodings (protocol/types/Type.java in Apache
// Kafka): classic forms carry an int16 (strings) or int32 (bytes, arrays) length where -1 is null;
// compact forms, used by flexible versions, carry an unsigned varint of length + 1 where 0 is null.
// Every length and count is checked against the bytes remaining before anything is allocated.

extension WireReader {
    // MARK: Classic encodings

    /// Reads a STRING (int16 length); null (-1) and other negative lengths throw `invalidLength`.
    public mutating func readString(_ field: String) throws(WireDecodingError) -> String {
        try readNonNull(field) { (reader) throws(WireDecodingError) in try reader.readNullableString(field) }
    }

    /// Reads a NULLABLE_STRING (int16 length, -1 = null).
    public mutating func readNullableString(_ field: String) throws(WireDecodingError) -> String? {
        let start = readerIndex
        let length = Int(try readInt16(field))
        if length == -1 { return nil }
        guard length >= 0 else {
            readerIndex = start
            throw .invalidLength(context, field: field, offset: start, length: Int64(length))
        }
        return try rewindingOnError(to: start) { (reader) throws(WireDecodingError) in
            try reader.readUTF8(count: length, field: field, at: start)
        }
    }

    /// Reads BYTES (int32 length); null (-1) and other negative lengths throw `invalidLength`.
    public mutating func readByteArray(_ field: String) throws(WireDecodingError) -> [UInt8] {
        try readNonNull(field) { (reader) throws(WireDecodingError) in
            try reader.readNullableByteArray(field)
        }
    }

    /// Reads NULLABLE_BYTES (int32 length, -1 = null).
    public mutating func readNullableByteArray(_ field: String) throws(WireDecodingError) -> [UInt8]? {
        guard let range = try readNullableByteRange(field) else { return nil }
        return Array(bytes[range])
    }

    /// Reads NULLABLE_BYTES and returns where they sit in `bytes`, copying nothing.
    public mutating func readNullableByteRange(_ field: String) throws(WireDecodingError) -> Range<Int>? {
        let start = readerIndex
        let length = Int(try readInt32(field))
        if length == -1 { return nil }
        guard length >= 0 else {
            readerIndex = start
            throw .invalidLength(context, field: field, offset: start, length: Int64(length))
        }
        guard length <= readableBytes else {
            let remaining = readableBytes
            readerIndex = start
            throw .truncated(context, field: field, offset: start, needed: length, remaining: remaining)
        }
        return try readRange(count: length, field: field)
    }

    /// Reads an ARRAY count (int32, -1 = null) and checks that `count * minimumElementSize` bytes
    /// remain, so a caller may reserve `count` elements.
    public mutating func readNullableArrayCount(
        _ field: String, minimumElementSize: Int = 1
    )
        throws(WireDecodingError) -> Int?
    {
        let start = readerIndex
        let count = Int(try readInt32(field))
        if count == -1 { return nil }
        return try checkedCount(count, field: field, start: start, minimumElementSize: minimumElementSize)
    }

    /// Reads a non-null ARRAY count; null throws `invalidLength`.
    public mutating func readArrayCount(
        _ field: String, minimumElementSize: Int = 1
    ) throws(WireDecodingError)
        -> Int
    {
        try readNonNull(field) { (reader) throws(WireDecodingError) in
            try reader.readNullableArrayCount(field, minimumElementSize: minimumElementSize)
        }
    }

    // MARK: Compact encodings

    /// Reads a COMPACT_NULLABLE_STRING (unsigned varint length + 1, 0 = null).
    public mutating func readCompactNullableString(_ field: String) throws(WireDecodingError) -> String? {
        let start = readerIndex
        guard let length = try readCompactLength(field) else { return nil }
        return try rewindingOnError(to: start) { (reader) throws(WireDecodingError) in
            try reader.readUTF8(count: length, field: field, at: start)
        }
    }

    /// Reads a COMPACT_STRING; null throws `invalidLength`.
    public mutating func readCompactString(_ field: String) throws(WireDecodingError) -> String {
        try readNonNull(field) { (reader) throws(WireDecodingError) in
            try reader.readCompactNullableString(field)
        }
    }

    /// Reads COMPACT_NULLABLE_BYTES (unsigned varint length + 1, 0 = null).
    public mutating func readCompactNullableByteArray(_ field: String) throws(WireDecodingError) -> [UInt8]? {
        guard let range = try readCompactNullableByteRange(field) else { return nil }
        return Array(bytes[range])
    }

    /// Reads COMPACT_NULLABLE_BYTES and returns where they sit in `bytes`, copying nothing.
    public mutating func readCompactNullableByteRange(
        _ field: String
    ) throws(WireDecodingError) -> Range<Int>? {
        let start = readerIndex
        guard let length = try readCompactLength(field) else { return nil }
        return try rewindingOnError(to: start) { (reader) throws(WireDecodingError) in
            try reader.readRange(count: length, field: field)
        }
    }

    /// Reads COMPACT_BYTES; null throws `invalidLength`.
    public mutating func readCompactByteArray(_ field: String) throws(WireDecodingError) -> [UInt8] {
        try readNonNull(field) { (reader) throws(WireDecodingError) in
            try reader.readCompactNullableByteArray(field)
        }
    }

    /// Reads a COMPACT_ARRAY count (unsigned varint count + 1, 0 = null), checked like
    /// `readNullableArrayCount`.
    public mutating func readCompactNullableArrayCount(
        _ field: String, minimumElementSize: Int = 1
    )
        throws(WireDecodingError) -> Int?
    {
        let start = readerIndex
        let raw = try readUnsignedVarint(field)
        if raw == 0 { return nil }
        return try checkedCount(
            Int(raw) - 1, field: field, start: start, minimumElementSize: minimumElementSize)
    }

    /// Reads a non-null COMPACT_ARRAY count; null throws `invalidLength`.
    public mutating func readCompactArrayCount(
        _ field: String, minimumElementSize: Int = 1
    )
        throws(WireDecodingError) -> Int
    {
        try readNonNull(field) { (reader) throws(WireDecodingError) in
            try reader.readCompactNullableArrayCount(field, minimumElementSize: minimumElementSize)
        }
    }

    // MARK: Chosen by version

    /// Reads a string in the compact form when `compact`, else the classic one.
    public mutating func readString(_ field: String, compact: Bool) throws(WireDecodingError) -> String {
        compact ? try readCompactString(field) : try readString(field)
    }

    public mutating func readNullableString(
        _ field: String, compact: Bool
    ) throws(WireDecodingError) -> String? {
        compact ? try readCompactNullableString(field) : try readNullableString(field)
    }

    public mutating func readNullableByteRange(
        _ field: String, compact: Bool
    ) throws(WireDecodingError)
        -> Range<Int>?
    {
        compact ? try readCompactNullableByteRange(field) : try readNullableByteRange(field)
    }

    public mutating func readArrayCount(
        _ field: String, compact: Bool, minimumElementSize: Int = 1
    )
        throws(WireDecodingError) -> Int
    {
        compact
            ? try readCompactArrayCount(field, minimumElementSize: minimumElementSize)
            : try readArrayCount(field, minimumElementSize: minimumElementSize)
    }

    public mutating func readNullableArrayCount(
        _ field: String, compact: Bool, minimumElementSize: Int = 1
    )
        throws(WireDecodingError) -> Int?
    {
        compact
            ? try readCompactNullableArrayCount(field, minimumElementSize: minimumElementSize)
            : try readNullableArrayCount(field, minimumElementSize: minimumElementSize)
    }

    /// Reads an array of int32 values, as used for replica lists.
    public mutating func readInt32Array(_ field: String, compact: Bool) throws(WireDecodingError) -> [Int32] {
        let count = try readArrayCount(field, compact: compact, minimumElementSize: 4)
        var values: [Int32] = []
        values.reserveCapacity(Swift.min(count, Self.maximumReservedElements))
        for _ in 0..<count {
            values.append(try readInt32(field))
        }
        return values
    }

    // MARK: Helpers

    /// Runs `readNullable` and turns a null into `invalidLength` (length -1) at the offset where
    /// the value starts, leaving the reader where it was.
    private mutating func readNonNull<Value>(
        _ field: String, _ readNullable: (inout WireReader) throws(WireDecodingError) -> Value?
    ) throws(WireDecodingError) -> Value {
        let start = readerIndex
        guard let value = try readNullable(&self) else {
            readerIndex = start
            throw .invalidLength(context, field: field, offset: start, length: -1)
        }
        return value
    }

    /// Runs `read` and moves the reader back to `start` when it throws, so that a malformed value
    /// consumes nothing.
    private mutating func rewindingOnError<Value>(
        to start: Int, _ read: (inout WireReader) throws(WireDecodingError) -> Value
    ) throws(WireDecodingError) -> Value {
        do {
            return try read(&self)
        } catch {
            readerIndex = start
            throw error
        }
    }

    /// Reads a compact length (value - 1), nil for null; checks it against the bytes remaining.
    private mutating func readCompactLength(_ field: String) throws(WireDecodingError) -> Int? {
        let start = readerIndex
        let raw = try readUnsignedVarint(field)
        if raw == 0 { return nil }
        let length = Int(raw) - 1
        guard length <= readableBytes else {
            let remaining = readableBytes
            readerIndex = start
            throw .truncated(context, field: field, offset: start, needed: length, remaining: remaining)
        }
        return length
    }

    private mutating func checkedCount(
        _ count: Int, field: String, start: Int, minimumElementSize: Int
    )
        throws(WireDecodingError) -> Int
    {
        guard count >= 0 else {
            readerIndex = start
            throw .invalidLength(context, field: field, offset: start, length: Int64(count))
        }
        let remaining = readableBytes
        if count > remaining / max(1, minimumElementSize) {
            readerIndex = start
            throw .countTooLarge(
                context, field: field, offset: start, count: Int64(count), remaining: remaining)
        }
        return count
    }
}

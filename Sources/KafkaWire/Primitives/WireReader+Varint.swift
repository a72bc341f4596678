// Variable-length integers as Kafka encodes them (ByteUtils.java in Apache Kafka): unsigned LEB128,
// seven bits a byte with the high bit set on every byte but the last. Signed forms zigzag first.

extension WireReader {
    /// Reads an unsigned varint of at most 5 bytes (UNSIGNED_VARINT, used for compact lengths and tags).
    public mutating func readUnsignedVarint(_ field: String) throws(WireDecodingError) -> UInt32 {
        let value = try readUnsignedLEB128(maxBytes: 5, field: field)
        guard value <= UInt64(UInt32.max) else {
            throw .invalidVarint(context, field: field, offset: readerIndex)
        }
        return UInt32(value)
    }

    /// Reads a zigzag varint of at most 5 bytes (VARINT, used for record lengths and deltas).
    public mutating func readVarint(_ field: String) throws(WireDecodingError) -> Int32 {
        let start = readerIndex
        let raw = try readUnsignedLEB128(maxBytes: 5, field: field)
        guard raw <= UInt64(UInt32.max) else {
            readerIndex = start
            throw .invalidVarint(context, field: field, offset: start)
        }
        let value = UInt32(raw)
        return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Reads a zigzag varlong of at most 10 bytes (VARLONG, used for timestamp deltas).
    public mutating func readVarlong(_ field: String) throws(WireDecodingError) -> Int64 {
        let value = try readUnsignedLEB128(maxBytes: 10, field: field)
        return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Reads an unsigned LEB128 value; consumes nothing when it throws.
    @inline(__always)
    private mutating func readUnsignedLEB128(maxBytes: Int, field: String) throws(WireDecodingError) -> UInt64
    {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = readerIndex
        while true {
            guard index < endIndex else {
                throw .truncated(
                    context, field: field, offset: readerIndex, needed: index - readerIndex + 1,
                    remaining: readableBytes)
            }
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            if index - readerIndex >= maxBytes {
                throw .invalidVarint(context, field: field, offset: readerIndex)
            }
        }
        readerIndex = index
        return value
    }
}

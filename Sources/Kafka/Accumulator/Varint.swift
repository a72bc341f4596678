/// Zigzag varints of the record format (Kafka `ByteUtils.java`): zigzag, then unsigned LEB128.
enum Varint {
    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inline(__always)
    static func size(_ value: Int64) -> Int {
        var remaining = zigzag(value)
        var count = 1
        while remaining >= 0x80 {
            remaining >>= 7
            count += 1
        }
        return count
    }

    @inline(__always)
    static func append(_ value: Int64, to buffer: inout [UInt8]) {
        var remaining = zigzag(value)
        while remaining >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        buffer.append(UInt8(truncatingIfNeeded: remaining))
    }

    /// Reads a zigzag varint at `offset` and advances it; `nil` when the bytes end first or the
    /// value is longer than 10 bytes.
    static func read(_ buffer: [UInt8], at offset: inout Int) -> Int64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < buffer.count, shift < 64 {
            let byte = buffer[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
            }
            shift += 7
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var bigEndian = value.bigEndian
        Swift.withUnsafeBytes(of: &bigEndian) { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func storeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        var bigEndian = value.bigEndian
        Swift.withUnsafeBytes(of: &bigEndian) { bytes in
            for index in 0..<bytes.count {
                self[offset + index] = bytes[index]
            }
        }
    }
}

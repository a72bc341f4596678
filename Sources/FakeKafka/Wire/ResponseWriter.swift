/// Appends a response frame: an int32 size prefix patched in by `finish()`, then the message.
/// Integers are big-endian unless the method name says varint.
struct ResponseWriter {
    private(set) var bytes: [UInt8] = [0, 0, 0, 0]

    mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        var bigEndian = value.bigEndian
        withUnsafeBytes(of: &bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func writeInt8(_ value: Int8) { writeInteger(value) }
    mutating func writeInt16(_ value: Int16) { writeInteger(value) }
    mutating func writeInt32(_ value: Int32) { writeInteger(value) }
    mutating func writeInt64(_ value: Int64) { writeInteger(value) }
    mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    mutating func writeBytes(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    mutating func writeUnsignedVarint(_ value: UInt32) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func writeArrayCount(_ count: Int, flexible: Bool) {
        if flexible {
            writeUnsignedVarint(UInt32(count + 1))
        } else {
            writeInt32(Int32(count))
        }
    }

    mutating func writeNullableString(_ value: String?, flexible: Bool) {
        guard let value else {
            if flexible { writeUnsignedVarint(0) } else { writeInt16(-1) }
            return
        }
        let utf8 = Array(value.utf8)
        if flexible {
            writeUnsignedVarint(UInt32(utf8.count + 1))
        } else {
            writeInt16(Int16(utf8.count))
        }
        bytes.append(contentsOf: utf8)
    }

    mutating func writeString(_ value: String, flexible: Bool) {
        writeNullableString(value, flexible: flexible)
    }

    /// Writes an empty tagged-field section (a single zero byte).
    mutating func writeEmptyTaggedFields() { bytes.append(0) }

    /// Writes response header v0 (correlation id) or v1 (correlation id and tagged fields).
    mutating func writeResponseHeader(correlationID: Int32, flexible: Bool) {
        writeInt32(correlationID)
        if flexible { writeEmptyTaggedFields() }
    }

    /// Patches the size prefix and returns the whole frame.
    func finish() -> [UInt8] {
        var frame = bytes
        let size = UInt32(frame.count - 4)
        frame[0] = UInt8(truncatingIfNeeded: size >> 24)
        frame[1] = UInt8(truncatingIfNeeded: size >> 16)
        frame[2] = UInt8(truncatingIfNeeded: size >> 8)
        frame[3] = UInt8(truncatingIfNeeded: size)
        return frame
    }
}

/// An appending encoder for Kafka messages over `[UInt8]`.
///
/// `write*` methods append; `set*(at:)` overwrite bytes already written, for lengths that are
/// known only after the body. Integers are big-endian unless the method name says varint.
public struct WireWriter: Sendable {
    public var bytes: [UInt8]
    /// The message being encoded, named in `WireEncodingError`.
    public var api: String

    public init(capacity: Int = 256, api: String = "Kafka message") {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.api = api
    }

    public var count: Int { bytes.count }

    // MARK: Fixed-width integers

    @inline(__always)
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        var bigEndian = value.bigEndian
        withUnsafeBytes(of: &bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }
    public mutating func writeInt8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    public mutating func writeInt16(_ value: Int16) { writeInteger(value) }
    public mutating func writeInt32(_ value: Int32) { writeInteger(value) }
    public mutating func writeInt64(_ value: Int64) { writeInteger(value) }
    public mutating func writeUInt32(_ value: UInt32) { writeInteger(value) }
    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func writeUUID(_ value: KafkaUUID) { bytes.append(contentsOf: value.bytes) }

    /// Overwrites the big-endian integer at `index`, which must already be written.
    public mutating func setInteger<T: FixedWidthInteger>(_ value: T, at index: Int) {
        let size = MemoryLayout<T>.size
        precondition(index >= 0 && index + size <= bytes.count, "setInteger outside the written bytes")
        for i in 0..<size {
            bytes[index + i] = UInt8(truncatingIfNeeded: value >> ((size - 1 - i) * 8))
        }
    }

    public mutating func writeRawBytes(_ value: some Sequence<UInt8>) {
        bytes.append(contentsOf: value)
    }

    // MARK: Varints

    /// Appends an unsigned LEB128 varint (UNSIGNED_VARINT).
    @inline(__always)
    public mutating func writeUnsignedVarint(_ value: UInt32) {
        writeUnsignedVarlong(UInt64(value))
    }

    @inline(__always)
    mutating func writeUnsignedVarlong(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    /// Appends a zigzag varint (VARINT).
    public mutating func writeVarint(_ value: Int32) {
        writeUnsignedVarlong(UInt64(VarintSize.zigzag(value)))
    }

    /// Appends a zigzag varlong (VARLONG).
    public mutating func writeVarlong(_ value: Int64) {
        writeUnsignedVarlong(VarintSize.zigzag(value))
    }
}

/// Sizes and zigzag transforms of Kafka varints, for computing lengths before writing.
public enum VarintSize {
    @inline(__always)
    public static func zigzag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    @inline(__always)
    public static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Returns the number of bytes an unsigned LEB128 encoding of `value` takes (1 to 10).
    @inline(__always)
    public static func unsigned(_ value: UInt64) -> Int {
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    @inline(__always)
    public static func varint(_ value: Int32) -> Int { unsigned(UInt64(zigzag(value))) }

    @inline(__always)
    public static func varlong(_ value: Int64) -> Int { unsigned(zigzag(value)) }
}

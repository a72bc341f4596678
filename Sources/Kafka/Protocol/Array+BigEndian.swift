extension Array where Element == UInt8 {
    /// Overwrites `MemoryLayout<T>.size` bytes at `offset` with `value` in big-endian order.
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

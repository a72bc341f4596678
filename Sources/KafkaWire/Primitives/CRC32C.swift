/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of RecordBatch v2.
///
/// Table-driven slicing-by-16 in plain Swift: 16 tables of 256 entries, 16 bytes a step.
public enum CRC32C {
    private static let polynomial: UInt32 = 0x82F6_3B78

    /// tables[k * 256 + b] is the CRC of byte b followed by k zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 16 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            tables[byte] = crc
        }
        for k in 1..<16 {
            for byte in 0..<256 {
                let previous = tables[(k - 1) * 256 + byte]
                tables[k * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// Returns the CRC-32C of `bytes`.
    public static func checksum(_ bytes: some ContiguousBytes) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// Continues `crc` (a previous result, 0 to start) over `buffer`.
    public static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { table in
            var crc = ~crc
            guard var pointer = buffer.baseAddress else { return ~crc }
            var remaining = buffer.count
            let t = table.baseAddress!
            while remaining >= 16 {
                let low = UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                let high = UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                // Four independent partial sums keep the XOR chain short; only the first two
                // depend on the previous CRC.
                let a =
                    t[15 * 256 + Int(low & 0xFF)] ^ t[14 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[13 * 256 + Int((low >> 16) & 0xFF)] ^ t[12 * 256 + Int((low >> 24) & 0xFF)]
                let b =
                    t[11 * 256 + Int((low >> 32) & 0xFF)] ^ t[10 * 256 + Int((low >> 40) & 0xFF)]
                    ^ t[9 * 256 + Int((low >> 48) & 0xFF)] ^ t[8 * 256 + Int(low >> 56)]
                let c =
                    t[7 * 256 + Int(high & 0xFF)] ^ t[6 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((high >> 16) & 0xFF)] ^ t[4 * 256 + Int((high >> 24) & 0xFF)]
                let d =
                    t[3 * 256 + Int((high >> 32) & 0xFF)] ^ t[2 * 256 + Int((high >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 48) & 0xFF)] ^ t[Int(high >> 56)]
                crc = (a ^ b) ^ (c ^ d)
                pointer += 16
                remaining -= 16
            }
            while remaining > 0 {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xFF)]
                pointer += 1
                remaining -= 1
            }
            return ~crc
        }
    }
}

/// Types whose bytes are contiguous in memory, so checksums can run over them without copying.
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self)
    }
}

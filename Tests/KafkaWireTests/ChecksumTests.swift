import Testing

@testable import KafkaWire

@Suite struct ChecksumTests {
    @Test func crc32cVectors() {
        // Crc32CTest.java in Apache Kafka.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Array("Some String".utf8)) == 608_512_271)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func crc32cMatchesBitwiseReferenceAtEveryLength() {
        // A bit-at-a-time implementation as an independent oracle for the slicing tables.
        func bitwise(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return ~crc
        }
        var generator = SystemRandomNumberGenerator()
        for length in 0..<80 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(CRC32C.checksum(bytes) == bitwise(bytes), "length \(length)")
        }
    }

    @Test func crc32cUpdateChains() {
        let bytes = Array("The quick brown fox jumps over the lazy dog, twice over.".utf8)
        let whole = CRC32C.checksum(bytes)
        let first = bytes[..<21].withUnsafeBytes { CRC32C.update(0, $0) }
        let chained = bytes[21...].withUnsafeBytes { CRC32C.update(first, $0) }
        #expect(chained == whole)
    }

    // UtilsTest.testMurmur2 in Apache Kafka.
    static let murmurVectors: [(String, Int32)] = [
        ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
    ]

    @Test(arguments: murmurVectors)
    func murmur2Vectors(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    @Test func partitionOfFoobarOnTwelvePartitions() {
        #expect(Murmur2.partition(forKey: Array("foobar".utf8), partitionCount: 12) == 6)
    }

    @Test func partitionMasksSignBitNotAbs() {
        // murmur2("21") is negative; Java masks with 0x7fffffff rather than taking abs().
        let hash = Murmur2.hash(Array("21".utf8))
        let expected = Int(hash & 0x7FFF_FFFF) % 7
        #expect(Murmur2.partition(forKey: Array("21".utf8), partitionCount: 7) == expected)
        #expect(expected != Int(abs(Int64(hash))) % 7)
    }

    @Test func emptyKeyIsHashed() {
        // h = seed ^ 0, then the final mix only.
        #expect(Murmur2.hash([UInt8]()) == 275_646_681)
    }
}

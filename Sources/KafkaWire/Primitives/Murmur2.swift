/// The murmur2 hash and default partitioner of the Java Kafka client (Utils.murmur2 and
/// BuiltInPartitioner in Apache Kafka), so keyed records land on the same partitions as Java's.
public enum Murmur2 {
    /// Returns murmur2 of `key` with Kafka's seed 0x9747B28C, as the signed 32-bit value Java returns.
    public static func hash(_ key: some ContiguousBytes) -> Int32 {
        key.withUnsafeBytes { buffer in
            let m: UInt32 = 0x5BD1_E995
            let length = buffer.count
            var h: UInt32 = 0x9747_B28C ^ UInt32(truncatingIfNeeded: length)
            let blocks = length / 4
            for block in 0..<blocks {
                let i = block * 4
                var k =
                    UInt32(buffer[i]) | UInt32(buffer[i + 1]) << 8 | UInt32(buffer[i + 2]) << 16
                    | UInt32(buffer[i + 3]) << 24
                k &*= m
                k ^= k >> 24
                k &*= m
                h &*= m
                h ^= k
            }
            let tail = blocks * 4
            switch length & 3 {
            case 3:
                h ^= UInt32(buffer[tail + 2]) << 16
                h ^= UInt32(buffer[tail + 1]) << 8
                h ^= UInt32(buffer[tail])
                h &*= m
            case 2:
                h ^= UInt32(buffer[tail + 1]) << 8
                h ^= UInt32(buffer[tail])
                h &*= m
            case 1:
                h ^= UInt32(buffer[tail])
                h &*= m
            default:
                break
            }
            h ^= h >> 13
            h &*= m
            h ^= h >> 15
            return Int32(bitPattern: h)
        }
    }

    /// Returns the partition Java's default partitioner picks for a non-null key:
    /// `(murmur2(key) & 0x7fffffff) % partitionCount`. Null keys are not hashed; pick those
    /// partitions another way (sticky or round robin).
    public static func partition(forKey key: some ContiguousBytes, partitionCount: Int) -> Int {
        precondition(partitionCount > 0, "partitionCount must be positive")
        return Int(hash(key) & 0x7FFF_FFFF) % partitionCount
    }
}

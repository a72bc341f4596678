/// Per-partition sequence arithmetic of idempotent produce: sequences count records from 0 and
/// wrap past `Int32.max` back to 0 (Kafka `DefaultRecordBatch.incrementSequence`).
enum SequenceNumber {
    static func adding(_ count: Int32, to sequence: Int32) -> Int32 {
        let sum = Int64(sequence) + Int64(count)
        return Int32(sum % (Int64(Int32.max) + 1))
    }

    /// Whether `lhs` comes before `rhs`, allowing for one wrap between them.
    static func precedes(_ lhs: Int32, _ rhs: Int32) -> Bool {
        let modulus = Int64(Int32.max) + 1
        let distance = ((Int64(rhs) - Int64(lhs)) % modulus + modulus) % modulus
        return distance > 0 && distance < modulus / 2
    }
}

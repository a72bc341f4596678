/// Chooses the partition of records that name none.
public struct KafkaPartitioner: Sendable {
    enum Kind: Sendable {
        case `default`
        case custom(@Sendable (_ topic: String, _ key: [UInt8]?, _ partitionCount: Int32) -> Int32)
    }

    let kind: Kind

    /// The Java producer's rule: `(murmur2(key) & 0x7fffffff) % partitionCount` for keyed records,
    /// and for keyless records one "sticky" partition per topic that changes each time its batch
    /// is sent.
    public static let `default` = KafkaPartitioner(kind: .default)

    /// A caller-supplied function, called on the enqueuing task outside the producer's lock. It
    /// must return a value in `0..<partitionCount`, or the record fails with code `.invalidPartition`.
    public static func custom(
        _ choose: @escaping @Sendable (_ topic: String, _ key: [UInt8]?, _ partitionCount: Int32) -> Int32
    ) -> KafkaPartitioner {
        KafkaPartitioner(kind: .custom(choose))
    }
}

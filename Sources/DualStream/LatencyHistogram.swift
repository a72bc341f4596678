/// Log-linear histogram of durations in microseconds, for percentiles without keeping samples.
///
/// Values below 16 µs have a bucket each. Above, every power of two is split into 16 buckets,
/// so a percentile is reported with at most 1/16 (6.25 %) relative error, as the lower bound of
/// its bucket. Durations of 2^40 µs (about 12 days) or more share the last bucket.
struct LatencyHistogram: Sendable {
    private static let subBuckets = 16
    private static let maxExponent = 40
    private var counts = [Int](repeating: 0, count: (LatencyHistogram.maxExponent - 2) * 16)
    private(set) var total = 0

    mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, seconds) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        counts[Self.bucket(for: UInt64(micros))] += 1
        total += 1
    }

    /// The duration below which `fraction` (0...1) of the recorded values fall; `nil` when empty.
    func percentile(_ fraction: Double) -> Duration? {
        guard total > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= rank {
                return .microseconds(Int64(Self.lowerBound(of: index)))
            }
        }
        return .microseconds(Int64(Self.lowerBound(of: counts.count - 1)))
    }

    static func bucket(for micros: UInt64) -> Int {
        if micros < UInt64(subBuckets) { return Int(micros) }
        let exponent = 63 - micros.leadingZeroBitCount
        if exponent >= maxExponent { return (maxExponent - 2) * subBuckets - 1 }
        let sub = Int((micros >> UInt64(exponent - 4)) & 15)
        return (exponent - 3) * subBuckets + sub
    }

    static func lowerBound(of bucket: Int) -> UInt64 {
        if bucket < subBuckets { return UInt64(bucket) }
        let exponent = bucket / subBuckets + 3
        let sub = UInt64(bucket % subBuckets)
        return (1 << UInt64(exponent)) + sub << UInt64(exponent - 4)
    }
}

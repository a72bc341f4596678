/// Exponential backoff with jitter for reconnects and retries.
///
/// The base delay starts at `initial` and is multiplied by `multiplier` after each `next()`, up to
/// `maximum`. `next()` returns a delay drawn uniformly from `[base × (1 − jitter), base]` with
/// `SystemRandomNumberGenerator`: jitter 0 gives exact exponential delays, 1 gives "full jitter"
/// (anywhere from zero to the base), and the default 0.2 spreads clients that failed together.
/// Every returned delay is at most `maximum`.
public struct Backoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    public let multiplier: Double
    public let jitter: Double
    /// Number of `next()` calls since creation or the last `reset()`.
    public private(set) var attempts = 0
    private var base: Duration

    /// Creates a backoff. Values often come from user configuration, so out-of-range ones are
    /// clamped instead of trapping. A negative `initial` becomes zero, and every delay is then
    /// zero, as with a retry backoff of 0 ms. A `maximum` below `initial` becomes `initial`. A
    /// `multiplier` below 1 or not finite becomes 1, and `jitter` is clamped to 0...1 (NaN to 0).
    public init(initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double = 0.2) {
        let clampedInitial = max(initial, .zero)
        self.initial = clampedInitial
        self.maximum = max(maximum, clampedInitial)
        self.multiplier = multiplier.isFinite && multiplier >= 1 ? multiplier : 1
        self.jitter = jitter.isNaN ? 0 : min(max(jitter, 0), 1)
        base = clampedInitial
    }

    /// Returns the next delay and grows the base delay for the following call.
    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// `next()` with a caller-supplied random source, for deterministic tests.
    public mutating func next<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Duration
    {
        attempts += 1
        let baseSeconds = Self.seconds(base)
        let factor = jitter == 0 ? 1 : 1 - jitter * Double.random(in: 0..<1, using: &generator)
        let delay = min(Self.duration(seconds: baseSeconds * factor), maximum)
        let grown = baseSeconds * multiplier
        base = grown >= Self.seconds(maximum) ? maximum : Self.duration(seconds: grown)
        return delay
    }

    /// Starts again from `initial`, for use after a success.
    public mutating func reset() {
        base = initial
        attempts = 0
    }

    private static func seconds(_ duration: Duration) -> Double {
        let components = duration.components
        return Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Converts seconds to a Duration, saturating at Int64.max nanoseconds (about 292 years).
    private static func duration(seconds: Double) -> Duration {
        let nanoseconds = (seconds * 1e9).rounded()
        guard nanoseconds < Double(Int64.max) else { return .nanoseconds(Int64.max) }
        return .nanoseconds(Int64(nanoseconds))
    }
}

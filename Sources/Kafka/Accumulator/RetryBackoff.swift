/// Delay before a batch's next attempt: `retryBackoff` doubled per earlier attempt up to
/// `retryBackoffMaximum`, times a random factor in 0.8...1.2 (20% jitter),
/// and never past the batch's delivery deadline.
struct RetryBackoff {
    let initial: Duration
    let maximum: Duration

    /// Returns the delay after attempt number `attempts` (1 for the first attempt) failed.
    func delay(afterAttempts attempts: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(max(attempts - 1, 0), 20)
        let base = min(initial * (1 << exponent), maximum)
        return base * Double.random(in: 0.8...1.2, using: &generator)
    }

    /// Returns when the next attempt may start, capped at `deadline`.
    func retryTime(
        afterAttempts attempts: Int, now: ContinuousClock.Instant, deadline: ContinuousClock.Instant,
        using generator: inout some RandomNumberGenerator
    ) -> ContinuousClock.Instant {
        min(now + delay(afterAttempts: attempts, using: &generator), deadline)
    }
}

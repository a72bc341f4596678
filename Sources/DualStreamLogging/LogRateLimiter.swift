import Synchronization

/// Limits how often a repeated failure is logged: at most `burst` records per `interval`, and
/// a count of the records suppressed since the last one that passed.
///
/// Used for failures that are counted rather than thrown, such as a dropped Redis notification,
/// so an outage produces a few lines instead of one per event.
public final class LogRateLimiter: Sendable {
    private struct State {
        var windowStart: ContinuousClock.Instant
        var passedInWindow: Int
        var suppressed: Int
    }

    private let interval: Duration
    private let burst: Int
    private let state: Mutex<State>

    public init(interval: Duration = .seconds(10), burst: Int = 3) {
        precondition(burst > 0, "burst must be positive, got \(burst)")
        self.interval = interval
        self.burst = burst
        self.state = Mutex(State(windowStart: .now, passedInWindow: 0, suppressed: 0))
    }

    /// Returns `nil` when the record should be suppressed, otherwise the number of records
    /// suppressed since the previous one that passed (to report in its metadata).
    public func admit(now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if now - state.windowStart >= interval {
                state.windowStart = now
                state.passedInWindow = 0
            }
            guard state.passedInWindow < burst else {
                state.suppressed += 1
                return nil
            }
            state.passedInWindow += 1
            let suppressed = state.suppressed
            state.suppressed = 0
            return suppressed
        }
    }
}

import Glibc

/// Sleeps for `duration` in steps of at most 20 ms, returning early once `shouldStop` is true.
func sleep(for duration: Duration, unless shouldStop: () -> Bool) {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: duration)
    while !shouldStop() {
        let remaining = clock.now.duration(to: deadline)
        if remaining <= .zero { return }
        let step = min(remaining, .milliseconds(20))
        let (seconds, attoseconds) = step.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var rest = timespec()
        // nanosleep returns early on a signal; the loop recomputes what remains.
        _ = nanosleep(&request, &rest)
    }
}

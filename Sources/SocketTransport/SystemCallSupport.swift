import Glibc

/// Text of an errno value from `strerror_r`, with the number: "Connection refused (errno 111)".
func errnoDescription(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard strerror_r(code, &buffer, buffer.count) == 0 else {
        return "errno \(code)"
    }
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return "\(String(decoding: bytes, as: UTF8.self)) (errno \(code))"
}

/// Calls `body` until it returns something other than -1 with errno EINTR.
@inline(__always)
func retryingInterrupts<Result: BinaryInteger>(_ body: () -> Result) -> Result {
    while true {
        let result = body()
        if result != -1 || errno != EINTR {
            return result
        }
    }
}

/// A deadline on the monotonic clock, or none for "wait forever".
struct Deadline {
    private let instant: ContinuousClock.Instant?

    init(timeout: Duration?) {
        instant = timeout.map { ContinuousClock.now.advanced(by: max($0, .zero)) }
    }

    /// Milliseconds left for `poll`/`epoll_wait`: -1 for no deadline, rounded up so that a
    /// sub-millisecond remainder still waits instead of spinning, and capped at Int32.max.
    var pollTimeoutMilliseconds: Int32 {
        guard let instant else { return -1 }
        let remaining = ContinuousClock.now.duration(to: instant)
        guard remaining > .zero else { return 0 }
        let components = remaining.components
        let milliseconds =
            components.seconds * 1_000 + (components.attoseconds + 999_999_999_999_999)
            / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    /// Time left: nil without a deadline, .zero once it has passed.
    var remaining: Duration? {
        guard let instant else { return nil }
        return max(ContinuousClock.now.duration(to: instant), .zero)
    }

    var hasPassed: Bool {
        guard let instant else { return false }
        return ContinuousClock.now >= instant
    }
}

/// Waits with `poll` for `events` on one descriptor. Returns the returned events, or 0 on timeout.
/// EINTR restarts the wait with the time that is left.
func pollDescriptor(_ descriptor: Int32, events: Int16, timeout: Duration?) -> (revents: Int16, errno: Int32?)
{
    let deadline = Deadline(timeout: timeout)
    while true {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        let result = poll(&entry, 1, deadline.pollTimeoutMilliseconds)
        if result > 0 {
            return (entry.revents, nil)
        }
        if result == 0 {
            return (0, nil)
        }
        let code = errno
        if code != EINTR {
            return (0, code)
        }
    }
}

/// Human-readable duration for messages: "2 s", "1.5 s", "50 ms", "200 µs".
func describeDuration(_ duration: Duration) -> String {
    let components = duration.components
    let totalMicroseconds = components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    if totalMicroseconds >= 1_000_000 {
        if totalMicroseconds % 1_000_000 == 0 {
            return "\(totalMicroseconds / 1_000_000) s"
        }
        return "\(Double(totalMicroseconds) / 1_000_000) s"
    }
    if totalMicroseconds >= 1_000 && totalMicroseconds % 1_000 == 0 {
        return "\(totalMicroseconds / 1_000) ms"
    }
    if totalMicroseconds >= 1_000 {
        return "\(Double(totalMicroseconds) / 1_000) ms"
    }
    return "\(totalMicroseconds) µs"
}

func setSocketOption(_ descriptor: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
    var value = value
    return setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
}

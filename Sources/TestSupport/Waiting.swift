import Glibc

/// Returns the number of open file descriptors of this process: the entries of `/proc/self/fd`,
/// not counting the descriptor that `opendir` itself uses while listing. Returns -1 when
/// `/proc` is not mounted.
public func openDescriptorCount() -> Int {
    guard let directory = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while let entry = readdir(directory) {
        let isDotEntry = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            raw[0] == UInt8(ascii: ".") && (raw[1] == 0 || (raw[1] == UInt8(ascii: ".") && raw[2] == 0))
        }
        if !isDotEntry {
            count += 1
        }
    }
    return count - 1
}

/// Evaluates `condition` every `interval` until it returns true or `timeout` has passed.
/// Returns true as soon as the condition holds and false on timeout, after one last check at the
/// deadline. Errors thrown by the condition propagate.
public func waitUntil(
    timeout: Duration,
    interval: Duration = .milliseconds(10),
    _ condition: () throws -> Bool
) throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try condition() {
            return true
        }
        sleep(for: min(interval, clock.now.duration(to: deadline)))
    }
    return try condition()
}

/// Blocks the calling thread with `nanosleep`; the tests that use it run on their own threads.
func sleep(for duration: Duration) {
    guard duration > .zero else { return }
    let components = duration.components
    var request = timespec(
        tv_sec: Int(components.seconds),
        tv_nsec: Int(components.attoseconds / 1_000_000_000)
    )
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR {
        request = remaining
    }
}

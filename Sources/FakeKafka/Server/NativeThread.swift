import Glibc
import Synchronization

/// A POSIX thread running a closure, joined exactly once.
///
/// The fake runs blocking socket loops, one thread per listener and per connection, outside
/// Swift's cooperative thread pool, so a stalled connection does not block a pool thread that
/// async tests need.
final class NativeThread: Sendable {
    private let handle: pthread_t
    private let joined = Atomic<Bool>(false)

    private init(handle: pthread_t) {
        self.handle = handle
    }

    /// Starts a thread, or returns the errno of `pthread_create`.
    static func start(_ body: @escaping @Sendable () -> Void) -> Result<NativeThread, ThreadStartError> {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                let body = Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue()
                body.run()
                return nil
            }, box)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            return .failure(ThreadStartError(errno: result))
        }
        return .success(NativeThread(handle: handle))
    }

    /// Waits for the thread to finish. Later calls return at once.
    func join() {
        guard !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pthread_join(handle, nil)
    }
}

struct ThreadStartError: Error, CustomStringConvertible {
    var errno: Int32
    var description: String { "pthread_create failed (errno \(errno))" }
}

private final class ThreadBody {
    let run: @Sendable () -> Void

    init(_ run: @escaping @Sendable () -> Void) {
        self.run = run
    }
}

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

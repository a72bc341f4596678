import Glibc
import Synchronization

/// A POSIX thread running the sender loop; joined by `close`, detached when the producer is
/// released without closing.
final class SenderThread: Sendable {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private let handle: Mutex<pthread_t?>

    private init(handle: pthread_t) {
        self.handle = Mutex(handle)
    }

    static func start(_ run: @escaping () -> Void) -> SenderThread? {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
            body.run()
            return nil
        }, body)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            return nil
        }
        return SenderThread(handle: thread)
    }

    /// Waits for the thread to end. Safe to call more than once.
    func join() {
        guard let thread = handle.withLock({ handle -> pthread_t? in
            defer { handle = nil }
            return handle
        }) else { return }
        pthread_join(thread, nil)
    }

    func detach() {
        guard let thread = handle.withLock({ handle -> pthread_t? in
            defer { handle = nil }
            return handle
        }) else { return }
        pthread_detach(thread)
    }
}

/// Wall-clock time in milliseconds since the Unix epoch, the unit of record timestamps.
func currentTimeMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

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

    /// Name given to the thread (at most 15 bytes on Linux), shown in /proc/PID/task/TID/comm.
    static let threadName = "kafka-sender"

    static func start(_ run: @escaping () -> Void) -> SenderThread? {
        let body = Unmanaged.passRetained(Body({
            nameCurrentThread(SenderThread.threadName)
            run()
        })).toOpaque()
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

/// Names the calling thread by writing /proc/thread-self/comm, because Glibc's Swift module
/// does not export pthread_setname_np. Failures are ignored: the name only helps debugging.
private func nameCurrentThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    var bytes = Array(name.utf8.prefix(15))
    _ = write(descriptor, &bytes, bytes.count)
}

/// Wall-clock time in milliseconds since the Unix epoch, the unit of record timestamps.
func currentTimeMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

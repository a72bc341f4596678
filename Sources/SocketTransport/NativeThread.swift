import Glibc
import Synchronization

/// A named POSIX thread running a closure, outside Swift's cooperative thread pool, so that its
/// blocking calls (`epoll_wait`, `getaddrinfo`, a blocking `accept`) never hold a pool thread.
///
/// Call ``join()`` to wait for the thread, or ``detach()`` to let it end on its own. The first
/// of the two calls takes effect, and later calls return at once.
public final class NativeThread: Sendable {
    private let handle: Mutex<pthread_t?>

    private init(handle: pthread_t) {
        self.handle = Mutex(handle)
    }

    /// Starts a thread named `name` (Linux keeps the first 15 bytes, shown in
    /// /proc/PID/task/TID/comm) that runs `body`.
    ///
    /// Throws ``TransportError/Code/threadFailed`` with the errno of `pthread_create`, for
    /// example EAGAIN when the process has reached its thread limit.
    public static func start(
        name: String, _ body: sending @escaping () -> Void
    ) throws(TransportError) -> NativeThread {
        let box = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
                nameCurrentThread(body.name)
                body.run()
                return nil
            }, box)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw TransportError(
                .threadFailed,
                "starting thread \(name) failed: \(errnoDescription(result))",
                errno: result)
        }
        return NativeThread(handle: handle)
    }

    /// Waits for the thread to end.
    public func join() {
        guard let thread = take() else { return }
        pthread_join(thread, nil)
    }

    /// Lets the thread end on its own and release its resources then.
    public func detach() {
        guard let thread = take() else { return }
        pthread_detach(thread)
    }

    private func take() -> pthread_t? {
        handle.withLock { handle in
            defer { handle = nil }
            return handle
        }
    }
}

private final class Body {
    let name: String
    let run: () -> Void

    init(name: String, run: @escaping () -> Void) {
        self.name = name
        self.run = run
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

import Glibc

/// Starts a detached POSIX thread for a connection's I/O loop. The loop owns its socket, so its
/// blocking calls (connect with a timeout, epoll_wait) run on that thread rather than on a Swift
/// concurrency thread.
enum IOThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// `name` appears in the precondition message if the thread cannot be created.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create for \(name) failed with errno \(result)")
        pthread_detach(thread)
    }
}

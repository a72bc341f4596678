import Glibc

/// A pthread running one closure, for the blocking peer side of socket tests. The closure must
/// not block the Swift concurrency pool, which has one thread per core.
final class TestThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                let owner = Unmanaged<TestThread>.fromOpaque(context!).takeRetainedValue()
                owner.body()
                return nil
            }, context)
        precondition(result == 0, "pthread_create failed with \(result)")
    }

    /// Waits for the closure to finish.
    func join() {
        pthread_join(thread, nil)
    }
}

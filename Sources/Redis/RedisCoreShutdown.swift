import SocketTransport
import Synchronization

/// The fields of a client's or subscriber's shared state that closing its I/O thread uses.
protocol IOThreadShutdownState {
    /// Set by `close()` or deinit, after which the I/O thread fails what is pending and ends.
    var isClosing: Bool { get set }
    /// Set by the I/O thread as it ends, after which `close()` returns at once.
    var ioThreadEnded: Bool { get set }
    /// Callers of `close()` waiting for the I/O thread to end, which resumes them.
    var closeWaiters: [CheckedContinuation<Void, Never>] { get set }
}

extension RedisClientShared: IOThreadShutdownState {}
extension RedisSubscriberShared: IOThreadShutdownState {}

/// The shutdown steps that ``RedisClientCore`` and ``RedisSubscriberCore`` share.
enum RedisCoreShutdown {
    /// Creates the epoll instance of an I/O thread, or returns the error that every call then
    /// fails with.
    static func makePoller() -> (poller: Poller?, error: RedisError?) {
        do {
            return (try Poller(), nil)
        } catch {
            return (
                nil,
                RedisError(.notConnected, "creating the epoll instance failed: \(error)", underlying: error)
            )
        }
    }

    /// Marks the state as closing and wakes the I/O thread the first time. Returns at once.
    static func requestClose<State: IOThreadShutdownState>(
        _ shared: borrowing Mutex<State>, poller: Poller?
    ) {
        let wake = shared.withLock { state in
            let wasClosing = state.isClosing
            state.isClosing = true
            return !wasClosing
        }
        if wake {
            poller?.wake()
        }
    }

    /// Requests the close and returns once the I/O thread has ended.
    static func close<State: IOThreadShutdownState>(
        _ shared: borrowing Mutex<State>, poller: Poller?
    ) async {
        requestClose(shared, poller: poller)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = shared.withLock { state in
                if state.ioThreadEnded { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if ended {
                continuation.resume()
            }
        }
    }
}

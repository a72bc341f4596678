import Synchronization

/// A first-in first-out lock for async code: `acquire` suspends until the gate is free.
///
/// The publisher holds it while it reserves ordering tickets and hands records to the producer,
/// so ticket order and producer order agree. Waiting is not cancellable; the holder only awaits
/// the producer's `enqueue`, which is bounded by its `maxBlock`.
final class AsyncGate: Sendable {
    private struct State {
        var locked = false
        var waiters: [UnsafeContinuation<Void, Never>] = []
        var head = 0
    }

    private let state = Mutex(State())

    func acquire() async {
        let acquired = state.withLock { state -> Bool in
            if state.locked { return false }
            state.locked = true
            return true
        }
        if acquired { return }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let acquiredNow = state.withLock { state -> Bool in
                if !state.locked {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquiredNow { continuation.resume() }
        }
    }

    /// Passes the gate to the longest waiter, or frees it.
    func release() {
        let next = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            precondition(state.locked, "AsyncGate released while not held")
            guard state.head < state.waiters.count else {
                state.locked = false
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
                return nil
            }
            let waiter = state.waiters[state.head]
            state.head += 1
            if state.head >= 1_024 && state.head * 2 >= state.waiters.count {
                state.waiters.removeFirst(state.head)
                state.head = 0
            }
            return waiter
        }
        next?.resume()
    }
}

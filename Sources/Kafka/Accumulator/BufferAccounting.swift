/// Counts the bytes of records held by the producer against `bufferMemory`.
///
/// A caller that finds no room waits in FIFO order until bytes are released or its deadline
/// (`maxBlock`) passes. The struct only decides; the caller resumes the returned continuations
/// after leaving the state lock.
struct BufferAccounting {
    typealias Continuation = UnsafeContinuation<Result<Void, KafkaProducerError>, Never>

    struct Waiter {
        var bytes: Int
        var deadline: ContinuousClock.Instant
        var continuation: Continuation
    }

    let limit: Int
    let maxBlock: Duration
    private(set) var used = 0
    private var waiters = FIFOQueue<Waiter>()

    init(limit: Int, maxBlock: Duration) {
        self.limit = limit
        self.maxBlock = maxBlock
    }

    var available: Int { limit - used }
    var hasWaiters: Bool { !waiters.isEmpty }

    /// Reserves `bytes` when nobody waits and they fit.
    mutating func tryReserve(_ bytes: Int) -> Bool {
        guard waiters.isEmpty, used + bytes <= limit else { return false }
        used += bytes
        return true
    }

    mutating func addWaiter(_ waiter: Waiter) {
        waiters.append(waiter)
    }

    /// Returns bytes and hands them to waiters in order; returns the waiters to resume with success.
    mutating func release(_ bytes: Int) -> [Continuation] {
        used -= bytes
        precondition(used >= 0, "released more buffer memory than reserved")
        var granted = [Continuation]()
        while let waiter = waiters.first, used + waiter.bytes <= limit {
            _ = waiters.popFirst()
            used += waiter.bytes
            granted.append(waiter.continuation)
        }
        return granted
    }

    /// Removes waiters whose deadline passed; returns them to resume with the buffer-full error.
    mutating func expire(now: ContinuousClock.Instant) -> [Continuation] {
        // Every waiter waits maxBlock, so deadlines are in queue order.
        var expired = [Continuation]()
        while let first = waiters.first, first.deadline <= now {
            _ = waiters.popFirst()
            expired.append(first.continuation)
        }
        return expired
    }

    /// Removes every waiter, for close.
    mutating func removeAllWaiters() -> [Continuation] {
        waiters.removeAll { _ in true }.map(\.continuation)
    }

    var nextDeadline: ContinuousClock.Instant? {
        waiters.first?.deadline
    }
}

import Synchronization

/// Counts printed messages across the subscriptions' tasks and stops at an optional limit.
final class MessageCounter: Sendable {
    private let limit: Int?
    private let count = Mutex(0)

    init(limit: Int?) {
        self.limit = limit
    }

    /// Takes a slot for one message; `false` once the limit is reached.
    func claim() -> Bool {
        count.withLock { count in
            if let limit, count >= limit { return false }
            count += 1
            return true
        }
    }

    var claimed: Int { count.withLock { $0 } }

    var isDone: Bool {
        guard let limit else { return false }
        return claimed >= limit
    }
}

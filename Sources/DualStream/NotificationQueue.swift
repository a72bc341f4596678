/// Orders notifications by source and holds them until the Redis sender takes them.
///
/// Each publish reserves a ticket for its source while it holds the publisher's enqueue gate, so
/// tickets follow the order in which records reach the producer, which is their Kafka offset
/// order within the source's partition. A publish then resolves its ticket with a notification
/// (acknowledged) or with `nil` (failed). A notification is released to the send queue only
/// when every earlier ticket of its source is resolved, so one source's notifications leave in
/// offset order even when acknowledgements resume their tasks out of order.
///
/// The send queue is bounded: a notification released into a full queue is dropped and counted.
/// Not thread-safe; the publisher keeps it inside a `Mutex`.
struct NotificationQueue: Sendable {
    struct Item: Sendable {
        var channel: String
        var message: [UInt8]
        var acknowledgedAt: ContinuousClock.Instant
    }

    struct Ticket: Sendable {
        var source: String
        var number: UInt64
    }

    private struct SourceOrder: Sendable {
        var nextTicket: UInt64 = 0
        var nextRelease: UInt64 = 0
        var resolved: [UInt64: Item?] = [:]
    }

    let capacity: Int
    private var sources: [String: SourceOrder] = [:]
    /// FIFO of released items: `items[head...]` are waiting.
    private var items: [Item] = []
    private var head = 0
    private(set) var dropped = 0

    init(capacity: Int) {
        precondition(capacity > 0, "notification queue capacity must be positive, got \(capacity)")
        self.capacity = capacity
    }

    var count: Int { items.count - head }

    /// Tickets reserved and not yet released, over all sources.
    var sourcesWaiting: Int { sources.count }

    mutating func reserve(source: String) -> Ticket {
        let number = sources[source, default: SourceOrder()].nextTicket
        sources[source, default: SourceOrder()].nextTicket = number + 1
        return Ticket(source: source, number: number)
    }

    /// Resolves a ticket and releases every item of its source that no earlier ticket holds back.
    mutating func resolve(_ ticket: Ticket, with item: Item?) {
        guard var order = sources[ticket.source] else {
            assertionFailure("ticket \(ticket.number) resolved for a source with no tickets")
            return
        }
        order.resolved[ticket.number] = .some(item)
        while let next = order.resolved.removeValue(forKey: order.nextRelease) {
            order.nextRelease += 1
            if let next {
                append(next)
            }
        }
        if order.nextRelease == order.nextTicket {
            sources.removeValue(forKey: ticket.source)
        } else {
            sources[ticket.source] = order
        }
    }

    /// Removes and returns up to `limit` items in FIFO order.
    mutating func take(limit: Int) -> [Item] {
        let end = min(items.count, head + limit)
        let taken = Array(items[head..<end])
        head = end
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4_096 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return taken
    }

    /// Empties the queue, counting what it held as dropped, and returns how many that was.
    mutating func dropAll() -> Int {
        let waiting = count
        dropped += waiting
        items.removeAll()
        head = 0
        return waiting
    }

    private mutating func append(_ item: Item) {
        if count >= capacity {
            dropped += 1
            return
        }
        items.append(item)
    }
}

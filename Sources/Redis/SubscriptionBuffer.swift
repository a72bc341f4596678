import Synchronization

/// The bounded event queue between a subscriber's I/O thread and one ``RedisSubscription``.
///
/// Messages are accepted only while fewer than `capacity` events wait. When it is full, the I/O
/// thread stops reading from the server until the listener takes an event and `onSpace` wakes it.
/// Control events (`disconnected`, `resubscribed`) always enter, so they may exceed the capacity.
/// They are merged with the control events at the end of the queue, so a flapping connection
/// adds at most one `disconnected` and one `resubscribed` there.
final class SubscriptionBuffer: Sendable {
    private struct State {
        var events: [RedisSubscriptionEvent] = []
        var head = 0
        var isFinished = false
        var waiter: CheckedContinuation<RedisSubscriptionEvent?, Never>?
        var producerWaitsForSpace = false

        var count: Int { events.count - head }

        mutating func popFirst() -> RedisSubscriptionEvent? {
            guard head < events.count else { return nil }
            let event = events[head]
            head += 1
            if head == events.count {
                events.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= events.count {
                events.removeFirst(head)
                head = 0
            }
            return event
        }

        /// Appends a control event, merging it into the control events at the end, so a
        /// listener that reads nothing while the connection flaps keeps at most one
        /// `disconnected` and one `resubscribed` after its messages.
        mutating func appendControl(_ event: RedisSubscriptionEvent) {
            let last = events.count - 1
            switch event {
            case .disconnected:
                if count >= 1, case .disconnected = events[last] {
                    events[last] = event
                    return
                }
                if count >= 2, case .resubscribed = events[last], case .disconnected = events[last - 1] {
                    events.removeLast()
                    events[last - 1] = event
                    return
                }
            case .resubscribed:
                if count >= 1, case .resubscribed = events[last] {
                    return
                }
            case .message:
                break
            }
            events.append(event)
        }
    }

    let capacity: Int
    private let state = Mutex(State())
    private let onSpace: @Sendable () -> Void

    init(capacity: Int, onSpace: @escaping @Sendable () -> Void) {
        self.capacity = max(capacity, 1)
        self.onSpace = onSpace
    }

    var count: Int { state.withLock { $0.count } }
    var isFinished: Bool { state.withLock { $0.isFinished } }

    /// Offers a message; returns false when the buffer is full (the message was not taken).
    func offerMessage(_ event: RedisSubscriptionEvent) -> Bool {
        let (accepted, waiter) = state.withLock {
            state -> (Bool, CheckedContinuation<RedisSubscriptionEvent?, Never>?) in
            if state.isFinished { return (true, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            guard state.count < capacity else {
                state.producerWaitsForSpace = true
                return (false, nil)
            }
            state.events.append(event)
            return (true, nil)
        }
        waiter?.resume(returning: event)
        return accepted
    }

    /// Adds a control event regardless of the capacity.
    func pushControl(_ event: RedisSubscriptionEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<RedisSubscriptionEvent?, Never>? in
            if state.isFinished { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.appendControl(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// Ends the sequence after the events already buffered.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<RedisSubscriptionEvent?, Never>? in
            state.isFinished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Returns the next event, waiting for one; nil once finished and drained, or when the
    /// calling task is cancelled.
    func next() async -> RedisSubscriptionEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<RedisSubscriptionEvent?, Never>) in
                let (immediate, wakeProducer) = state.withLock { state -> (RedisSubscriptionEvent??, Bool) in
                    if let event = state.popFirst() {
                        let wake = state.producerWaitsForSpace && state.count < capacity
                        if wake { state.producerWaitsForSpace = false }
                        return (.some(event), wake)
                    }
                    if state.isFinished || Task.isCancelled {
                        return (.some(nil), false)
                    }
                    state.waiter = continuation
                    return (nil, false)
                }
                if wakeProducer {
                    onSpace()
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<RedisSubscriptionEvent?, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

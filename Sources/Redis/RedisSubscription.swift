/// Events of one subscribe call: messages for its channels, patterns or shard channels, and
/// connection changes. Iterate it with `for await`.
///
/// Each subscription buffers at most ``RedisConfiguration/subscriptionBufferCapacity`` messages.
/// When a listener falls that far behind, the subscriber stops reading from the server instead of
/// dropping messages, which pauses every subscription of that ``RedisSubscriber``. The pause is
/// bounded, so memory stays bounded by the buffer capacities:
/// - If the buffer is still full after ``RedisConfiguration/subscriptionStallTimeout``, the
///   subscription gets its buffered messages, then ``RedisSubscriptionEvent/disconnected(_:)``
///   with ``RedisError/Code/queueFull``, and then its iteration ends. The others resume.
/// - If the server closes the connection during the pause (for example through its
///   `client-output-buffer-limit pubsub`), every subscription gets
///   ``RedisSubscriptionEvent/disconnected(_:)`` and, after the reconnect,
///   ``RedisSubscriptionEvent/resubscribed``. Messages the server sent but the subscriber had not
///   read yet are lost, like messages published while disconnected.
///
/// The subscription ends, and its names are unsubscribed on the server when no other
/// subscription uses them, when ``cancel()`` is called, when the iterating task is cancelled,
/// or when the subscription is deinitialized.
public final class RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisSubscriptionEvent

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: RedisSubscription

        public mutating func next() async -> RedisSubscriptionEvent? {
            let event = await subscription.buffer.next()
            if event == nil {
                subscription.cancel()
            }
            return event
        }
    }

    let id: UInt64
    let buffer: SubscriptionBuffer
    private let core: RedisSubscriberCore

    init(id: UInt64, buffer: SubscriptionBuffer, core: RedisSubscriberCore) {
        self.id = id
        self.buffer = buffer
        self.core = core
    }

    deinit {
        core.removeListener(id)
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscription: self)
    }

    /// Events waiting to be taken, at most the capacity plus a few control events.
    public var bufferedEventCount: Int { buffer.count }

    /// Messages buffered at most before the subscriber stops reading.
    public var capacity: Int { buffer.capacity }

    /// Ends the subscription: iteration finishes after the buffered events, and names that no
    /// other subscription uses are unsubscribed on the server. Idempotent.
    public func cancel() {
        core.removeListener(id)
    }
}

import DualStreamLogging

/// A dedicated Redis connection for SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE.
///
/// Local subscriptions share server subscriptions: a name is subscribed on the server for its
/// first ``RedisSubscription`` and unsubscribed after its last one ends. While subscribed the
/// subscriber sends PING after ``RedisConfiguration/healthCheckInterval`` without traffic and
/// reconnects when no reply comes within ``RedisConfiguration/healthCheckTimeout``. After every
/// reconnect it authenticates, then subscribes every channel, pattern and shard channel again
/// in batches of ``RedisConfiguration/resubscribeBatchSize`` names, and sends
/// ``RedisSubscriptionEvent/resubscribed`` to every subscription once all are confirmed.
/// Pub/Sub is not scoped by database, so no SELECT is sent. When the server rejects AUTH,
/// subscribe calls fail with ``RedisError/Code/authenticationFailed`` and the subscriber retries
/// only after ``RedisConfiguration/reconnectBackoffMaximum``.
public final class RedisSubscriber: Sendable {
    private let core: RedisSubscriberCore

    public init(configuration: RedisConfiguration, logger: Logger = .silent) {
        core = RedisSubscriberCore(configuration: configuration, logger: logger)
        core.startIOThread()
    }

    deinit {
        core.requestClose()
    }

    /// Subscribes to channels and returns once the server confirmed every name not already
    /// subscribed by another subscription. A denied channel throws ``RedisError/Code/serverError``
    /// with the server's `NOPERM` message; the subscriber does not retry it. While the server is
    /// unreachable the call waits up to ``RedisConfiguration/maxWaitWhileDisconnected``, then
    /// throws ``RedisError/Code/notConnected``. A subscription that threw was not registered and
    /// is not subscribed after a reconnect, so call `subscribe` again.
    public func subscribe(channels: [[UInt8]]) async throws(RedisError) -> RedisSubscription {
        try await core.subscribe(kind: .channel, names: channels)
    }

    /// Subscribes to glob-style patterns; messages arrive as ``RedisPubSubMessage/Kind/pmessage``.
    public func psubscribe(patterns: [[UInt8]]) async throws(RedisError) -> RedisSubscription {
        try await core.subscribe(kind: .pattern, names: patterns)
    }

    /// Subscribes to shard channels (Redis 7); messages arrive as
    /// ``RedisPubSubMessage/Kind/smessage``.
    public func ssubscribe(shardChannels: [[UInt8]]) async throws(RedisError) -> RedisSubscription {
        try await core.subscribe(kind: .shardChannel, names: shardChannels)
    }

    /// Ends every subscription, closes the connection and waits for the I/O thread to end.
    public func close() async {
        await core.close()
    }
}

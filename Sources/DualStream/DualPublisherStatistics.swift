/// Counters and latencies of a ``DualPublisher`` since it was created.
public struct DualPublisherStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Events rejected by validation before reaching Kafka.
    public var rejected = 0
    /// Events Kafka acknowledged.
    public var kafkaAcknowledged = 0
    /// Events Kafka failed to acknowledge (enqueue or delivery failures).
    public var kafkaFailed = 0
    /// Notifications Redis accepted (a PUBLISH reply, whatever the subscriber count).
    public var redisSent = 0
    /// Notifications Redis failed to publish: not connected, timed out or an error reply.
    public var redisFailed = 0
    /// Notifications dropped because the queue was full or the publisher closed before sending them.
    public var redisDropped = 0
    /// Notifications waiting to be sent now.
    public var queueDepth = 0
    /// Notifications sent to Redis in a pipeline whose replies have not arrived yet. With Redis
    /// enabled and no publish call in progress, `redisSent + redisFailed + redisDropped +
    /// queueDepth + redisInFlight` equals `kafkaAcknowledged`. During concurrent calls, a
    /// notification whose ticket waits for an earlier event is in none of these counts.
    public var redisInFlight = 0
    /// Time from handing a record to the producer to its acknowledgement.
    public var kafkaAckLatencyP50: Duration?
    public var kafkaAckLatencyP99: Duration?
    /// Time from a Kafka acknowledgement to the Redis reply for its notification.
    public var notificationLatencyP50: Duration?
    public var notificationLatencyP99: Duration?

    public init() {}

    public var description: String {
        "kafka acknowledged \(kafkaAcknowledged), failed \(kafkaFailed); rejected \(rejected); "
            + "redis sent \(redisSent), failed \(redisFailed), dropped \(redisDropped), "
            + "queued \(queueDepth), in flight \(redisInFlight)"
    }
}

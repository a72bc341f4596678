import DualStreamLogging
import Kafka
import Redis
import Synchronization

/// Publishes events to Kafka and, once Kafka acknowledges them, notifications to Redis Pub/Sub.
///
/// Kafka is the critical path: a publish returns when Kafka acknowledged the event and throws
/// when it did not, and then no notification is sent. Redis is best effort: notifications go into
/// a bounded queue that a background task sends in pipelines, so a slow, stopped or absent Redis
/// never slows or fails a publish. Redis failures are counted in ``statistics`` and logged as
/// rate-limited warnings. The notifications of one source leave in Kafka offset order (see
/// ``NotificationQueue``).
///
/// The publisher owns both clients and closes them in ``close()``, which every user must call:
/// the background sender keeps the publisher alive until then.
public final class DualPublisher: Sendable {
    struct State: Sendable {
        var queue: NotificationQueue
        /// The sender, suspended until notifications arrive or the publisher closes.
        var waitingSender: UnsafeContinuation<Void, Never>?
        var isClosed = false
        var senderStopping = false
        var senderFinished = false
        var statistics = DualPublisherStatistics()
        var kafkaLatency = LatencyHistogram()
        var notificationLatency = LatencyHistogram()
    }

    public let configuration: DualPublisherConfiguration
    let producer: KafkaProducer
    let redis: RedisClient?
    let logger: Logger
    let redisWarnings = LogRateLimiter(interval: .seconds(10), burst: 3)
    let gate = AsyncGate()
    let state: Mutex<State>
    private let sender = Mutex<Task<Void, Never>?>(nil)

    /// Creates a publisher over existing clients; pass `redis: nil` to publish to Kafka only.
    public init(
        producer: KafkaProducer, redis: RedisClient?, configuration: DualPublisherConfiguration,
        logger: Logger = .silent
    ) {
        self.configuration = configuration
        self.producer = producer
        self.redis = redis
        self.logger = logger
        self.state = Mutex(State(queue: NotificationQueue(capacity: configuration.notificationQueueCapacity)))
        if let redis {
            let task = Task { [self] in await self.runSender(redis: redis) }
            sender.withLock { $0 = task }
        } else {
            state.withLock { $0.senderFinished = true }
        }
        logger.debug(
            "dual publisher started",
            metadata: ["kafka.topic": "\(configuration.topic)", "redis.enabled": "\(redis != nil)"])
    }

    /// Creates the Kafka producer and the Redis client from their configurations.
    public convenience init(
        kafka: KafkaProducerConfiguration, redis: RedisConfiguration?,
        configuration: DualPublisherConfiguration, logger: Logger = .silent
    ) throws(DualStreamError) {
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(configuration: kafka, logger: logger)
        } catch {
            throw DualStreamError(.kafkaFailed(error), "cannot create the Kafka producer: \(error)")
        }
        let client = redis.map { RedisClient(configuration: $0, logger: logger) }
        self.init(producer: producer, redis: client, configuration: configuration, logger: logger)
    }

    /// A snapshot of the counters and latencies.
    public var statistics: DualPublisherStatistics {
        state.withLock { state in
            var snapshot = state.statistics
            snapshot.redisDropped = state.queue.dropped
            snapshot.queueDepth = state.queue.count
            snapshot.kafkaAckLatencyP50 = state.kafkaLatency.percentile(0.50)
            snapshot.kafkaAckLatencyP99 = state.kafkaLatency.percentile(0.99)
            snapshot.notificationLatencyP50 = state.notificationLatency.percentile(0.50)
            snapshot.notificationLatencyP99 = state.notificationLatency.percentile(0.99)
            return snapshot
        }
    }

    /// Publishes one event: Kafka first, awaited; then its notification is queued for Redis.
    ///
    /// - Returns: where Kafka stored the event.
    /// - Throws: ``DualStreamError`` when the event is invalid, the publisher is closed or Kafka
    ///   did not acknowledge the event. No notification is sent in those cases.
    @discardableResult
    public func publish(_ event: Event) async throws(DualStreamError) -> RecordMetadata {
        try await publishBatch([event])[0].get()
    }

    /// Publishes events as one Kafka batch (every record is handed to the producer before any is
    /// awaited), then queues the notifications of the acknowledged ones together, so the sender
    /// pipelines them.
    ///
    /// - Returns: one result for each event, in the order of `events`.
    public func publishBatch(_ events: [Event]) async -> [Result<RecordMetadata, DualStreamError>] {
        var results = [Result<RecordMetadata, DualStreamError>?](repeating: nil, count: events.count)
        var channels = [String?](repeating: nil, count: events.count)
        var rejected = 0
        for (index, event) in events.enumerated() {
            do {
                channels[index] = try event.validatedChannel()
            } catch {
                results[index] = .failure(error)
                rejected += 1
            }
        }
        let isClosed = state.withLock { state in
            state.statistics.rejected += rejected
            return state.isClosed
        }
        if isClosed {
            return events.indices.map { index in
                results[index] ?? .failure(.closed(eventID: events[index].id))
            }
        }

        let pending = await enqueue(events, channels: channels, results: &results)
        await complete(events, pending: pending, results: &results)
        return results.map { $0! }
    }

    /// Stops accepting events, lets the producer deliver what it holds, then waits up to
    /// ``DualPublisherConfiguration/closeTimeout`` for queued notifications to reach Redis.
    /// Notifications still queued after that are dropped and counted. Idempotent.
    public func close() async {
        let wasClosed = state.withLock { state in
            let wasClosed = state.isClosed
            state.isClosed = true
            return wasClosed
        }
        if wasClosed { return }
        await producer.close(timeout: configuration.kafkaCloseTimeout)

        let waiter = state.withLock { state in
            state.senderStopping = true
            return state.waitingSender.take()
        }
        waiter?.resume()
        let deadline = ContinuousClock.now + configuration.closeTimeout
        while !state.withLock({ $0.senderFinished }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let dropped = state.withLock { state in
            state.senderFinished ? 0 : state.queue.dropAll()
        }
        if dropped > 0 {
            logger.warning(
                "notifications dropped at close",
                metadata: ["redis.dropped": "\(dropped)", "timeout": "\(configuration.closeTimeout)"])
        }
        sender.withLock { $0 }?.cancel()
        await redis?.close()
        logger.debug("dual publisher closed", metadata: ["statistics": "\(statistics)"])
    }
}

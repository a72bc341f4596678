import DualStream
import FakeKafka
import Kafka
import Redis
import SocketTransport
import TestSupport
import Testing

@Suite(.serialized) struct DualPublisherStatisticsTests {
    /// A loopback listener that never accepts or replies: the kernel completes the connection, so
    /// the pipeline is written and its replies never arrive within the command timeout.
    @Test func unansweredPipelineCountsAsInFlight() async throws {
        let cluster = try FakeKafkaCluster()
        try cluster.createTopic("events", partitions: 2)
        let silentRedis = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        defer { silentRedis.close() }
        var redis = redisConfiguration(port: silentRedis.port)
        redis.commandTimeout = .seconds(10)
        var configuration = DualPublisherConfiguration(topic: "events")
        configuration.closeTimeout = .milliseconds(100)
        let publisher = try DualPublisher(
            kafka: kafkaConfiguration(cluster), redis: redis, configuration: configuration)

        let results = await publisher.publishBatch((0..<20).map { event($0, source: "s\($0 % 3)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        // The sender takes the queued notifications as one pipeline shortly after the batch.
        let deadline = ContinuousClock.now + .seconds(5)
        while publisher.statistics.queueDepth > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let statistics = publisher.statistics
        await publisher.close()

        #expect(statistics.kafkaAcknowledged == 20)
        #expect(statistics.queueDepth == 0)
        #expect(statistics.redisSent == 0)
        #expect(statistics.redisInFlight == 20, "\(statistics)")
        let accounted = statistics.redisSent + statistics.redisFailed + statistics.redisDropped
            + statistics.queueDepth + statistics.redisInFlight
        #expect(accounted == statistics.kafkaAcknowledged, "\(statistics)")
    }

    @Test func answeredNotificationsLeaveNothingInFlight() async throws {
        let cluster = try FakeKafkaCluster()
        try cluster.createTopic("events", partitions: 2)
        let redis = RedisServerProcess()
        try redis.start()
        defer { redis.stop() }
        let publisher = try DualPublisher(
            kafka: kafkaConfiguration(cluster), redis: redisConfiguration(port: redis.port),
            configuration: DualPublisherConfiguration(topic: "events"))

        _ = await publisher.publishBatch((0..<50).map { event($0) })
        let early = publisher.statistics
        await publisher.close()
        let final = publisher.statistics

        let earlyAccounted = early.redisSent + early.redisFailed + early.redisDropped + early.queueDepth
            + early.redisInFlight
        #expect(earlyAccounted == early.kafkaAcknowledged, "\(early)")
        #expect(final.redisSent == 50, "\(final)")
        #expect(final.redisInFlight == 0, "\(final)")
    }
}

import DualStream
import DualStreamLogging
import FakeKafka
import Foundation
import Kafka
import Redis
import TestSupport
import Testing

@Suite(.serialized) struct DualPublisherTests {
    /// Creates a fake cluster with the topic "events".
    static func eventsCluster(partitions: Int32) throws -> FakeKafkaCluster {
        let cluster = try FakeKafkaCluster()
        try cluster.createTopic("events", partitions: partitions)
        return cluster
    }

    /// Starts a redis-server, which the caller stops.
    static func startedRedis() throws -> RedisServerProcess {
        let redis = RedisServerProcess()
        try redis.start()
        return redis
    }

    /// Creates a publisher to the topic "events" of `cluster` that notifies the Redis server on
    /// `redisPort`, or sends no notifications when `redisPort` is nil.
    static func makePublisher(
        _ cluster: FakeKafkaCluster, redisPort: Int?,
        configuration: DualPublisherConfiguration = DualPublisherConfiguration(topic: "events"),
        logger: Logger = .silent
    ) throws -> DualPublisher {
        try DualPublisher(
            kafka: kafkaConfiguration(cluster), redis: redisPort.map { redisConfiguration(port: $0) },
            configuration: configuration, logger: logger)
    }

    @Test func acknowledgedEventSendsNotification() async throws {
        let cluster = try Self.eventsCluster(partitions: 3)
        let redis = try Self.startedRedis()
        defer { redis.stop() }
        let collector = try await NotificationCollector(port: redis.port)
        let publisher = try Self.makePublisher(cluster, redisPort: redis.port)

        let metadata = try await publisher.publish(event(7, source: "octo/hello*world"))
        let messages = await collector.waitFor(1)
        await publisher.close()
        await collector.close()

        let message = try #require(messages.first)
        #expect(String(decoding: message.channel, as: UTF8.self) == "events:repo:octo/hello%2Aworld")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
        #expect(object["id"] as? String == "event-7")
        #expect(object["source_id"] as? String == "octo/hello*world")
        #expect(object["partition"] as? Int == Int(metadata.partition))
        #expect(object["offset"] as? Int == Int(metadata.offset))
        #expect(object["payload"] == nil)

        let records = try cluster.records(topic: "events", partition: metadata.partition)
        let record = try #require(records.first)
        #expect(record.key == Array("octo/hello*world".utf8))
        #expect(record.value == Array("{\"n\":7}".utf8))
        #expect(record.headers.contains(FakeKafkaHeader(key: "event-id", value: Array("event-7".utf8))))
        #expect(record.headers.contains(FakeKafkaHeader(key: "event-type", value: Array("PushEvent".utf8))))
        let statistics = publisher.statistics
        #expect(statistics.kafkaAcknowledged == 1)
        #expect(statistics.redisSent == 1)
        #expect(statistics.kafkaAckLatencyP50 != nil)
    }

    @Test func kafkaFailureThrowsAndSendsNoNotification() async throws {
        let cluster = try Self.eventsCluster(partitions: 1)
        let redis = try Self.startedRedis()
        defer { redis.stop() }
        let collector = try await NotificationCollector(port: redis.port)
        let publisher = try Self.makePublisher(cluster, redisPort: redis.port)
        // Warm up the connection so the fault hits the event under test.
        try await publisher.publish(event(0))
        _ = await collector.waitFor(1)
        cluster.inject(FakeKafkaFault(.error(FakeKafkaErrorCode.invalidRecord), apiKey: .produce, count: 100))

        let error = await #expect(throws: DualStreamError.self) {
            try await publisher.publish(event(1))
        }
        #expect(error?.kafkaError != nil)
        #expect(error?.message.contains("event-1") == true)
        try? await Task.sleep(for: .milliseconds(300))
        await publisher.close()
        await collector.close()

        #expect(collector.received.count == 1, "a notification was sent for the failed event")
        let statistics = publisher.statistics
        #expect(statistics.kafkaAcknowledged == 1)
        #expect(statistics.kafkaFailed == 1)
        #expect(statistics.redisSent == 1)
    }

    @Test func invalidEventIsRejectedBeforeKafka() async throws {
        let cluster = try Self.eventsCluster(partitions: 1)
        let publisher = try Self.makePublisher(cluster, redisPort: nil)
        var bad = event(1)
        bad.sourceType = "re*po"
        let results = await publisher.publishBatch([event(0), bad, event(2)])
        await publisher.close()
        #expect((try? results[0].get()) != nil)
        #expect((try? results[2].get()) != nil)
        guard case .failure(let error) = results[1] else {
            Issue.record("invalid event was published")
            return
        }
        #expect(error.isInvalidEvent)
        #expect(try cluster.records(topic: "events", partition: 0).count == 2)
        #expect(publisher.statistics.rejected == 1)
    }

    @Test func redisUnavailableIsCountedNotThrown() async throws {
        let cluster = try Self.eventsCluster(partitions: 2)
        let handler = RecordingLogHandler()
        var configuration = DualPublisherConfiguration(topic: "events")
        configuration.closeTimeout = .seconds(2)
        let publisher = try Self.makePublisher(
            cluster, redisPort: try FreePort.allocate(), configuration: configuration, logger: handler.logger)

        let results = await publisher.publishBatch((0..<200).map { event($0, source: "s\($0 % 5)") })
        await publisher.close()

        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let statistics = publisher.statistics
        #expect(statistics.kafkaAcknowledged == 200)
        #expect(statistics.redisSent == 0)
        #expect(statistics.redisFailed + statistics.redisDropped == 200)
        #expect(statistics.redisFailed > 0)
        let warnings = handler.records.filter {
            $0.level == .warning && $0.message.contains("Redis notification failed")
        }
        #expect(!warnings.isEmpty)
        #expect(warnings.count <= 3, "\(warnings.count) warnings for one outage")
        #expect(warnings.first?.metadata["redis.channel"] != nil)
        #expect(warnings.first?.metadata["error"] != nil)
    }

    @Test func concurrentPublishersKeepOffsetOrderPerSource() async throws {
        let cluster = try Self.eventsCluster(partitions: 2)
        let redis = try Self.startedRedis()
        defer { redis.stop() }
        let collector = try await NotificationCollector(port: redis.port)
        let publisher = try Self.makePublisher(cluster, redisPort: redis.port)

        let tasks = 8
        let perTask = 60
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        let number = task * perTask + index
                        if index % 3 == 0 {
                            _ = await publisher.publishBatch([event(number, source: "s\(number % 4)")])
                        } else {
                            _ = try? await publisher.publish(event(number, source: "s\(number % 4)"))
                        }
                    }
                }
            }
        }
        let messages = await collector.waitFor(tasks * perTask)
        await publisher.close()
        await collector.close()

        #expect(messages.count == tasks * perTask)
        var lastOffset: [String: Int] = [:]
        for message in messages {
            let channel = String(decoding: message.channel, as: UTF8.self)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
            let offset = try #require(object["offset"] as? Int)
            if let previous = lastOffset[channel] {
                #expect(previous < offset, "\(channel): offset \(offset) after \(previous)")
            }
            lastOffset[channel] = offset
        }
        #expect(lastOffset.count == 4)
    }

    @Test func stoppedRedisFillsQueueWithoutBlockingKafka() async throws {
        let cluster = try Self.eventsCluster(partitions: 1)
        let redis = try Self.startedRedis()
        defer { redis.stop() }
        var configuration = DualPublisherConfiguration(topic: "events")
        configuration.notificationQueueCapacity = 50
        configuration.closeTimeout = .milliseconds(500)
        let publisher = try Self.makePublisher(cluster, redisPort: redis.port, configuration: configuration)
        try await publisher.publish(event(0))
        redis.pause()
        defer { redis.resume() }

        let started = ContinuousClock.now
        for batch in 0..<10 {
            let results = await publisher.publishBatch((0..<50).map { event(1 + batch * 50 + $0) })
            #expect(results.allSatisfy { (try? $0.get()) != nil })
        }
        let publishing = ContinuousClock.now - started
        let closeStarted = ContinuousClock.now
        await publisher.close()
        let closing = ContinuousClock.now - closeStarted

        let statistics = publisher.statistics
        #expect(statistics.kafkaAcknowledged == 501)
        #expect(statistics.redisDropped >= 400, "dropped \(statistics.redisDropped)")
        #expect(statistics.queueDepth == 0)
        // The Redis command timeout is 2 s; publishing must not have waited for it.
        #expect(publishing < .seconds(2), "publishing took \(publishing) while Redis was stopped")
        #expect(closing < .seconds(5), "close took \(closing)")
    }

    @Test func closeDeliversQueuedNotifications() async throws {
        let cluster = try Self.eventsCluster(partitions: 3)
        let redis = try Self.startedRedis()
        defer { redis.stop() }
        let collector = try await NotificationCollector(port: redis.port)
        let publisher = try Self.makePublisher(cluster, redisPort: redis.port)
        _ = await publisher.publishBatch((0..<2_000).map { event($0, source: "s\($0 % 17)") })
        await publisher.close()
        #expect(publisher.statistics.redisSent == 2_000)
        #expect(await collector.waitFor(2_000).count == 2_000)
        await collector.close()
    }

    @Test func publishAfterCloseThrowsClosed() async throws {
        let cluster = try Self.eventsCluster(partitions: 1)
        let publisher = try Self.makePublisher(cluster, redisPort: nil)
        await publisher.close()
        let error = await #expect(throws: DualStreamError.self) { try await publisher.publish(event(1)) }
        #expect(error?.isClosed == true)
        #expect(try cluster.records(topic: "events", partition: 0).isEmpty)
    }
}

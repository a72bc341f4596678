import FakeKafka
import KafkaWire
import Synchronization
import Testing
@testable import Kafka

/// Metadata responses with repeated or missing partition ids, topics dropped from Metadata
/// requests after metadataMaxIdle, and brokers that support no Produce version of ours.
@Suite("Producer metadata topics", .serialized)
struct ProducerMetadataTopicsTests {
    @Test(.timeLimit(.minutes(1)))
    func repeatedPartitionIDsCountOnce() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("dups", partitions: 3)
        cluster.setMetadataPartitionIDs(topic: "dups", [0, 1, 1, 2, 2, 0])
        let counts = Mutex<Set<Int32>>([])
        var configuration = testConfiguration(cluster)
        configuration.deliveryTimeout = .seconds(3)
        configuration.partitioner = .custom { _, key, count in
            counts.withLock { _ = $0.insert(count) }
            return Int32(Murmur2.partition(forKey: key ?? [], partitionCount: Int(count)))
        }
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        for index in 0..<12 {
            let metadata = try await producer.send(record("dups", index, partition: nil))
            #expect(metadata.partition < 3)
        }
        await producer.close(timeout: .seconds(1))
        #expect(counts.withLock { $0 } == [3])
    }

    @Test(.timeLimit(.minutes(1)))
    func partitionIDGapIsRejected() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("holes", partitions: 3)
        cluster.setMetadataPartitionIDs(topic: "holes", [0, 2])
        var configuration = testConfiguration(cluster)
        configuration.maxBlock = .milliseconds(800)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        await #expect {
            _ = try await producer.send(record("holes", 0))
        } throws: { error in
            let failure = try #require(error as? KafkaProducerError)
            return failure.code == .unknownTopic && failure.message.contains("partition ids [0, 2]")
                && failure.message.contains("without gaps")
        }
        cluster.setMetadataPartitionIDs(topic: "holes", nil)
        let metadata = try await producer.send(record("holes", 1, partition: 2))
        await producer.close(timeout: .seconds(1))
        #expect(metadata.partition == 2)
    }

    /// Sends a record to "busy" every 50 ms for `duration`, so that only that topic stays in use.
    static func sendToBusyTopic(_ producer: KafkaProducer, for duration: Duration) async throws {
        let start = ContinuousClock.now
        var index = 0
        while ContinuousClock.now - start < duration {
            _ = try await producer.send(record("busy", index))
            index += 1
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func idleTopicLeavesMetadataRequests() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("quiet", partitions: 1)
        try cluster.createTopic("busy", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.metadataMaxIdle = .milliseconds(300)
        configuration.metadataMaxAge = .milliseconds(100)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        _ = try await producer.send(record("quiet", 0))
        try await Self.sendToBusyTopic(producer, for: .milliseconds(900))
        let before = cluster.requests(apiKey: .metadata).compactMap(\.metadataTopics)
        #expect(before.first { $0.contains("quiet") } != nil)
        #expect(before.last == ["busy"])

        // The next record for the dropped topic fetches its metadata again.
        let metadata = try await producer.send(record("quiet", 1))
        await producer.close(timeout: .seconds(1))
        #expect(metadata.offset == 1)
        let after = cluster.requests(apiKey: .metadata).compactMap(\.metadataTopics).dropFirst(before.count)
        #expect(after.contains { $0.contains("quiet") })
    }

    @Test(.timeLimit(.minutes(1)))
    func missingTopicLeavesMetadataRequests() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("busy", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.metadataMaxIdle = .milliseconds(300)
        configuration.metadataMaxAge = .milliseconds(100)
        configuration.maxBlock = .milliseconds(200)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        await #expect(throws: KafkaProducerError.self) {
            _ = try await producer.send(record("ghost", 0))
        }
        try await Self.sendToBusyTopic(producer, for: .milliseconds(900))
        await producer.close(timeout: .seconds(1))
        let requested = cluster.requests(apiKey: .metadata).compactMap(\.metadataTopics)
        #expect(requested.contains { $0.contains("ghost") })
        #expect(requested.last == ["busy"])
    }

    @Test(.timeLimit(.minutes(1)))
    func brokerWithoutProduceVersionFailsRecords() async throws {
        var fakeConfiguration = FakeKafkaConfiguration()
        fakeConfiguration.advertisedProduceVersions = 0...2
        let cluster = try FakeKafkaCluster(configuration: fakeConfiguration)
        defer { cluster.shutdown() }
        try cluster.createTopic("old", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.deliveryTimeout = .seconds(3)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        let start = ContinuousClock.now
        await #expect {
            _ = try await producer.send(record("old", 0))
        } throws: { error in
            let failure = try #require(error as? KafkaProducerError)
            return failure.code == .unsupportedVersion && !failure.mayHavePersisted
                && failure.message.contains("broker 1") && failure.message.contains("Produce versions 0 to 2")
                && failure.message.contains("from 3 to 12")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        await producer.close(timeout: .seconds(1))
        #expect(cluster.requestCount(apiKey: .produce) == 0)
    }
}

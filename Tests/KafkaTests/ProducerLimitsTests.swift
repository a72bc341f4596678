import FakeKafka
@testable import Kafka
import Testing
import TestSupport

@Suite("Producer limits and protocol choices", .serialized)
struct ProducerLimitsTests {
    @Test func recordLargerThanBatchSizeIsRejectedBeforeSending() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("large", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.batchSize = 16_384
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        do {
            _ = try await producer.enqueue(record("large", 1, size: 20_000))
            Issue.record("a 20 KB record was accepted with batchSize 16384")
        } catch {
            #expect(error.code == .recordTooLarge)
            #expect(!error.mayHavePersisted)
            // 20,007-byte value and 5-byte key: a 20,023-byte record plus the 61-byte batch header.
            #expect(error.recordSize == 20_084)
            #expect(error.limit == 16_384)
            #expect(error.description.contains("20084"), "names the size: \(error)")
            #expect(error.description.contains("batchSize 16384"), "names the limit: \(error)")
        }
        await producer.close(timeout: .seconds(1))
        #expect(cluster.requestCount(apiKey: .produce) == 0)
    }

    @Test func recordLargerThanMaxRequestSizeIsRejected() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("large", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.maxRequestSize = 10_000
        configuration.batchSize = 10_000
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        await #expect(throws: KafkaProducerError.self) {
            _ = try await producer.enqueue(record("large", 1, size: 12_000))
        }
        await producer.close(timeout: .seconds(1))
        #expect(cluster.requestCount(apiKey: .produce) == 0)
    }

    @Test func messageTooLargeSplitsBatchAndFailsSingleRecord() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("split", partitions: 1, maxMessageBytes: 2_000)
        var configuration = testConfiguration(cluster)
        configuration.linger = .milliseconds(50)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        var handles = [DeliveryHandle]()
        for index in 0..<12 {
            handles.append(try await producer.enqueue(record("split", index, size: 400)))
        }
        for handle in handles {
            let result = await handle.result()
            #expect(throws: Never.self) { try result.get() }
        }
        let rejected = cluster.producedBatches().filter { $0.errorCode == FakeKafkaErrorCode.messageTooLarge }
        #expect(!rejected.isEmpty, "the first batch exceeded max.message.bytes")
        let log = try cluster.records(topic: "split", partition: 0)
        #expect(log.compactMap { recordIndex($0.value) } == Array(0..<12), "split parts keep the order")

        // One record above max.message.bytes cannot be split: it fails, and was not written.
        do {
            _ = try await producer.send(record("split", 99, size: 3_000))
            Issue.record("a record above max.message.bytes succeeded")
        } catch {
            #expect(error.brokerErrorCode?.rawValue == FakeKafkaErrorCode.messageTooLarge)
            #expect(!error.mayHavePersisted)
        }
        await producer.close(timeout: .seconds(1))
    }

    @Test func acksZeroNeverWaitsForResponse() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("fire", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.acks = .none
        configuration.enableIdempotence = false
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        for index in 0..<20 {
            let metadata = try await producer.send(record("fire", index))
            #expect(metadata.offset == -1, "acks=0 gives no offset")
        }
        await producer.close(timeout: .seconds(1))
        let produced = cluster.requests(apiKey: .produce)
        #expect(!produced.isEmpty)
        #expect(produced.allSatisfy { $0.produce?.acks == 0 })
        let stored = try await waitForRecords(cluster, topic: "fire", count: 20)
        #expect(stored.compactMap { recordIndex($0.value) } == Array(0..<20))
    }

    @Test func apiVersionsFallsBackToBrokerMaximum() async throws {
        var fakeConfiguration = FakeKafkaConfiguration(brokerCount: 1)
        fakeConfiguration.apiVersionsVersions = 0...2
        let cluster = try FakeKafkaCluster(configuration: fakeConfiguration)
        defer { cluster.shutdown() }
        try cluster.createTopic("versions", partitions: 1)
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("versions", 1))
        await producer.close(timeout: .seconds(1))
        let versions = cluster.requests(apiKey: .apiVersions).map(\.apiVersion)
        #expect(Array(versions.prefix(2)) == [3, 2], "v3 refused, then the broker's maximum v2: \(versions)")
    }

    @Test func produceVersionIsCappedByBroker() async throws {
        var fakeConfiguration = FakeKafkaConfiguration(brokerCount: 1)
        fakeConfiguration.produceVersions = 3...7
        fakeConfiguration.metadataVersions = 1...5
        let cluster = try FakeKafkaCluster(configuration: fakeConfiguration)
        defer { cluster.shutdown() }
        try cluster.createTopic("old", partitions: 1)
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("old", 1))
        await producer.close(timeout: .seconds(1))
        #expect(cluster.requests(apiKey: .produce).map(\.apiVersion) == [7])
        #expect(cluster.requests(apiKey: .metadata).allSatisfy { $0.apiVersion == 5 })
    }

    @Test func fakeValidatesCRCAndSequencesOfEveryBatch() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
        defer { cluster.shutdown() }
        try cluster.createTopic("valid", partitions: 6)
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        var handles = [DeliveryHandle]()
        for index in 0..<3_000 {
            handles.append(try await producer.enqueue(record("valid", index, partition: nil, size: index % 300)))
        }
        for handle in handles { _ = try await handle.result().get() }
        await producer.close(timeout: .seconds(1))
        let batches = cluster.producedBatches()
        #expect(batches.allSatisfy { $0.errorCode == 0 }, "\(batches.filter { $0.errorCode != 0 }.prefix(3))")
        #expect(batches.reduce(0) { $0 + $1.batch.records.count } == 3_000)
        #expect(cluster.problems().isEmpty, "\(cluster.problems())")
        #expect(Set(batches.compactMap(\.batch.producerID)).count == 1, "one producer id for all batches")
        for broker in cluster.brokerIDs {
            #expect(cluster.acceptedConnectionCount(broker: broker) == 1, "one connection to broker \(broker)")
        }
    }

    @Test func unknownTopicFailsAfterMaxBlock() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        var configuration = testConfiguration(cluster)
        configuration.maxBlock = .milliseconds(300)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        let start = ContinuousClock.now
        do {
            _ = try await producer.enqueue(record("missing-topic", 1))
            Issue.record("a record for a topic that does not exist was accepted")
        } catch {
            #expect(error.description.contains("missing-topic"), "\(error)")
            #expect(!error.mayHavePersisted)
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(2))
        #expect(cluster.requestCount(apiKey: .metadata) >= 2, "metadata retried while waiting")
        await producer.close(timeout: .seconds(1))
    }

    @Test func customPartitionerOutOfRangeIsRejected() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("custom", partitions: 4)
        var configuration = testConfiguration(cluster)
        configuration.partitioner = .custom { _, key, count in key?.first == 0 ? count : 2 }
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        let placed = try await producer.send(ProducerRecord(topic: "custom", key: [1], value: [1]))
        #expect(placed.partition == 2)
        do {
            _ = try await producer.enqueue(ProducerRecord(topic: "custom", key: [0], value: [1]))
            Issue.record("partition 4 of a 4-partition topic was accepted")
        } catch {
            #expect(error.description.contains("invalid partition 4"), "\(error)")
        }
        await producer.close(timeout: .seconds(1))
    }

    private func waitForRecords(_ cluster: FakeKafkaCluster, topic: String, count: Int) async throws
        -> [FakeKafkaRecord]
    {
        for _ in 0..<200 {
            let records = try cluster.records(topic: topic, partition: 0)
            if records.count >= count { return records }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try cluster.records(topic: topic, partition: 0)
    }
}

@Suite("Producer without brokers")
struct ProducerUnreachableTests {
    @Test func unreachableBootstrapFailsAsNotConnected() async throws {
        // A port that was free a moment ago: nothing listens there, so every connect is refused.
        let port = try FreePort.allocate()
        var configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:\(port)"])
        configuration.maxBlock = .milliseconds(400)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        do {
            _ = try await producer.enqueue(ProducerRecord(topic: "t", key: nil, value: [1]))
            Issue.record("enqueue succeeded without a broker")
        } catch {
            #expect(error.code == .notConnected, "\(error)")
            #expect(error.description.contains("refused"), "names the connect failure: \(error)")
            #expect(!error.mayHavePersisted)
        }
        await producer.close(timeout: .seconds(1))
    }
}

import FakeKafka
@testable import Kafka
import Testing
import TestSupport

@Suite("Producer under faults", .serialized)
struct ProducerFaultTests {
    /// Produce v9 has no CurrentLeader hint, so the new leader comes from Metadata alone; v12 has it.
    @Test(.timeLimit(.minutes(1)), arguments: [Int16(9), 12])
    func leaderMoveRefreshesMetadataWithinRetryBackoff(maxProduceVersion: Int16) async throws {
        var fakeConfiguration = FakeKafkaConfiguration(brokerCount: 2)
        fakeConfiguration.produceVersions = 3...maxProduceVersion
        let cluster = try FakeKafkaCluster(configuration: fakeConfiguration)
        defer { cluster.shutdown() }
        try cluster.createTopic("moves", partitions: 1, leaders: [1])
        var configuration = testConfiguration(cluster)
        configuration.retryBackoff = .milliseconds(100)
        configuration.metadataMaxAge = .seconds(300)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        for index in 0..<10 {
            _ = try await producer.send(record("moves", index))
        }
        let metadataBefore = cluster.requestCount(apiKey: .metadata)
        try cluster.moveLeader(topic: "moves", partition: 0, to: 2)

        let start = ContinuousClock.now
        var handles = [DeliveryHandle]()
        for index in 10..<20 {
            handles.append(try await producer.enqueue(record("moves", index)))
        }
        for handle in handles {
            let metadata = try await handle.result().get()
            #expect(metadata.partition == 0)
        }
        let elapsed = ContinuousClock.now - start
        // With the CurrentLeader hint (v10+) the records can finish before the refresh, which
        // waits out retryBackoff since the last Metadata request, so it is awaited before close.
        let refreshed = await cluster.waitForRequests(count: metadataBefore + 1, apiKey: .metadata,
                                                      timeout: .seconds(1))
        await producer.close(timeout: .seconds(2))

        // Broker 1 rejected the first attempt. The producer requested metadata again and moved on
        // to broker 2 within a few retry backoffs, long before metadataMaxAge (300 s).
        let rejected = cluster.producedBatches().filter { $0.errorCode == FakeKafkaErrorCode.notLeaderOrFollower }
        #expect(!rejected.isEmpty)
        let metadataAfter = cluster.requestCount(apiKey: .metadata)
        #expect(refreshed, "Metadata requests: \(metadataBefore) before the move, \(metadataAfter) after")
        #expect(elapsed < .seconds(2), "took \(elapsed)")
        let acceptedOnB = cluster.requests(apiKey: .produce, broker: 2)
            .flatMap { $0.produce?.batches ?? [] }.filter { $0.errorCode == 0 }
        #expect(acceptedOnB.flatMap(\.batch.records).compactMap { recordIndex($0.value) } == Array(10..<20))
        let log = try cluster.records(topic: "moves", partition: 0)
        #expect(log.compactMap { recordIndex($0.value) } == Array(0..<20))
        #expect(cluster.problems().isEmpty, "\(cluster.problems())")
    }

    @Test(.timeLimit(.minutes(1)))
    func currentLeaderHintAvoidsMetadataWait() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("hint", partitions: 1, leaders: [1])
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("hint", 0))
        try cluster.moveLeader(topic: "hint", partition: 0, to: 2)
        // Metadata now takes 3 s to arrive, so only the CurrentLeader hint of the Produce
        // response (v10+) can route the retry to broker 2 in time.
        cluster.inject(FakeKafkaFault(.delay(.seconds(3)), apiKey: .metadata, count: 100))
        let start = ContinuousClock.now
        let metadata = try await producer.send(record("hint", 1))
        let elapsed = ContinuousClock.now - start
        #expect(metadata.offset == 1)
        #expect(elapsed < .milliseconds(1_500), "took \(elapsed)")
        #expect(cluster.requests(apiKey: .produce, broker: 2).count == 1)
        cluster.removeAllFaults()
        await producer.close(timeout: .seconds(1))
    }

    @Test(.timeLimit(.minutes(1)))
    func metadataRefreshedEveryMaxAge() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("aging", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.metadataMaxAge = .milliseconds(200)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        _ = try await producer.send(record("aging", 0))
        let before = cluster.requestCount(apiKey: .metadata)
        try await Task.sleep(for: .milliseconds(1_100))
        let refreshes = cluster.requestCount(apiKey: .metadata) - before
        await producer.close(timeout: .seconds(1))
        #expect(refreshes >= 4, "\(refreshes) refreshes in 1.1 s with metadataMaxAge 200 ms")
        #expect(refreshes <= 7, "\(refreshes) refreshes in 1.1 s with metadataMaxAge 200 ms")
    }

    @Test(.timeLimit(.minutes(1)))
    func pipelinesAtMostFiveRequestsPerConnection() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("pipeline", partitions: 1)
        var configuration = testConfiguration(cluster)
        configuration.batchSize = 1_000
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        _ = try await producer.send(record("pipeline", 0))
        let before = cluster.requestCount(apiKey: .produce)
        // The broker reads and logs Produce requests but sends no response, so only the in-flight
        // limit stops the producer from sending all 40 batches.
        cluster.inject(FakeKafkaFault(.dropResponse(afterProcessing: false), apiKey: .produce, count: 1_000))
        var handles = [DeliveryHandle]()
        for index in 1...120 {
            handles.append(try await producer.enqueue(record("pipeline", index, size: 300)))
        }
        try await Task.sleep(for: .milliseconds(300))
        let sent = cluster.requestCount(apiKey: .produce) - before
        #expect(sent == 5, "\(sent) Produce requests in flight on one connection")
        await producer.close(timeout: .milliseconds(200))
        for handle in handles {
            let result = await handle.result()
            #expect(throws: KafkaProducerError.self) { try result.get() }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func idleSenderSleepsAndEndsOnClose() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("idle", partitions: 1)
        let threadsBefore = Set(threadCPUTicks(named: "kafka-sender").keys)
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("idle", 0))
        let senders = threadCPUTicks(named: "kafka-sender").filter { !threadsBefore.contains($0.key) }
        #expect(senders.count == 1, "one sender thread per producer")
        try await Task.sleep(for: .seconds(1))
        let after = threadCPUTicks(named: "kafka-sender")
        for (task, ticks) in senders {
            let used = (after[task] ?? ticks) - ticks
            #expect(used <= 5, "idle sender used \(used) CPU ticks (1/100 s) in 1 s")
        }
        await producer.close(timeout: .seconds(1))
        let remaining = Set(threadCPUTicks(named: "kafka-sender").keys).intersection(senders.keys)
        #expect(remaining.isEmpty, "sender thread still running after close")
    }

    @Test(.timeLimit(.minutes(1)))
    func silentClusterFailsRecordsWithinDeliveryTimeout() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("silent", partitions: 2)
        let descriptorsBefore = openDescriptorCount()
        var configuration = testConfiguration(cluster)
        configuration.deliveryTimeout = .seconds(1)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        // One record per partition first, so both brokers' connections are ready before the silence.
        _ = try await producer.send(record("silent", 0, partition: 0))
        _ = try await producer.send(record("silent", 0, partition: 1))
        cluster.startBlackhole()

        var handles = [DeliveryHandle]()
        for index in 1...200 {
            handles.append(try await producer.enqueue(record("silent", index, partition: Int32(index % 2))))
        }
        let start = ContinuousClock.now
        try await producer.flush(timeout: .seconds(2))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .milliseconds(2_200), "flush took \(elapsed)")
        for handle in handles {
            guard case .failure(let error) = await handle.result() else {
                Issue.record("a record succeeded while the cluster was silent")
                continue
            }
            #expect(error.isTimedOut, "\(error)")
            // The requests were written before the cluster went silent, so the outcome is unknown.
            #expect(error.mayHavePersisted)
            #expect(error.description.contains("may have been written"))
        }
        await producer.close(timeout: .milliseconds(200))
        cluster.stopBlackhole()
        // Close joined the sender thread, and no client socket to the brokers remains. The
        // process-wide count is polled for 3 s because suites running in parallel open descriptors too.
        #expect(clientSocketCount(toPorts: brokerPorts(cluster)) == 0)
        let closedAll = try waitUntil(timeout: .seconds(3)) { openDescriptorCount() <= descriptorsBefore }
        #expect(closedAll, "descriptors: \(descriptorsBefore) before, \(openDescriptorCount()) after close")
    }

    @Test(.timeLimit(.minutes(1)))
    func idempotentRetryAfterDroppedConnectionKeepsSequence() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("idem", partitions: 1)
        // The broker appends Produce request #2, then closes the connection without a response.
        cluster.inject(FakeKafkaFault(.closeConnection(afterProcessing: true), apiKey: .produce, skip: 1, count: 1))
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        var handles = [DeliveryHandle]()
        for round in 0..<6 {
            for index in (round * 20)..<(round * 20 + 20) {
                handles.append(try await producer.enqueue(record("idem", index)))
            }
            try await Task.sleep(for: .milliseconds(3))
        }
        for handle in handles {
            _ = try await handle.result().get()
        }
        await producer.close(timeout: .seconds(2))

        let log = try cluster.records(topic: "idem", partition: 0)
        #expect(log.compactMap { recordIndex($0.value) } == Array(0..<120), "no duplicate, no gap, in order")
        let batches = cluster.producedBatches()
        let secondRequest = try #require(cluster.requests(apiKey: .produce).dropFirst().first?.produce?.batches.first)
        let resent = batches.dropFirst().filter { $0.batch.baseSequence == secondRequest.batch.baseSequence }
        #expect(resent.count >= 2, "request #2's batch was sent again")
        for attempt in resent {
            #expect(attempt.batch.rawBytes == secondRequest.batch.rawBytes, "retry re-sent byte for byte")
            #expect(attempt.batch.producerID == secondRequest.batch.producerID)
        }
        #expect(cluster.problems().filter { !$0.contains("connection") }.isEmpty, "\(cluster.problems())")
    }

    @Test(.timeLimit(.minutes(1)))
    func closeFailsPendingRecordsAndReleasesSockets() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("pending", partitions: 1)
        let descriptorsBefore = openDescriptorCount()
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("pending", 0))
        cluster.startBlackhole()

        var handles = [DeliveryHandle]()
        for index in 1...50 {
            handles.append(try await producer.enqueue(record("pending", index)))
        }
        let start = ContinuousClock.now
        await producer.close(timeout: .milliseconds(300))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(1), "close took \(elapsed)")

        for handle in handles {
            guard case .failure(let error) = await handle.result() else {
                Issue.record("a record succeeded while the cluster was silent")
                continue
            }
            #expect(error.isClosed, "\(error)")
        }
        do {
            _ = try await producer.enqueue(record("pending", 99))
            Issue.record("enqueue after close succeeded")
        } catch {
            #expect(error.isClosed)
        }
        cluster.stopBlackhole()
        // Close joined the sender thread, and no client socket to the brokers remains. The
        // process-wide count is polled for 3 s because suites running in parallel open descriptors too.
        #expect(clientSocketCount(toPorts: brokerPorts(cluster)) == 0)
        let closedAll = try waitUntil(timeout: .seconds(3)) { openDescriptorCount() <= descriptorsBefore }
        #expect(closedAll, "descriptors: \(descriptorsBefore) before, \(openDescriptorCount()) after close")
    }
}

import FakeKafka
import KafkaWire
import Testing
@testable import Kafka

/// Sequence errors that the producer repairs by bumping its epoch, as the Java producer does since
/// KIP-360, instead of taking a new producer id.
@Suite("Producer epoch bump", .serialized)
struct ProducerEpochBumpTests {
    static func acceptedBatches(_ cluster: FakeKafkaCluster) -> [FakeKafkaBatch] {
        cluster.producedBatches().filter { $0.errorCode == 0 }.map(\.batch)
    }

    static func initRequests(_ cluster: FakeKafkaCluster) -> [FakeKafkaInitProducerIDRequest] {
        cluster.requests(apiKey: .initProducerId).compactMap(\.initProducerID)
    }

    /// Returns the indices, as written by `record(_:_:)`, of the records stored in "bump"
    /// partition 0.
    static func storedIndices(_ cluster: FakeKafkaCluster) throws -> [Int] {
        try cluster.records(topic: "bump", partition: 0).compactMap { recordIndex($0.value) }
    }

    /// Creates a fake cluster with the one-partition topic "bump".
    static func bumpCluster(configuration: FakeKafkaConfiguration = FakeKafkaConfiguration()) throws
        -> FakeKafkaCluster
    {
        let cluster = try FakeKafkaCluster(configuration: configuration)
        try cluster.createTopic("bump", partitions: 1)
        return cluster
    }

    /// Creates a producer on `cluster` and delivers record 0 to "bump" with it, so the producer has
    /// id 1000 at epoch 0 and its next batch has sequence 1.
    static func producerAfterFirstRecord(
        _ cluster: FakeKafkaCluster, configuration: KafkaProducerConfiguration? = nil
    ) async throws -> KafkaProducer {
        let producer = try KafkaProducer(
            configuration: configuration ?? testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("bump", 0))
        return producer
    }

    /// Makes the next Produce request for "bump" partition 0 fail with `code`.
    static func failNextProduce(_ cluster: FakeKafkaCluster, with code: Int16) {
        cluster.inject(FakeKafkaFault(.error(code), apiKey: .produce, topic: "bump", partition: 0))
    }

    /// Expects the last accepted batch to carry `producerID`, `producerEpoch` and `baseSequence`.
    static func expectLastAcceptedBatch(
        _ cluster: FakeKafkaCluster, producerID: Int64? = nil, producerEpoch: Int16? = nil,
        baseSequence: Int32? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let last = try #require(acceptedBatches(cluster).last, sourceLocation: sourceLocation)
        if let producerID {
            #expect(last.producerID == producerID, sourceLocation: sourceLocation)
        }
        if let producerEpoch {
            #expect(last.producerEpoch == producerEpoch, sourceLocation: sourceLocation)
        }
        if let baseSequence {
            #expect(last.baseSequence == baseSequence, sourceLocation: sourceLocation)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func outOfOrderFailsBatchAndBumpsEpoch() async throws {
        let cluster = try Self.bumpCluster()
        defer { cluster.shutdown() }
        let producer = try await Self.producerAfterFirstRecord(cluster)
        Self.failNextProduce(cluster, with: FakeKafkaErrorCode.outOfOrderSequenceNumber)
        await #expect {
            _ = try await producer.send(record("bump", 1))
        } throws: { error in
            let failure = try #require(error as? KafkaProducerError)
            return failure.brokerErrorCode == .outOfOrderSequenceNumber && !failure.mayHavePersisted
        }
        _ = try await producer.send(record("bump", 2))
        await producer.close(timeout: .seconds(2))

        let requests = Self.initRequests(cluster)
        #expect(requests.count == 2)
        #expect(requests.last == FakeKafkaInitProducerIDRequest(producerID: 1000, producerEpoch: 0))
        #expect(cluster.issuedProducerIDs == [1000: 1])
        try Self.expectLastAcceptedBatch(cluster, producerID: 1000, producerEpoch: 1, baseSequence: 0)
        #expect(try Self.storedIndices(cluster) == [0, 2])
        #expect(cluster.problems().isEmpty, "\(cluster.problems())")
    }

    @Test(.timeLimit(.minutes(1)))
    func batchesBehindFailedOneAreResequenced() async throws {
        let cluster = try Self.bumpCluster()
        defer { cluster.shutdown() }
        let producer = try await Self.producerAfterFirstRecord(cluster)
        // The error for record 1 arrives late, so records 2 and 3 are in flight behind it.
        var fault = FakeKafkaFault(
            .error(FakeKafkaErrorCode.outOfOrderSequenceNumber), apiKey: .produce, topic: "bump", partition: 0
        )
        fault.responseDelay = .milliseconds(300)
        cluster.inject(fault)
        var handles = [DeliveryHandle]()
        for index in 1...3 {
            handles.append(try await producer.enqueue(record("bump", index)))
            try await Task.sleep(for: .milliseconds(40))
        }
        let first = await handles[0].result()
        let second = await handles[1].result()
        let third = await handles[2].result()
        await producer.close(timeout: .seconds(2))

        guard case .failure(let failure) = first else {
            Issue.record("record 1 was delivered despite OUT_OF_ORDER_SEQUENCE_NUMBER")
            return
        }
        #expect(failure.brokerErrorCode == .outOfOrderSequenceNumber)
        #expect(!failure.mayHavePersisted)
        #expect((try? second.get().offset) == 1)
        #expect((try? third.get().offset) == 2)
        let produced = cluster.producedBatches().map(\.batch)
        let epochZeroSequences = produced.filter { $0.producerEpoch == 0 }.compactMap(\.baseSequence)
        #expect(epochZeroSequences == [0, 1, 2, 3], "records 1 to 3 were first sent under epoch 0")
        let accepted = Self.acceptedBatches(cluster).filter { $0.producerEpoch == 1 }
        #expect(accepted.map(\.baseSequence) == [0, 1])
        #expect(accepted.map(\.producerID) == [1000, 1000])
        #expect(try Self.storedIndices(cluster) == [0, 2, 3])
    }

    @Test(.timeLimit(.minutes(1)))
    func unknownProducerIDRetriesUnderBumpedEpoch() async throws {
        let cluster = try Self.bumpCluster()
        defer { cluster.shutdown() }
        let producer = try await Self.producerAfterFirstRecord(cluster)
        // Retention removed record 0, and with it the producer's state on the broker.
        try cluster.deleteRecords(topic: "bump", partition: 0, before: 1)
        Self.failNextProduce(cluster, with: FakeKafkaErrorCode.unknownProducerId)
        let metadata = try await producer.send(record("bump", 1))
        await producer.close(timeout: .seconds(2))

        #expect(metadata.offset == 1)
        #expect(Self.initRequests(cluster).last == FakeKafkaInitProducerIDRequest(producerID: 1000, producerEpoch: 0))
        try Self.expectLastAcceptedBatch(cluster, producerID: 1000, producerEpoch: 1, baseSequence: 0)
        #expect(try Self.storedIndices(cluster) == [1])
    }

    @Test(.timeLimit(.minutes(1)))
    func unknownProducerIDWithLogIntactFails() async throws {
        let cluster = try Self.bumpCluster()
        defer { cluster.shutdown() }
        let producer = try await Self.producerAfterFirstRecord(cluster)
        // The log still starts at offset 0, before the acknowledged record 0, so the broker lost
        // the producer's state for no reason the producer can see: record 1 fails.
        Self.failNextProduce(cluster, with: FakeKafkaErrorCode.unknownProducerId)
        await #expect {
            _ = try await producer.send(record("bump", 1))
        } throws: { error in
            let failure = try #require(error as? KafkaProducerError)
            return failure.brokerErrorCode == .unknownProducerId && !failure.mayHavePersisted
        }
        let metadata = try await producer.send(record("bump", 2))
        await producer.close(timeout: .seconds(2))
        #expect(metadata.offset == 1)
        try Self.expectLastAcceptedBatch(cluster, producerEpoch: 1, baseSequence: 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func expiredUnknownOutcomeBumpsEpoch() async throws {
        let cluster = try Self.bumpCluster()
        defer { cluster.shutdown() }
        var configuration = testConfiguration(cluster)
        configuration.deliveryTimeout = .milliseconds(1_200)
        configuration.requestTimeout = .milliseconds(300)
        let producer = try await Self.producerAfterFirstRecord(cluster, configuration: configuration)
        cluster.inject(FakeKafkaFault(.dropResponse(afterProcessing: true), apiKey: .produce, count: .max))
        await #expect {
            _ = try await producer.send(record("bump", 1))
        } throws: { error in
            let failure = try #require(error as? KafkaProducerError)
            return failure.code == .timedOut && failure.mayHavePersisted
        }
        cluster.removeAllFaults()
        _ = try await producer.send(record("bump", 2))
        await producer.close(timeout: .seconds(2))

        #expect(Self.initRequests(cluster).last == FakeKafkaInitProducerIDRequest(producerID: 1000, producerEpoch: 0))
        try Self.expectLastAcceptedBatch(cluster, producerID: 1000, producerEpoch: 1, baseSequence: 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func bumpFallsBackToNewIDBeforeV3() async throws {
        var fakeConfiguration = FakeKafkaConfiguration()
        fakeConfiguration.initProducerIdVersions = 0...2
        let cluster = try Self.bumpCluster(configuration: fakeConfiguration)
        defer { cluster.shutdown() }
        let producer = try await Self.producerAfterFirstRecord(cluster)
        try cluster.deleteRecords(topic: "bump", partition: 0, before: 1)
        Self.failNextProduce(cluster, with: FakeKafkaErrorCode.unknownProducerId)
        _ = try await producer.send(record("bump", 1))
        await producer.close(timeout: .seconds(2))

        #expect(cluster.issuedProducerIDs == [1000: 0, 1001: 0])
        try Self.expectLastAcceptedBatch(cluster, producerID: 1001, baseSequence: 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func fencedBumpFallsBackToNewID() async throws {
        let cluster = try Self.bumpCluster()
        defer { cluster.shutdown() }
        let producer = try await Self.producerAfterFirstRecord(cluster)
        cluster.inject(FakeKafkaFault(.error(FakeKafkaErrorCode.producerFenced), apiKey: .initProducerId))
        try cluster.deleteRecords(topic: "bump", partition: 0, before: 1)
        Self.failNextProduce(cluster, with: FakeKafkaErrorCode.unknownProducerId)
        _ = try await producer.send(record("bump", 1))
        await producer.close(timeout: .seconds(2))

        let requests = Self.initRequests(cluster)
        #expect(requests.map(\.producerID) == [-1, 1000, -1])
        try Self.expectLastAcceptedBatch(cluster, producerID: 1001, producerEpoch: 0)
    }
}

/// InitProducerId errors: retried when retriable; otherwise fatal when idempotence was requested
/// explicitly, and turning idempotence off when it was only the default.
@Suite("Producer InitProducerId errors", .serialized)
struct ProducerInitProducerIDErrorTests {
    @Test(.timeLimit(.minutes(1)))
    func explicitIdempotenceFailsSends() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("acl", partitions: 1)
        cluster.inject(FakeKafkaFault(
            .error(FakeKafkaErrorCode.clusterAuthorizationFailed), apiKey: .initProducerId, count: .max))
        var configuration = testConfiguration(cluster)
        configuration.enableIdempotence = true
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        for index in 0..<2 {
            await #expect {
                _ = try await producer.send(record("acl", index))
            } throws: { error in
                let failure = try #require(error as? KafkaProducerError)
                return failure.brokerErrorCode == .clusterAuthorizationFailed
                    && failure.message.contains("CLUSTER_AUTHORIZATION_FAILED") && !failure.mayHavePersisted
            }
        }
        await producer.close(timeout: .seconds(1))
        #expect(cluster.requestCount(apiKey: .produce) == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func defaultIdempotenceTurnsOff() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("acl", partitions: 1)
        cluster.inject(FakeKafkaFault(
            .error(FakeKafkaErrorCode.clusterAuthorizationFailed), apiKey: .initProducerId, count: .max))
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        let metadata = try await producer.send(record("acl", 0))
        await producer.close(timeout: .seconds(1))
        #expect(metadata.offset == 0)
        let batch = try #require(cluster.producedBatches().first)
        #expect(batch.batch.producerID == -1)
        #expect(cluster.requestCount(apiKey: .initProducerId) == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func retriableErrorRetriesWithBackoff() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("acl", partitions: 1)
        cluster.inject(FakeKafkaFault(
            .error(FakeKafkaErrorCode.coordinatorLoadInProgress), apiKey: .initProducerId, count: 2))
        var configuration = testConfiguration(cluster)
        configuration.enableIdempotence = true
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        _ = try await producer.send(record("acl", 0))
        await producer.close(timeout: .seconds(1))
        #expect(cluster.requestCount(apiKey: .initProducerId) == 3)
        #expect(cluster.producedBatches().first?.batch.producerID == 1000)
    }

    @Test
    func explicitIdempotenceNeedsAcksAll() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:1"])
        configuration.acks = .leader
        #expect(configuration.idempotenceSetting == nil)
        #expect(!configuration.startsIdempotent)
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.enableIdempotence = true
        #expect(throws: KafkaProducerError.self) { try configuration.validate() }
        configuration.acks = .all
        configuration.maxInFlightRequestsPerConnection = 10
        #expect(throws: KafkaProducerError.self) { try configuration.validate() }
        var implicit = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:1"])
        implicit.maxInFlightRequestsPerConnection = 10
        #expect(throws: Never.self) { try implicit.validate() }
        #expect(!implicit.startsIdempotent)
    }
}

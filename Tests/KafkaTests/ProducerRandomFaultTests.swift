import FakeKafka
import Foundation
import Kafka
import Synchronization
import TestSupport
import Testing

/// 10,000 idempotent records to 3 brokers and 6 partitions while a seeded random mix of faults
/// hits the cluster: dropped responses (before and after the request takes effect), connection
/// resets and delayed responses on any request (ApiVersions, Metadata and InitProducerId too),
/// and NOT_LEADER_OR_FOLLOWER on Produce with and without a leader move.
///
/// Every record must be acknowledged, stored exactly once at the offset its handle reports, and
/// stored in enqueue order within its partition. Every message names the seed, and
/// `KAFKA_FAULT_SEED` runs another one. The seed fixes the faults and their spacing but not how
/// they fall against the traffic, so a replay is close to the failed run, not identical.
@Suite("Producer ordering under random faults", .serialized)
struct ProducerRandomFaultTests {
    static let recordCount = 10_000
    static let topic = "faults"
    static let partitionCount: Int32 = 6

    static var seeds: [UInt64] {
        if let text = ProcessInfo.processInfo.environment["KAFKA_FAULT_SEED"], let seed = UInt64(text) {
            return [seed]
        }
        return [0x5EED_0001]
    }

    /// Faults injected so far, by kind, for the failure messages.
    final class FaultLog: Sendable {
        let counts = Mutex<[String: Int]>([:])
        /// Set once every record has a result, so the injector stops.
        let finished = Atomic<Bool>(false)

        func add(_ kind: String) { counts.withLock { $0[kind, default: 0] += 1 } }

        var summary: String {
            let sorted = counts.withLock { $0 }.sorted { $0.key < $1.key }
            return sorted.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    @Test(.timeLimit(.minutes(2)), arguments: seeds)
    func idempotentOrderSurvivesRandomFaults(seed: UInt64) async throws {
        let (cluster, producer, faults, injector) = try Self.startFaultRun(seed: seed)
        defer { cluster.shutdown() }
        let context = "seed \(seed) (replay with KAFKA_FAULT_SEED=\(seed))"

        let start = ContinuousClock.now
        var handles = [DeliveryHandle]()
        handles.reserveCapacity(Self.recordCount)
        for index in 0..<Self.recordCount {
            handles.append(try await producer.enqueue(record(Self.topic, index, partition: nil)))
            // 100 records every 20 ms spread the enqueues over about 2 s, so faults hit them.
            if index % 100 == 99 { try await Task.sleep(for: .milliseconds(20)) }
        }
        var metadata = [RecordMetadata?](repeating: nil, count: Self.recordCount)
        var failures = [String]()
        for (index, handle) in handles.enumerated() {
            switch await handle.result() {
            case .success(let result): metadata[index] = result
            case .failure(let error): failures.append("record \(index): \(error)")
            }
        }
        let elapsed = ContinuousClock.now - start
        faults.finished.store(true, ordering: .releasing)
        await injector.value
        cluster.removeAllFaults()
        await producer.close(timeout: .seconds(2))
        print("random faults, \(context): \(faults.summary); \(Self.recordCount) records in \(elapsed)")

        #expect(failures.isEmpty, "\(failures.count) records failed, \(context): \(failures.prefix(3))")
        #expect(elapsed < .seconds(45), "took \(elapsed), \(context)")

        // Per partition: the log contains the partition's records in enqueue order, each once, at
        // the offset its handle reported.
        var expected = [Int32: [Int]]()
        for (index, result) in metadata.enumerated() {
            guard let result else { continue }
            expected[result.partition, default: []].append(index)
        }
        var stored = 0
        for partition in 0..<Self.partitionCount {
            let log = try cluster.records(topic: Self.topic, partition: partition)
            let indexes = log.compactMap { recordIndex($0.value) }
            stored += indexes.count
            #expect(indexes.count == log.count, "unreadable values in partition \(partition), \(context)")
            let duplicates = indexes.count - Set(indexes).count
            #expect(duplicates == 0, "\(duplicates) duplicates in partition \(partition), \(context)")
            // Compared by first difference, because printing 1,700 indexes hides the cause.
            let wanted = expected[partition] ?? []
            let common = min(indexes.count, wanted.count)
            let firstDifference = (0..<common).first { indexes[$0] != wanted[$0] }
                ?? (indexes.count == wanted.count ? nil : common)
            let orderMessage = "partition \(partition) differs from enqueue order at position "
                + "\(firstDifference ?? -1): \(indexes.count) stored, \(wanted.count) acknowledged, \(context)"
            #expect(firstDifference == nil, "\(orderMessage)")
            let gaps = zip(log, log.dropFirst()).filter { $1.offset != $0.offset + 1 }.count
            #expect(gaps == 0, "\(gaps) offset gaps in partition \(partition), \(context)")
            let misplaced = log.filter { entry in
                guard let index = recordIndex(entry.value), let result = metadata[index] else { return false }
                return result.offset != entry.offset || result.partition != partition
            }.count
            #expect(misplaced == 0, "\(misplaced) handles report another offset, \(context)")
        }
        #expect(stored == Self.recordCount, "\(stored) records stored, \(context)")
        // The faults must have reached the producer: duplicates and rejected attempts were sent.
        let produced = cluster.producedBatches()
        #expect(produced.contains { $0.isDuplicate }, "no batch was re-sent after its append, \(context)")
        #expect(produced.contains { $0.errorCode == FakeKafkaErrorCode.notLeaderOrFollower }, "\(context)")
        #expect(cluster.problems().isEmpty, "\(cluster.problems().prefix(3)), \(context)")
    }

    /// Records enqueued while faults hit the cluster, then a close with a 500 ms timeout. Close
    /// returns in time, every record has a result, an acknowledged record is stored once at its
    /// offset, and a record that failed with `mayHavePersisted` false is not stored at all.
    @Test(.timeLimit(.minutes(1)), arguments: seeds)
    func closeUnderFaultsSettlesEveryRecord(seed: UInt64) async throws {
        let (cluster, producer, faults, injector) = try Self.startFaultRun(seed: seed)
        defer { cluster.shutdown() }
        let context = "seed \(seed) (replay with KAFKA_FAULT_SEED=\(seed))"

        var handles = [DeliveryHandle]()
        for index in 0..<3_000 {
            handles.append(try await producer.enqueue(record(Self.topic, index, partition: nil)))
            if index % 100 == 99 { try await Task.sleep(for: .milliseconds(20)) }
        }
        let start = ContinuousClock.now
        await producer.close(timeout: .milliseconds(500))
        let closeTime = ContinuousClock.now - start
        faults.finished.store(true, ordering: .releasing)
        await injector.value
        cluster.removeAllFaults()
        #expect(closeTime < .seconds(2), "close took \(closeTime), \(context)")

        var stored = [Int: (partition: Int32, offset: Int64)]()
        var duplicates = 0
        var unordered = 0
        for partition in 0..<Self.partitionCount {
            let log = try cluster.records(topic: Self.topic, partition: partition)
            let indexes = log.compactMap { recordIndex($0.value) }
            if indexes != indexes.sorted() { unordered += 1 }
            for entry in log {
                guard let index = recordIndex(entry.value) else { continue }
                if stored[index] != nil { duplicates += 1 }
                stored[index] = (partition, entry.offset)
            }
        }
        #expect(duplicates == 0, "\(duplicates) records stored twice, \(context)")
        #expect(unordered == 0, "\(unordered) partitions out of enqueue order, \(context)")

        var pending = 0
        var wrongOffsets = 0
        var unexpectedErrors = [String]()
        var storedDespiteNotPersisted = [Int]()
        var failed = 0
        for (index, handle) in handles.enumerated() {
            if !handle.isComplete { pending += 1 }
            switch await handle.result() {
            case .success(let metadata):
                let place = stored[index]
                if place?.partition != metadata.partition || place?.offset != metadata.offset { wrongOffsets += 1 }
            case .failure(let error):
                failed += 1
                if error.code != .closed && error.code != .timedOut { unexpectedErrors.append("\(index): \(error)") }
                if !error.mayHavePersisted && stored[index] != nil { storedDespiteNotPersisted.append(index) }
            }
        }
        print("close under faults, \(context): \(faults.summary); close took \(closeTime), "
            + "\(failed) of \(handles.count) records failed")
        #expect(pending == 0, "\(pending) records without a result after close, \(context)")
        #expect(wrongOffsets == 0, "\(wrongOffsets) acknowledged records not at their offset, \(context)")
        #expect(unexpectedErrors.isEmpty, "\(unexpectedErrors.prefix(3)), \(context)")
        let notPersistedMessage = "\(storedDespiteNotPersisted.count) records stored although their error "
            + "said not persisted, first \(storedDespiteNotPersisted.prefix(3)), \(context)"
        #expect(storedDespiteNotPersisted.isEmpty, "\(notPersistedMessage)")
    }

    /// Creates a 3-broker cluster with the topic and a producer on it, and starts injecting faults
    /// chosen by `seed` until the returned log is marked finished.
    static func startFaultRun(
        seed: UInt64
    ) throws -> (FakeKafkaCluster, KafkaProducer, FaultLog, injector: Task<Void, Never>) {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
        try cluster.createTopic(topic, partitions: partitionCount)
        let producer = try KafkaProducer(configuration: configuration(cluster), logger: TestLogging.logger)
        let faults = FaultLog()
        let injector = startInjecting(into: cluster, seed: seed, log: faults)
        return (cluster, producer, faults, injector)
    }

    static func configuration(_ cluster: FakeKafkaCluster) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.enableIdempotence = true
        configuration.acks = .all
        configuration.linger = .milliseconds(2)
        configuration.batchSize = 4_096
        // A dropped response costs one requestTimeout before the connection is closed and retried.
        configuration.requestTimeout = .milliseconds(400)
        configuration.retryBackoff = .milliseconds(10)
        configuration.retryBackoffMaximum = .milliseconds(200)
        configuration.deliveryTimeout = .seconds(50)
        configuration.maxBlock = .seconds(50)
        configuration.connectTimeout = .seconds(2)
        return configuration
    }

    /// Starts injecting faults: at most 400, one every 5 to 30 ms, until `log.finished` is set.
    static func startInjecting(into cluster: FakeKafkaCluster, seed: UInt64, log: FaultLog) -> Task<Void, Never> {
        Task.detached {
            var generator = SplitMix64(seed: seed)
            for _ in 0..<400 {
                if log.finished.load(ordering: .acquiring) { break }
                try? await Task.sleep(for: .milliseconds(Int.random(in: 5...30, using: &generator)))
                injectRandomFault(into: cluster, log: log, using: &generator)
            }
        }
    }

    /// Injects one fault chosen with `generator`, aimed at the next request to one broker, or
    /// moves the leadership of one partition to another broker.
    static func injectRandomFault(
        into cluster: FakeKafkaCluster, log: FaultLog, using generator: inout SplitMix64
    ) {
        let broker = Int32.random(in: 1...3, using: &generator)
        let afterProcessing = Bool.random(using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0:
            cluster.inject(FakeKafkaFault(.dropResponse(afterProcessing: afterProcessing), apiKey: nil,
                                          broker: broker))
            log.add(afterProcessing ? "drop after append" : "drop before append")
        case 1:
            cluster.inject(FakeKafkaFault(.resetConnection(afterProcessing: afterProcessing), apiKey: nil,
                                          broker: broker))
            log.add("reset")
        case 2:
            cluster.inject(FakeKafkaFault(.error(FakeKafkaErrorCode.notLeaderOrFollower), apiKey: .produce,
                                          broker: broker))
            log.add("not leader")
        case 3, 4:
            let partition = Int32.random(in: 0..<partitionCount, using: &generator)
            guard let current = try? cluster.leader(topic: topic, partition: partition).broker else { return }
            let target = current % 3 + Int32.random(in: 0...1, using: &generator) + 1
            let next = target > 3 ? target - 3 : target
            guard (try? cluster.moveLeader(topic: topic, partition: partition, to: next)) != nil else { return }
            log.add("leader move")
        default:
            let delay = Duration.milliseconds(Int.random(in: 20...250, using: &generator))
            cluster.inject(FakeKafkaFault(.delay(delay), apiKey: nil, broker: broker))
            log.add("delay")
        }
    }
}

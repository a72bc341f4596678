import FakeKafka
import Foundation
@testable import Kafka
import Synchronization
import Testing

/// Calls in the wrong order or at the wrong time: after close, twice, concurrently with close,
/// and from cancelled tasks. Each ends with a defined result within a bound, and every record
/// either has a result or was never accepted.
@Suite("Producer API misuse", .serialized)
struct ProducerMisuseTests {
    static func makeCluster(partitions: Int32 = 3) throws -> FakeKafkaCluster {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        try cluster.createTopic("misuse", partitions: partitions)
        return cluster
    }

    /// Record indexes stored in every partition of the topic, in log order per partition.
    static func storedIndexes(_ cluster: FakeKafkaCluster, partitions: Int32 = 3) throws -> [Int] {
        var indexes = [Int]()
        for partition in 0..<partitions {
            let log = try cluster.records(topic: "misuse", partition: partition)
            indexes += log.compactMap { recordIndex($0.value) }
        }
        return indexes
    }

    @Test(.timeLimit(.minutes(1)))
    func sendAfterCloseFailsClosed() async throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("misuse", 0))
        await producer.close(timeout: .seconds(1))

        let sendError = await #expect(throws: KafkaProducerError.self) {
            _ = try await producer.send(record("misuse", 1))
        }
        #expect(sendError?.code == .closed, "\(String(describing: sendError))")
        #expect(sendError?.mayHavePersisted == false)
        // A record without a partition goes through the partitioner first, and fails the same way.
        let enqueueError = await #expect(throws: KafkaProducerError.self) {
            _ = try await producer.enqueue(record("misuse", 2, partition: nil))
        }
        #expect(enqueueError?.code == .closed, "\(String(describing: enqueueError))")
        let flushError = await #expect(throws: KafkaProducerError.self) {
            try await producer.flush(timeout: .seconds(1))
        }
        #expect(flushError?.code == .closed, "\(String(describing: flushError))")
        #expect(try Self.storedIndexes(cluster) == [0])
    }

    @Test(.timeLimit(.minutes(1)))
    func customPartitionerAfterCloseFailsClosed() async throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        var configuration = testConfiguration(cluster)
        configuration.partitioner = .custom { _, _, count in count - 1 }
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        await producer.close(timeout: .seconds(1))
        let start = ContinuousClock.now
        let error = await #expect(throws: KafkaProducerError.self) {
            _ = try await producer.send(record("misuse", 1, partition: nil))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .closed, "\(String(describing: error))")
        #expect(elapsed < .seconds(1), "waited \(elapsed) for metadata after close")
    }

    @Test(.timeLimit(.minutes(1)))
    func closeTwiceReturns() async throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("misuse", 0))
        let start = ContinuousClock.now
        await producer.close(timeout: .seconds(1))
        await producer.close(timeout: .seconds(1))
        #expect(ContinuousClock.now - start < .seconds(2))

        // Two closes at once, with a record still waiting out its linger.
        var configuration = testConfiguration(cluster)
        configuration.linger = .seconds(10)
        let second = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        let handle = try await second.enqueue(record("misuse", 1))
        let concurrentStart = ContinuousClock.now
        async let first: Void = second.close(timeout: .seconds(2))
        async let other: Void = second.close(timeout: .seconds(2))
        _ = await (first, other)
        #expect(ContinuousClock.now - concurrentStart < .seconds(3))
        #expect(handle.isComplete)
        let result = await handle.result()
        #expect(throws: Never.self) { try result.get() }
        #expect(try Self.storedIndexes(cluster) == [0, 1])
    }

    /// Flush and close race on records held back by a long linger: both return, the flush with
    /// success or a closed error, and every record is delivered because close sends what is queued.
    @Test(.timeLimit(.minutes(1)))
    func flushConcurrentWithClose() async throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        var configuration = testConfiguration(cluster)
        configuration.linger = .seconds(10)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        var handles = [DeliveryHandle]()
        for index in 0..<100 {
            handles.append(try await producer.enqueue(record("misuse", index, partition: nil)))
        }
        let start = ContinuousClock.now
        async let flushed: Result<Void, KafkaProducerError> = {
            do throws(KafkaProducerError) {
                try await producer.flush(timeout: .seconds(5))
                return .success(())
            } catch {
                return .failure(error)
            }
        }()
        async let closed: Void = producer.close(timeout: .seconds(5))
        let flushResult = await flushed
        await closed
        let elapsed = ContinuousClock.now - start

        if case .failure(let error) = flushResult {
            #expect(error.code == .closed, "flush failed with \(error)")
        }
        #expect(elapsed < .seconds(5), "took \(elapsed), so linger (10 s) was not skipped")
        for handle in handles {
            #expect(handle.isComplete)
            let result = await handle.result()
            #expect(throws: Never.self) { try result.get() }
        }
        #expect(try Self.storedIndexes(cluster).sorted() == Array(0..<100))
    }

    /// Eight tasks enqueue while another closes. Each enqueue returns a handle or throws
    /// "closed", and after the first "closed" a task gets no further handle. Every handle is
    /// delivered, and the log contains exactly the accepted records, once each.
    @Test(.timeLimit(.minutes(1)))
    func enqueueFromManyTasksWhileClosing() async throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("misuse", 999_999, partition: nil))
        // Close starts once the tasks accepted 800 records, so enqueues run before and after it.
        final class Counter: Sendable { let value = Atomic<Int>(0) }
        let acceptedCount = Counter()

        struct TaskOutcome: Sendable {
            var accepted: [(index: Int, handle: DeliveryHandle)] = []
            var errors: [KafkaProducerError] = []
            var acceptedAfterClosed = 0
        }
        let outcomes = await withTaskGroup(of: TaskOutcome.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var outcome = TaskOutcome()
                    for step in 0..<400 {
                        let index = task * 1_000 + step
                        do throws(KafkaProducerError) {
                            let handle = try await producer.enqueue(record("misuse", index, partition: nil))
                            acceptedCount.value.add(1, ordering: .relaxed)
                            if !outcome.errors.isEmpty { outcome.acceptedAfterClosed += 1 }
                            outcome.accepted.append((index, handle))
                        } catch {
                            outcome.errors.append(error)
                        }
                        if step % 20 == 0 { await Task.yield() }
                    }
                    return outcome
                }
            }
            group.addTask {
                while acceptedCount.value.load(ordering: .relaxed) < 800 { await Task.yield() }
                await producer.close(timeout: .seconds(10))
                return TaskOutcome()
            }
            var all = [TaskOutcome]()
            for await outcome in group { all.append(outcome) }
            return all
        }

        let accepted = outcomes.flatMap(\.accepted)
        let errors = outcomes.flatMap(\.errors)
        #expect(errors.allSatisfy { $0.code == .closed }, "\(errors.filter { $0.code != .closed }.prefix(3))")
        #expect(errors.allSatisfy { !$0.mayHavePersisted })
        #expect(outcomes.map(\.acceptedAfterClosed).reduce(0, +) == 0)
        #expect(accepted.count + errors.count == 8 * 400)
        #expect(accepted.count >= 800)
        #expect(!errors.isEmpty, "all \(accepted.count) enqueues ran before close")
        var failedHandles = 0
        for (_, handle) in accepted {
            #expect(handle.isComplete)
            if case .failure = await handle.result() { failedHandles += 1 }
        }
        #expect(failedHandles == 0)
        let stored = try Self.storedIndexes(cluster).filter { $0 != 999_999 }
        #expect(stored.count == Set(stored).count, "duplicates in the log")
        #expect(Set(stored) == Set(accepted.map(\.index)), "the log differs from the accepted records")
    }

    /// Cancelling the task that awaits `send` does not withdraw the record: the record is sent
    /// as usual and `send` returns its real result, as `send` documents.
    @Test(.timeLimit(.minutes(1)))
    func cancelledSendStillDelivers() async throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(record("misuse", 0))
        cluster.inject(FakeKafkaFault(.delay(.milliseconds(300)), apiKey: .produce))

        let started = Atomic<Bool>(false)
        let task = Task { () -> Result<RecordMetadata, KafkaProducerError> in
            started.store(true, ordering: .releasing)
            do throws(KafkaProducerError) {
                return .success(try await producer.send(record("misuse", 1)))
            } catch {
                return .failure(error)
            }
        }
        while !started.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let result = await task.value
        #expect(task.isCancelled)
        #expect(try result.get().offset == 1)

        // A task cancelled before it calls send: the record is still sent.
        let early = Task { () -> Result<RecordMetadata, KafkaProducerError> in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(KafkaProducerError) {
                return .success(try await producer.send(record("misuse", 2)))
            } catch {
                return .failure(error)
            }
        }
        #expect(try await early.value.get().offset == 2)
        await producer.close(timeout: .seconds(1))
        #expect(try cluster.records(topic: "misuse", partition: 0).compactMap { recordIndex($0.value) } == [0, 1, 2])
    }
}

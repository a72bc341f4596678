import Foundation
import Synchronization
@testable import Kafka
import Testing

/// Hostile Metadata responses: the producer must fail the record with a clear error in bounded
/// time, never trap, spin or wait forever.
@Suite("Producer robustness: Metadata", .serialized)
struct ProducerRobustnessMetadataTests {
    /// A broker that answers Metadata with `topics` (and itself as broker 1, unless `brokers`).
    static func broker(
        brokers: (@Sendable (Int32) -> [(Int32, String, Int32)])? = nil,
        topics: @escaping @Sendable () -> [HostileTopic]
    ) throws -> HostileBroker {
        final class Port: @unchecked Sendable { var value: Int32 = 0 }
        let port = Port()
        let broker = try HostileBroker { request in
            switch request.apiKey {
            case 18: return hostileApiVersions(request)
            case 3:
                let list = brokers?(port.value) ?? [(1, "127.0.0.1", port.value)]
                return .respond(metadataV1(request.correlationID, brokers: list, topics: topics()))
            case 0:
                let results = request.produced.map { HostileProduceResult(topic: $0.topic, partition: $0.partition) }
                return .respond(produceV3(request.correlationID, results: results))
            default: return .close
            }
        }
        port.value = Int32(broker.port)
        return broker
    }

    /// Sends one record and returns the error it failed with, or nil when it was delivered.
    static func sendFailure(
        _ broker: HostileBroker, _ record: ProducerRecord,
        configure: (inout KafkaProducerConfiguration) -> Void = { _ in }
    ) async throws -> KafkaProducerError? {
        var configuration = hostileConfiguration(broker)
        configure(&configuration)
        let producer = try KafkaProducer(configuration: configuration)
        do {
            _ = try await producer.send(record)
            await producer.close(timeout: .seconds(1))
            return nil
        } catch {
            await producer.close(timeout: .seconds(1))
            return error
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func zeroPartitionsFailsWithoutTrap() async throws {
        let broker = try Self.broker { [HostileTopic(name: "empty", partitions: [])] }
        defer { broker.stop() }
        let keyed = try await Self.sendFailure(broker, ProducerRecord(topic: "empty", key: [1], value: [2]))
        #expect(keyed != nil)
        #expect(keyed?.description.contains("empty") == true, "\(String(describing: keyed))")
        let custom = try await Self.sendFailure(broker, ProducerRecord(topic: "empty", key: [1], value: [2])) {
            $0.partitioner = .custom { _, _, count in count - 1 }
        }
        #expect(custom != nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func negativePartitionIndexFails() async throws {
        let broker = try Self.broker {
            [HostileTopic(name: "negative", partitions: [HostilePartition(index: -1, leader: 1)])]
        }
        defer { broker.stop() }
        let error = try await Self.sendFailure(broker, ProducerRecord(topic: "negative", key: [1], value: [2]))
        #expect(error != nil)
        #expect(error?.description.contains("negative") == true, "\(String(describing: error))")
    }

    @Test(.timeLimit(.minutes(1)))
    func duplicatePartitionsDoNotTrap() async throws {
        let broker = try Self.broker {
            [HostileTopic(name: "twice", partitions: [HostilePartition(index: 0, leader: 1),
                                                     HostilePartition(index: 0, leader: 1)])]
        }
        defer { broker.stop() }
        // Partition 0 has a leader whatever the count: an explicit partition 0 is delivered.
        let error = try await Self.sendFailure(broker, ProducerRecord(topic: "twice", partition: 0, key: nil,
                                                                      value: [2]))
        #expect(error == nil, "\(String(describing: error))")
    }

    /// A leader that is not in the broker list cannot be reached: the producer must ask for
    /// metadata again rather than wait for metadataMaxAge, and the record must fail in time.
    @Test(.timeLimit(.minutes(1)))
    func unknownLeaderRefreshesMetadata() async throws {
        let broker = try Self.broker {
            [HostileTopic(name: "orphan", partitions: [HostilePartition(index: 0, leader: 7)])]
        }
        defer { broker.stop() }
        let start = ContinuousClock.now
        let error = try await Self.sendFailure(broker, ProducerRecord(topic: "orphan", key: nil, value: [1]))
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        #expect(broker.requestCount(apiKey: 3) >= 3, "Metadata requests: \(broker.requestCount(apiKey: 3))")
        #expect(error?.description.contains("broker 7") == true, "\(String(describing: error))")
    }

    @Test(.timeLimit(.minutes(1)), arguments: [Int32(0), 70_000, -5])
    func invalidBrokerPortFails(port: Int32) async throws {
        let broker = try Self.broker(brokers: { _ in [(1, "127.0.0.1", port)] }) {
            [HostileTopic(name: "ports", partitions: [HostilePartition(index: 0, leader: 1)])]
        }
        defer { broker.stop() }
        let error = try await Self.sendFailure(broker, ProducerRecord(topic: "ports", key: nil, value: [1]))
        #expect(error != nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func emptyBrokerHostFails() async throws {
        let broker = try Self.broker(brokers: { port in [(1, "", port)] }) {
            [HostileTopic(name: "hosts", partitions: [HostilePartition(index: 0, leader: 1)])]
        }
        defer { broker.stop() }
        let error = try await Self.sendFailure(broker, ProducerRecord(topic: "hosts", key: nil, value: [1]))
        #expect(error != nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func millionPartitionsStayBounded() async throws {
        final class Port: @unchecked Sendable { var value: Int32 = 0 }
        let port = Port()
        let partitions = (0..<1_000_000).map { HostilePartition(index: Int32($0), leader: 1) }
        let cached = Mutex<[UInt8]?>(nil)
        let broker = try HostileBroker { request in
            switch request.apiKey {
            case 18: return hostileApiVersions(request)
            case 3:
                // Built once: 18 MB of partitions takes seconds to encode in a debug build.
                var bytes = cached.withLock { $0 } ?? metadataV1(
                    0, brokers: [(1, "127.0.0.1", port.value)],
                    topics: [HostileTopic(name: "huge", partitions: partitions)])
                cached.withLock { $0 = bytes }
                bytes.replaceSubrange(0..<4, with: int32Bytes(request.correlationID))
                return .respond(bytes)
            case 0:
                let results = request.produced.map { HostileProduceResult(topic: $0.topic, partition: $0.partition) }
                return .respond(produceV3(request.correlationID, results: results))
            default: return .close
            }
        }
        port.value = Int32(broker.port)
        defer { broker.stop() }
        let start = ContinuousClock.now
        let error = try await Self.sendFailure(broker, ProducerRecord(topic: "huge", key: [1, 2, 3], value: [1])) {
            $0.maxBlock = .seconds(20)
            $0.requestTimeout = .seconds(20)
            $0.deliveryTimeout = .seconds(20)
        }
        let elapsed = ContinuousClock.now - start
        #expect(error == nil, "\(String(describing: error))")
        #expect(elapsed < .seconds(20), "took \(elapsed)")
    }

    @Test(.timeLimit(.minutes(1)), arguments: [Int16(3), 5, 17, 29, 9999])
    func topicErrorCodeFailsRecord(code: Int16) async throws {
        let broker = try Self.broker { [HostileTopic(error: code, name: "broken", partitions: [])] }
        defer { broker.stop() }
        let error = try await Self.sendFailure(broker, ProducerRecord(topic: "broken", key: nil, value: [1]))
        #expect(error != nil)
        #expect(error?.description.contains("broken") == true, "\(String(describing: error))")
        #expect(error?.description.contains("(\(code))") == true, "\(String(describing: error))")
    }

    /// LeaderId -1 forever: the record times out and the sender sleeps between refreshes.
    @Test(.timeLimit(.minutes(1)))
    func leaderlessPartitionTimesOutWithoutSpinning() async throws {
        let broker = try Self.broker {
            [HostileTopic(name: "leaderless", partitions: [HostilePartition(index: 0, leader: -1)])]
        }
        defer { broker.stop() }
        var configuration = hostileConfiguration(broker)
        configuration.deliveryTimeout = .seconds(3)
        let tasksBefore = Set(threadCPUTicks(named: "kafka-sender").keys)
        let producer = try KafkaProducer(configuration: configuration)
        // Ours is the sender thread that appeared while the producer started.
        let tasksOurs = Set(threadCPUTicks(named: "kafka-sender").keys).subtracting(tasksBefore)
        let handle = try await producer.enqueue(ProducerRecord(topic: "leaderless", key: nil, value: [1]))
        let ticksBefore = threadCPUTicks(named: "kafka-sender")
        let cpuBefore = processCPUSeconds()
        let start = ContinuousClock.now
        let result = await handle.result()
        let elapsed = ContinuousClock.now - start
        let cpu = processCPUSeconds() - cpuBefore
        let ticksAfter = threadCPUTicks(named: "kafka-sender")
        await producer.close(timeout: .seconds(1))

        guard case .failure(let error) = result else {
            Issue.record("a partition without leader was delivered")
            return
        }
        #expect(error.code == .timedOut)
        #expect(elapsed < .seconds(6), "took \(elapsed)")
        #expect(error.description.contains("no leader"), "\(error)")
        // At 100% CPU a thread uses about 100 ticks per second.
        let ours = ticksAfter.filter { tasksOurs.contains($0.key) }
        let used = ours.map { $0.value - (ticksBefore[$0.key] ?? 0) }.max() ?? 0
        #expect(used < 50, "sender used \(used) ticks in \(elapsed); process CPU \(cpu) s")
        #expect(broker.requestCount(apiKey: 3) < 100, "Metadata requests: \(broker.requestCount(apiKey: 3))")
    }
}

import FakeKafka
import Foundation
import Kafka
import Testing

/// Invalid and edge-case records against the fake cluster: each fails at once with an error that
/// names the value, or is delivered exactly as given.
@Suite("Producer robustness: records")
struct ProducerRobustnessRecordTests {
    static func cluster(partitions: Int32 = 3) throws -> FakeKafkaCluster {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        try cluster.createTopic("records", partitions: partitions)
        return cluster
    }

    static func configuration(_ cluster: FakeKafkaCluster) -> KafkaProducerConfiguration {
        var configuration = testConfiguration(cluster)
        configuration.maxBlock = .seconds(2)
        configuration.deliveryTimeout = .seconds(3)
        return configuration
    }

    /// A topic name Kafka cannot accept fails at enqueue, before any Metadata request, and does not
    /// keep the producer from serving a valid topic afterwards.
    @Test(.timeLimit(.minutes(1)), arguments: ["", ".", "..", "with space", "a/b", "ünïcode",
                                               String(repeating: "t", count: 250),
                                               String(repeating: "t", count: 40_000)])
    func invalidTopicNameFailsAtOnce(name: String) async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: Self.configuration(cluster))
        let start = ContinuousClock.now
        do {
            _ = try await producer.enqueue(ProducerRecord(topic: name, key: nil, value: [1]))
            Issue.record("topic \(name.prefix(20)) was accepted")
        } catch {
            #expect(error.code == .invalidRecord, "\(error)")
            #expect(error.description.contains("topic"), "\(error)")
            #expect(error.mayHavePersisted == false)
        }
        #expect(ContinuousClock.now - start < .milliseconds(500))
        let metadata = try await producer.send(ProducerRecord(topic: "records", partition: 1, key: nil, value: [2]))
        #expect(metadata.partition == 1)
        await producer.close(timeout: .seconds(2))
    }

    @Test(.timeLimit(.minutes(1)))
    func longestValidTopicNameIsDelivered() async throws {
        let name = String(repeating: "a", count: 249)
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic(name, partitions: 1)
        let producer = try KafkaProducer(configuration: Self.configuration(cluster))
        _ = try await producer.send(ProducerRecord(topic: name, key: nil, value: [1]))
        await producer.close(timeout: .seconds(2))
        #expect(try cluster.records(topic: name, partition: 0).count == 1)
    }

    @Test(.timeLimit(.minutes(1)), arguments: [Int32(-1), Int32.min, 3, 4, Int32.max])
    func explicitPartitionOutOfRangeFails(partition: Int32) async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: Self.configuration(cluster))
        await #expect {
            _ = try await producer.enqueue(ProducerRecord(topic: "records", partition: partition, key: nil,
                                                          value: [1]))
        } throws: { error in
            let error = error as! KafkaProducerError
            return error.code == .invalidPartition && error.description.contains("\(partition)")
                && error.description.contains("3 partitions")
        }
        await producer.close(timeout: .seconds(2))
    }

    @Test(.timeLimit(.minutes(1)), arguments: [Int64(-1), -2, Int64.min])
    func negativeTimestampFails(timestamp: Int64) async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: Self.configuration(cluster))
        await #expect {
            _ = try await producer.enqueue(ProducerRecord(topic: "records", partition: 0, key: nil, value: [1],
                                                          timestamp: timestamp))
        } throws: { error in
            let error = error as! KafkaProducerError
            return error.code == .invalidRecord && error.description.contains("\(timestamp)")
        }
        await producer.close(timeout: .seconds(2))
        #expect(try cluster.records(topic: "records", partition: 0).isEmpty)
    }

    /// Timestamps far apart in one batch: the deltas must not trap and must decode back.
    @Test(.timeLimit(.minutes(1)))
    func extremeTimestampsShareBatch() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        var configuration = Self.configuration(cluster)
        configuration.linger = .milliseconds(50)
        let producer = try KafkaProducer(configuration: configuration)
        let stamps: [Int64] = [Int64.max, 0, Int64.max - 1, 1]
        var handles = [DeliveryHandle]()
        for stamp in stamps {
            handles.append(try await producer.enqueue(ProducerRecord(topic: "records", partition: 0, key: nil,
                                                                     value: [1], timestamp: stamp)))
        }
        for handle in handles { _ = try await handle.result().get() }
        await producer.close(timeout: .seconds(2))
        let stored = try cluster.records(topic: "records", partition: 0)
        #expect(stored.map(\.timestamp) == stamps)
    }

    @Test(.timeLimit(.minutes(1)))
    func emptyKeyDiffersFromNilKey() async throws {
        let cluster = try Self.cluster(partitions: 1)
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: Self.configuration(cluster))
        _ = try await producer.send(ProducerRecord(topic: "records", key: [], value: [1],
                                                   headers: [KafkaHeader(key: "", value: nil),
                                                             KafkaHeader(key: "", value: [])]))
        _ = try await producer.send(ProducerRecord(topic: "records", key: nil, value: nil))
        await producer.close(timeout: .seconds(2))
        let stored = try cluster.records(topic: "records", partition: 0)
        #expect(stored.count == 2)
        #expect(stored.first?.key == [])
        #expect(stored.first?.headers == [FakeKafkaHeader(key: "", value: nil), FakeKafkaHeader(key: "", value: [])])
        #expect(stored.last?.key == nil)
        #expect(stored.last?.value == nil)
    }

    /// With batchSize 1024, the largest record is 1024 - 61 = 963 encoded bytes. A keyless
    /// record with no headers and an n-byte value (n from 64 to 8191) encodes to n + 9 bytes:
    /// Length varint (2), Attributes, TimestampDelta, OffsetDelta, KeyLength -1 (1 each),
    /// ValueLength varint (2), the value, HeadersCount (1).
    @Test(.timeLimit(.minutes(1)))
    func valueAtLimitAndOneOver() async throws {
        let cluster = try Self.cluster(partitions: 1)
        defer { cluster.shutdown() }
        var configuration = Self.configuration(cluster)
        configuration.batchSize = 1024
        configuration.bufferMemory = 1024 * 1024
        let producer = try KafkaProducer(configuration: configuration)
        _ = try await producer.send(ProducerRecord(topic: "records", key: nil, value: [UInt8](repeating: 7, count: 954)))
        do {
            _ = try await producer.enqueue(ProducerRecord(topic: "records", key: nil,
                                                          value: [UInt8](repeating: 7, count: 955)))
            Issue.record("a record one byte over batchSize was accepted")
        } catch {
            #expect(error.code == .recordTooLarge)
            #expect(error.recordSize == 1025, "\(error)")
            #expect(error.description.contains("batchSize 1024"), "\(error)")
        }
        await producer.close(timeout: .seconds(2))
        let batches = cluster.producedBatches()
        #expect(batches.map(\.batch.rawBytes.count) == [1024])
    }
}

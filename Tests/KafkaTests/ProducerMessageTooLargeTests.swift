import FakeKafka
import KafkaWire
import Testing
@testable import Kafka

/// Batches the broker rejects with MESSAGE_TOO_LARGE are split by size and re-sent in order.
@Suite("Producer MESSAGE_TOO_LARGE", .serialized)
struct ProducerMessageTooLargeTests {
    @Test(.timeLimit(.minutes(1)))
    func rejectedBatchIsSplitBySize() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("large", partitions: 1, maxMessageBytes: 1_000)
        var configuration = testConfiguration(cluster)
        configuration.linger = .milliseconds(300)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        // One 700-byte record among 30 small ones: a batch of about 2,300 bytes.
        var handles = [DeliveryHandle]()
        for index in 0..<31 {
            handles.append(try await producer.enqueue(record("large", index, size: index == 1 ? 700 : 20)))
        }
        for handle in handles { _ = try await handle.result().get() }
        await producer.close(timeout: .seconds(2))

        let produced = cluster.producedBatches()
        let first = try #require(produced.first)
        #expect(first.errorCode == FakeKafkaErrorCode.messageTooLarge)
        #expect(first.batch.recordCount == 31)
        // Every later batch carries at most half the record bytes of the first rejected one,
        // unless it contains one record.
        let header = 61
        let target = header + (first.batch.rawBytes.count - header + 1) / 2
        for entry in produced.dropFirst() where (entry.batch.recordCount ?? 0) > 1 {
            #expect(entry.batch.rawBytes.count <= target,
                    "\(entry.batch.rawBytes.count) bytes, \(entry.batch.recordCount ?? 0) records")
        }
        let accepted = produced.filter { $0.errorCode == 0 }.map(\.batch)
        var expectedSequence: Int32 = 0
        for batch in accepted {
            #expect(batch.baseSequence == expectedSequence)
            expectedSequence += batch.recordCount ?? 0
        }
        let stored = try cluster.records(topic: "large", partition: 0).compactMap { recordIndex($0.value) }
        #expect(stored == Array(0..<31))
        #expect(cluster.problems().isEmpty, "\(cluster.problems())")
    }

    @Test(.timeLimit(.minutes(1)))
    func singleRecordTooLargeFailsWithSize() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("large", partitions: 1, maxMessageBytes: 500)
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        await #expect {
            _ = try await producer.send(record("large", 0, size: 800))
        } throws: { error in
            let failure = try #require(error as? KafkaProducerError)
            let size = try #require(failure.recordSize)
            return failure.code == .recordTooLarge && failure.brokerErrorCode == .messageTooLarge
                && size > 800 && size < 900 && failure.message.contains("\(size)-byte record")
                && failure.message.contains("max.message.bytes") && !failure.mayHavePersisted
        }
        // The failed record leaves no sequence gap: the next one is accepted.
        let metadata = try await producer.send(record("large", 1))
        await producer.close(timeout: .seconds(2))
        #expect(metadata.offset == 0)
        #expect(cluster.problems().isEmpty, "\(cluster.problems())")
    }
}

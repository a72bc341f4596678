import Kafka
import Testing
import TestSupport

@Suite("Producer against Tansu", .serialized)
struct TansuSmokeTests {
    @Test func sendsAndReceivesOffsets() async throws {
        let tansu = TansuProcess()
        try tansu.start()
        defer { tansu.stop() }
        try tansu.createTopic("smoke", partitions: 3)
        var configuration = KafkaProducerConfiguration(bootstrapServers: [tansu.bootstrap])
        configuration.deliveryTimeout = .seconds(20)
        configuration.maxBlock = .seconds(5)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        var handles = [DeliveryHandle]()
        for index in 0..<1000 {
            handles.append(try await producer.enqueue(
                ProducerRecord(topic: "smoke", key: Array("key-\(index % 10)".utf8), value: Array("v\(index)".utf8))))
        }
        var offsets = Set<String>()
        for handle in handles {
            let metadata = try await handle.result().get()
            offsets.insert("\(metadata.partition)-\(metadata.offset)")
        }
        #expect(offsets.count == 1000)
        await producer.close(timeout: .seconds(5))
    }
}

import FakeKafka
import KafkaWire
import Testing

/// The producer's codec (KafkaWire) against the fake: the exchange a producer makes, encoded and
/// decoded by KafkaWire, with the stored records checked through the fake's test API.
@Suite("FakeKafka with KafkaWire")
struct FakeKafkaInteropTests {
    @Test("KafkaWire client exchange")
    func kafkaWireExchange() throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("interop", partitions: 2)
        let bootstrap = try FakeKafkaTestConnection(cluster, broker: 1)

        try bootstrap.send(
            KafkaFrame.encodeRequest(
                ApiVersionsRequest(clientSoftwareName: "interop", clientSoftwareVersion: "1.0"), version: 4,
                correlationId: 1, clientId: "interop"))
        guard case .frame(let versionsFrame) = bootstrap.receive() else {
            Issue.record("no ApiVersions response")
            return
        }
        let versions = try ApiVersionsResponse.decodeFrame(versionsFrame, version: 4)
        #expect(versions.response.errorCode == .none)
        let negotiated = versions.response.negotiatedVersions()
        #expect(negotiated.version(for: .produce) == 12)
        #expect(negotiated.version(for: .metadata) == 12)
        #expect(negotiated.version(for: .initProducerId) == 5)

        try bootstrap.send(
            KafkaFrame.encodeRequest(
                MetadataRequest(topicNames: ["interop"]), version: 12, correlationId: 2, clientId: "interop"))
        guard case .frame(let metadataFrame) = bootstrap.receive() else {
            Issue.record("no Metadata response")
            return
        }
        let metadata = try KafkaFrame.decodeResponse(MetadataResponse.self, frame: metadataFrame, version: 12)
        #expect(metadata.header.correlationId == 2)
        #expect(metadata.response.brokers.count == 2)
        let leaderOfPartition1 = try #require(metadata.response.topics.first?.partitions.last?.leaderId)
        #expect(leaderOfPartition1 == 2)

        try bootstrap.send(
            KafkaFrame.encodeRequest(
                InitProducerIdRequest(), version: 5, correlationId: 3, clientId: "interop"))
        guard case .frame(let producerFrame) = bootstrap.receive() else {
            Issue.record("no InitProducerId response")
            return
        }
        let producer = try KafkaFrame.decodeResponse(
            InitProducerIdResponse.self, frame: producerFrame, version: 5)
        #expect(producer.response.producerId == 1000)

        var builder = RecordBatchBuilder(
            producerId: producer.response.producerId, producerEpoch: 0, baseSequence: 0)
        try builder.append(
            key: Array("key".utf8), value: Array("value".utf8),
            headers: [RecordHeader(key: "source", value: Array("test".utf8))], timestamp: 1_700_000_000_000)
        try builder.append(key: nil, value: Array("second".utf8), timestamp: 1_700_000_000_010)
        let batch = builder.finish()
        let leader = try FakeKafkaTestConnection(cluster, broker: 2)
        let produce = ProduceRequest(
            acks: -1, timeoutMs: 30_000,
            topicData: [.init(name: "interop", partitionData: [.init(index: 1, records: batch)])])
        try leader.send(KafkaFrame.encodeRequest(produce, version: 12, correlationId: 4, clientId: "interop"))
        guard case .frame(let produceFrame) = leader.receive() else {
            Issue.record("no Produce response")
            return
        }
        let response = try KafkaFrame.decodeResponse(ProduceResponse.self, frame: produceFrame, version: 12)
        let partition = try #require(response.response.responses.first?.partitionResponses.first)
        #expect(partition.errorCode == .none)
        #expect(partition.baseOffset == 0)

        let records = try cluster.records(topic: "interop", partition: 1)
        #expect(records.map(\.offset) == [0, 1])
        #expect(records.map(\.timestamp) == [1_700_000_000_000, 1_700_000_000_010])
        #expect(records.first?.headers == [FakeKafkaHeader(key: "source", value: Array("test".utf8))])
        #expect(try cluster.batches(topic: "interop", partition: 1).first?.rawBytes == batch)
    }
}

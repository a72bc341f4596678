import Testing

@testable import KafkaWire

@Suite struct MetadataTests {
    static let topicId = KafkaUUID(bytes: Array(1...16))

    static func fullResponse() -> MetadataResponse {
        MetadataResponse(
            throttleTimeMs: 3,
            brokers: [.init(nodeId: 1, host: "127.0.0.1", port: 40_000, rack: "a")],
            clusterId: "cluster", controllerId: 1,
            topics: [
                .init(
                    name: "events", topicId: topicId, isInternal: false,
                    partitions: [
                        .init(
                            partitionIndex: 0, leaderId: 1, leaderEpoch: 4, replicaNodes: [1, 2],
                            isrNodes: [1],
                            offlineReplicas: [2]),
                        .init(errorCode: .leaderNotAvailable, partitionIndex: 1, leaderId: -1),
                    ], topicAuthorizedOperations: 0x0F)
            ], clusterAuthorizedOperations: 0x1F)
    }

    @Test(arguments: Array(Int16(1)...12))
    func responseRoundTripKeepsFieldsOfItsVersion(version: Int16) throws {
        let frame = try KafkaFrame.encodeResponse(Self.fullResponse(), version: version, correlationId: 4)
        let (header, decoded) = try KafkaFrame.decodeResponse(
            MetadataResponse.self, frame: Array(frame.dropFirst(4)), version: version)
        #expect(header.correlationId == 4)
        #expect(decoded.throttleTimeMs == (version >= 3 ? 3 : 0))
        #expect(decoded.brokers.first?.rack == "a")
        #expect(decoded.clusterId == (version >= 2 ? "cluster" : nil))
        #expect(decoded.controllerId == 1)
        let clusterOperationsPresent = version >= 8 && version <= 10
        #expect(decoded.clusterAuthorizedOperations == (clusterOperationsPresent ? 0x1F : Int32.min))
        let topic = try #require(decoded.topics.first)
        #expect(topic.topicId == (version >= 10 ? Self.topicId : .zero))
        #expect(topic.topicAuthorizedOperations == (version >= 8 ? 0x0F : Int32.min))
        let partition = try #require(topic.partitions.first)
        #expect(partition.leaderEpoch == (version >= 7 ? 4 : -1))
        #expect(partition.replicaNodes == [1, 2])
        #expect(partition.isrNodes == [1])
        #expect(partition.offlineReplicas == (version >= 5 ? [2] : []))
        #expect(topic.partitions.last?.errorCode == .leaderNotAvailable)
        #expect(topic.partitions.last?.leaderId == -1)
    }

    @Test(arguments: Array(Int16(1)...12))
    func requestRoundTripsEveryVersion(version: Int16) throws {
        let request = MetadataRequest(topicNames: ["events", "audit"], allowAutoTopicCreation: false)
        let frame = try KafkaFrame.encodeRequest(request, version: version, correlationId: 1, clientId: "c")
        let decoded = try KafkaFrame.decodeRequest(MetadataRequest.self, frame: Array(frame.dropFirst(4)))
            .request
        #expect(decoded.topics?.map(\.name) == ["events", "audit"])
        // Before v4 the field is absent and brokers behave as if it were true.
        #expect(decoded.allowAutoTopicCreation == (version < 4))
    }

    @Test func nullTopicsMeansAllTopics() throws {
        let request = MetadataRequest(topics: nil)
        var v1 = WireWriter()
        try request.encode(into: &v1, version: 1)
        #expect(v1.bytes == hexBytes("FF FF FF FF"))
        var v12 = WireWriter()
        try request.encode(into: &v12, version: 12)
        #expect(v12.bytes == hexBytes("00 00 00 00"))
        var reader = WireReader(v12.bytes)
        #expect(try MetadataRequest.decode(from: &reader, version: 12).topics == nil)
    }

    @Test func nullTopicNameBeforeV10IsAnEncodingError() {
        let request = MetadataRequest(topics: [.init(name: nil)])
        var writer = WireWriter(api: "Metadata request")
        #expect(throws: WireEncodingError.self) { try request.encode(into: &writer, version: 9) }
        var v10 = WireWriter()
        #expect(throws: Never.self) { try request.encode(into: &v10, version: 10) }
    }

    @Test func brokerCountOfInt32MaxIsRejected() {
        // v1 body: Brokers count Int32.max followed by a few bytes.
        var reader = WireReader(
            hexBytes("7F FF FF FF 00 00 00 01"), context: WireContext(api: "Metadata response", version: 1))
        let error = decodingError { try MetadataResponse.decode(from: &reader, version: 1) }
        #expect(error?.kind == .countTooLarge)
        #expect(error?.field == "Brokers")
        #expect(error?.description.contains("Metadata response v1, field Brokers at byte offset 0") == true)
    }

    @Test func unknownTopLevelTagIsSkipped() throws {
        var writer = WireWriter()
        var response = Self.fullResponse()
        response.taggedFields = [TaggedField(tag: 42, data: [1, 2, 3])]
        try response.encode(into: &writer, version: 12)
        var reader = WireReader(writer.bytes)
        let decoded = try MetadataResponse.decode(from: &reader, version: 12)
        #expect(reader.isAtEnd)
        #expect(decoded.taggedFields == [TaggedField(tag: 42, data: [1, 2, 3])])
        #expect(decoded.topics == response.topics)
    }
}

@Suite struct InitProducerIdTests {
    @Test(arguments: Array(Int16(0)...5))
    func roundTripsEveryVersion(version: Int16) throws {
        let request = InitProducerIdRequest(
            transactionalId: nil, transactionTimeoutMs: 60_000, producerId: 5, producerEpoch: 2)
        let frame = try KafkaFrame.encodeRequest(request, version: version, correlationId: 3, clientId: "c")
        let decoded = try KafkaFrame.decodeRequest(
            InitProducerIdRequest.self, frame: Array(frame.dropFirst(4))
        ).request
        #expect(decoded.transactionalId == nil)
        #expect(decoded.transactionTimeoutMs == 60_000)
        #expect(decoded.producerId == (version >= 3 ? 5 : -1))
        #expect(decoded.producerEpoch == (version >= 3 ? 2 : -1))

        let response = InitProducerIdResponse(throttleTimeMs: 1, producerId: 1000, producerEpoch: 0)
        let responseFrame = try KafkaFrame.encodeResponse(response, version: version, correlationId: 3)
        let decodedResponse = try KafkaFrame.decodeResponse(
            InitProducerIdResponse.self, frame: Array(responseFrame.dropFirst(4)), version: version)
        #expect(decodedResponse.response == response)
        // Flexible from v2: response header v1 adds one tagged-field byte, the body one more.
        #expect(responseFrame.count == 4 + 4 + 16 + (version >= 2 ? 2 : 0))
    }

    @Test func v2RequestHandBuilt() throws {
        let frame = try KafkaFrame.encodeRequest(
            InitProducerIdRequest(transactionTimeoutMs: 1000), version: 2, correlationId: 1, clientId: "c")
        // Header v2 (tag byte after client id), compact null transactional id, timeout, empty tags.
        #expect(frame == hexBytes("00 00 00 12 00 16 00 02 00 00 00 01 00 01 63 00 00 00 00 03 E8 00"))
    }
}

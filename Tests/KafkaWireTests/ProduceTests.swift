import Testing

@testable import KafkaWire

@Suite struct ProduceTests {
    /// A Produce v10 response written out by hand: partition 0 of topic "t" fails with
    /// NOT_LEADER_OR_FOLLOWER and names the new leader (node 2, epoch 5) in CurrentLeader, whose
    /// endpoint h:9090 is in the top-level NodeEndpoints.
    static let v10ResponseWithNewLeader = hexBytes(
        """
        00 00 00 4A
        00 00 00 09 00
        02 02 74
        02 00 00 00 00 00 06
        FF FF FF FF FF FF FF FF
        FF FF FF FF FF FF FF FF
        FF FF FF FF FF FF FF FF
        01 00
        01 00 09 00 00 00 02 00 00 00 05 00
        00
        00 00 00 00
        01 00 0D 02 00 00 00 02 02 68 00 00 23 82 00 00
        """)

    @Test func v10CurrentLeaderAndNodeEndpointsDecode() throws {
        let frame = Self.v10ResponseWithNewLeader
        #expect(frame.count == 4 + 0x4A)
        let (header, response) = try KafkaFrame.decodeResponse(
            ProduceResponse.self, frame: Array(frame.dropFirst(4)), version: 10)
        #expect(header.correlationId == 9)
        let partition = try #require(response.responses.first?.partitionResponses.first)
        #expect(response.responses.first?.name == "t")
        #expect(partition.errorCode == .notLeaderOrFollower)
        #expect(partition.baseOffset == -1)
        #expect(partition.currentLeader == .init(leaderId: 2, leaderEpoch: 5))
        #expect(partition.taggedFields.isEmpty)
        #expect(response.nodeEndpoints == [.init(nodeId: 2, host: "h", port: 9090, rack: nil)])
        #expect(response.taggedFields.isEmpty)
        let encoded = try KafkaFrame.encodeResponse(response, version: 10, correlationId: 9)
        #expect(hexString(encoded) == hexString(frame))
    }

    @Test func v9IgnoresKIP951TagsAsUnknown() throws {
        // The same body read as v9, where tag 0 has no meaning yet: kept as an unknown tag.
        let body = Array(Self.v10ResponseWithNewLeader.dropFirst(9))
        var reader = WireReader(body)
        let response = try ProduceResponse.decode(from: &reader, version: 9)
        #expect(reader.isAtEnd)
        let partition = try #require(response.responses.first?.partitionResponses.first)
        #expect(partition.currentLeader == nil)
        #expect(partition.taggedFields.map(\.tag) == [0])
        #expect(response.nodeEndpoints.isEmpty)
        #expect(response.taggedFields.map(\.tag) == [0])
    }

    @Test func v9TagZeroIsReplacedWhenEncodingV10() throws {
        var reader = WireReader(Array(Self.v10ResponseWithNewLeader.dropFirst(9)))
        let v9 = try ProduceResponse.decode(from: &reader, version: 9)
        var response = v9
        response.nodeEndpoints = [.init(nodeId: 2, host: "h", port: 9090)]
        response.responses[0].partitionResponses[0].currentLeader = .init(leaderId: 2, leaderEpoch: 5)
        let frame = try KafkaFrame.encodeResponse(response, version: 10, correlationId: 9)
        #expect(hexString(frame) == hexString(Self.v10ResponseWithNewLeader))
    }

    static func fullResponse() -> ProduceResponse {
        ProduceResponse(
            responses: [
                .init(
                    name: "events",
                    partitionResponses: [
                        .init(
                            index: 3, errorCode: .invalidRecord, baseOffset: 42,
                            logAppendTimeMs: 1_700_000_000_000,
                            logStartOffset: 7,
                            recordErrors: [.init(batchIndex: 1, batchIndexErrorMessage: "bad")],
                            errorMessage: "batch rejected",
                            currentLeader: .init(leaderId: 4, leaderEpoch: 8)),
                        .init(index: 4, baseOffset: 100),
                    ])
            ], throttleTimeMs: 15, nodeEndpoints: [.init(nodeId: 4, host: "broker-4", port: 9092, rack: "r1")]
        )
    }

    @Test(arguments: Array(Int16(3)...12))
    func responseRoundTripKeepsFieldsOfItsVersion(version: Int16) throws {
        let frame = try KafkaFrame.encodeResponse(Self.fullResponse(), version: version, correlationId: 1)
        let decoded = try KafkaFrame.decodeResponse(
            ProduceResponse.self, frame: Array(frame.dropFirst(4)), version: version
        )
        .response
        let partition = try #require(decoded.responses.first?.partitionResponses.first)
        #expect(decoded.throttleTimeMs == 15)
        #expect(partition.baseOffset == 42)
        #expect(partition.logAppendTimeMs == 1_700_000_000_000)
        #expect(partition.logStartOffset == (version >= 5 ? 7 : -1))
        #expect(partition.recordErrors.count == (version >= 8 ? 1 : 0))
        #expect(partition.errorMessage == (version >= 8 ? "batch rejected" : nil))
        #expect(partition.currentLeader == (version >= 10 ? .init(leaderId: 4, leaderEpoch: 8) : nil))
        #expect(decoded.nodeEndpoints.count == (version >= 10 ? 1 : 0))
        #expect(decoded.responses.first?.partitionResponses.count == 2)
    }

    static func request(records: [UInt8]) -> ProduceRequest {
        ProduceRequest(
            transactionalId: nil, acks: -1, timeoutMs: 30_000,
            topicData: [.init(name: "events", partitionData: [.init(index: 0, records: records)])])
    }

    @Test(arguments: Array(Int16(3)...12))
    func requestRoundTripsEveryVersion(version: Int16) throws {
        var builder = RecordBatchBuilder(producerId: 1, producerEpoch: 0, baseSequence: 0)
        try builder.append(key: Array("k".utf8), value: Array("v".utf8), timestamp: 1)
        let request = Self.request(records: builder.finish())
        let frame = try KafkaFrame.encodeRequest(
            request, version: version, correlationId: 77, clientId: "dualstream")
        let (header, decoded) = try KafkaFrame.decodeRequest(
            ProduceRequest.self, frame: Array(frame.dropFirst(4)))
        #expect(header.apiVersion == version)
        #expect(header.headerVersion == (version >= 9 ? 2 : 1))
        #expect(decoded == request)
        #expect(
            try decoded.topicData[0].partitionData[0].decodeBatches().first?.records.first?.key
                == Array("k".utf8))
    }

    @Test func v12RequestBodyEqualsV11() throws {
        let request = Self.request(records: RecordBatchTests.goldenBatch)
        var v11 = WireWriter()
        try request.encode(into: &v11, version: 11)
        var v12 = WireWriter()
        try request.encode(into: &v12, version: 12)
        #expect(v11.bytes == v12.bytes)
    }

    @Test(arguments: [Int16(0), 1, 2, 13])
    func versionsOutsideV3ToV12AreRejected(version: Int16) {
        let request = Self.request(records: [])
        #expect(throws: WireEncodingError.self) {
            try KafkaFrame.encodeRequest(request, version: version, correlationId: 1, clientId: nil)
        }
        var reader = WireReader(hexBytes("FF FF FF FF 00 00 75 30 00 00 00 00"))
        #expect(
            decodingError { try ProduceRequest.decode(from: &reader, version: version) }?.kind
                == .unsupportedVersion)
    }

    @Test func acksZeroRequestEncodes() throws {
        var request = Self.request(records: RecordBatchTests.goldenBatch)
        request.acks = 0
        let frame = try KafkaFrame.encodeRequest(request, version: 7, correlationId: 1, clientId: nil)
        let decoded = try KafkaFrame.decodeRequest(ProduceRequest.self, frame: Array(frame.dropFirst(4)))
            .request
        #expect(decoded.acks == 0)
    }

    @Test func recordsCountOfInt32MaxInRequestIsRejected() {
        // v3 body: null transactional id, acks -1, timeout, one topic "t", one partition whose
        // Records length claims Int32.max bytes.
        let body = hexBytes(
            "FF FF FF FF 00 00 75 30 00 00 00 01 00 01 74 00 00 00 01 00 00 00 00 7F FF FF FF 00")
        var reader = WireReader(body, context: WireContext(api: "Produce request", version: 3))
        let error = decodingError { try ProduceRequest.decode(from: &reader, version: 3) }
        #expect(error?.kind == .truncated)
        #expect(error?.field == "Records")
        #expect(error?.api == "Produce request")
        #expect(error?.version == 3)
        #expect(error?.offset == 23)
    }

    @Test func topicCountOfInt32MaxIsRejected() {
        let body = hexBytes("FF FF FF FF 00 00 75 30 7F FF FF FF 00 01 74")
        var reader = WireReader(body, context: WireContext(api: "Produce request", version: 3))
        let error = decodingError { try ProduceRequest.decode(from: &reader, version: 3) }
        #expect(error?.kind == .countTooLarge)
        #expect(error?.field == "TopicData")
        #expect(error?.offset == 8)
    }
}

import FakeKafka
import TestSupport
import Testing

/// Produce validation, offsets and storage, with hand-built batches.
@Suite("FakeKafka produce")
struct FakeKafkaProduceTests {
    static let sample = [
        FakeKafkaTestRecord(key: Array("k1".utf8), value: Array("v1".utf8), headers: [("h", [1, 2])]),
        FakeKafkaTestRecord(key: nil, value: Array("v2".utf8), timestampDelta: 3),
        FakeKafkaTestRecord(key: [], value: nil, headers: [("empty", nil)], timestampDelta: 7),
    ]

    /// Creates a cluster with the one-partition topic "golden" that gives out producer id 0 first,
    /// because the sarama golden batch carries producer id 0 with epoch 0 and sequence 0.
    static func goldenCluster() throws -> FakeKafkaCluster {
        var configuration = FakeKafkaConfiguration()
        configuration.firstProducerID = 0
        let cluster = try FakeKafkaCluster(configuration: configuration)
        try cluster.createTopic("golden", partitions: 1)
        return cluster
    }

    @Test("CRC-32C of test bytes matches vectors")
    func testChecksumVectors() {
        #expect(fakeKafkaTestCRC32C(Array("123456789".utf8)[...]) == 0xE306_9283)
        #expect(fakeKafkaTestCRC32C(Array("Some String".utf8)[...]) == 608_512_271)
        #expect(fakeKafkaTestCRC32C(FakeKafkaRequests.saramaUncompressedBatch[21...]) == 0x5479_61FD)
    }

    @Test("Produce assigns offsets and stores records", arguments: [Int16(3), 5, 8, 9, 11, 12])
    func produceOffsets(version: Int16) throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("events", partitions: 2)
        let connection = try FakeKafkaTestConnection(cluster)

        let first = FakeKafkaRequests.recordBatch(Self.sample, baseTimestamp: 1_000)
        let second = FakeKafkaRequests.recordBatch(
            [FakeKafkaTestRecord(key: [9], value: [8])], baseTimestamp: 2_000)
        var reader = try connection.roundTrip(
            FakeKafkaRequests.produce(
                version: version, correlationID: 21,
                batches: [
                    .init(topic: "events", partition: 0, records: first),
                    .init(topic: "events", partition: 1, records: second),
                ]))
        let response = try reader.produceResponse(version: version)
        #expect(response.correlationID == 21)
        #expect(response.partitions.map(\.errorCode) == [0, 0])
        #expect(response.partitions.map(\.baseOffset) == [0, 0])
        #expect(response.partitions.map(\.logAppendTime) == [-1, -1])
        if version >= 5 { #expect(response.partitions.map(\.logStartOffset) == [0, 0]) }
        if version >= 8 { #expect(response.partitions.map(\.errorMessage) == [nil, nil]) }

        let again = try connection.produce(
            version: version, correlationID: 22, topic: "events", records: first)
        #expect(again.partitions.map(\.baseOffset) == [3])

        let records = try cluster.records(topic: "events", partition: 0)
        #expect(records.map(\.offset) == [0, 1, 2, 3, 4, 5])
        #expect(records.map(\.timestamp) == [1_000, 1_003, 1_007, 1_000, 1_003, 1_007])
        #expect(records[0].key == Array("k1".utf8))
        #expect(records[0].value == Array("v1".utf8))
        #expect(records[0].headers == [FakeKafkaHeader(key: "h", value: [1, 2])])
        #expect(records[1].key == nil)
        #expect(records[2].key == [])
        #expect(records[2].value == nil)
        #expect(records[2].headers == [FakeKafkaHeader(key: "empty", value: nil)])
        #expect(try cluster.records(topic: "events", partition: 1).map(\.value) == [[8]])
        #expect(try cluster.logEndOffset(topic: "events", partition: 0) == 6)
        let batches = try cluster.batches(topic: "events", partition: 0)
        #expect(batches.map(\.rawBytes) == [first, first])
        #expect(batches.map(\.baseOffset) == [0, 3])
    }

    @Test("Produce accepts sarama golden batch")
    func produceGoldenBatch() throws {
        let cluster = try Self.goldenCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        _ = try connection.roundTrip(FakeKafkaRequests.initProducerId(version: 4, correlationID: 1))
        let response = try connection.produce(
            version: 9, correlationID: 2, topic: "golden", records: FakeKafkaRequests.saramaUncompressedBatch)
        #expect(response.partitions.first?.errorCode == 0)
        let records = try cluster.records(topic: "golden", partition: 0)
        #expect(
            records == [
                FakeKafkaRecord(
                    offset: 0, timestamp: 1_479_847_795_005, key: [1, 2, 3, 4], value: [5, 6, 7],
                    headers: [FakeKafkaHeader(key: "\u{8}\u{9}\u{A}", value: [11, 12])])
            ])
        let batch = try #require(cluster.producedBatches().first)
        #expect(batch.batch.producerID == 0)
        #expect(batch.batch.baseSequence == 0)
        #expect(batch.batch.rawBytes == FakeKafkaRequests.saramaUncompressedBatch)
    }

    @Test(
        "Produce rejects corrupt batches",
        arguments: [
            ("CRC field changed", 17, FakeKafkaErrorCode.corruptMessage),
            ("record byte changed", 75, FakeKafkaErrorCode.corruptMessage),
            ("magic changed", 16, FakeKafkaErrorCode.invalidRecord),
        ])
    func produceCorruptBatch(label: String, byteIndex: Int, expected: Int16) throws {
        let cluster = try Self.goldenCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        _ = try connection.roundTrip(FakeKafkaRequests.initProducerId(version: 4, correlationID: 1))
        var corrupt = FakeKafkaRequests.saramaUncompressedBatch
        corrupt[byteIndex] ^= 0x01
        let response = try connection.produce(
            version: 9, correlationID: 2, topic: "golden", records: corrupt)
        let partition = try #require(response.partitions.first)
        #expect(partition.errorCode == expected, "\(label)")
        #expect(partition.baseOffset == -1)
        #expect(partition.errorMessage != nil)
        #expect(try cluster.records(topic: "golden", partition: 0).isEmpty)
        // The fake responds to the next request on the same connection.
        let next = try connection.produce(
            version: 9, correlationID: 3, topic: "golden", records: FakeKafkaRequests.saramaUncompressedBatch)
        #expect(next.partitions.first?.errorCode == 0)
    }

    @Test(
        "Produce rejects framing errors",
        arguments: [
            ("truncated batch", FakeKafkaErrorCode.corruptMessage),
            ("two batches", FakeKafkaErrorCode.invalidRecord),
            ("count mismatch", FakeKafkaErrorCode.invalidRecord),
            ("Length too large", FakeKafkaErrorCode.corruptMessage),
            ("empty records", FakeKafkaErrorCode.invalidRecord),
        ])
    func produceFramingErrors(label: String, expected: Int16) throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("framing", partitions: 1)
        let connection = try FakeKafkaTestConnection(cluster)
        let good = FakeKafkaRequests.recordBatch(Self.sample)
        var records: [UInt8]
        switch label {
        case "truncated batch":
            records = Array(good.dropLast(3))
        case "two batches":
            records = good + good
        case "count mismatch":
            // RecordsCount is 2 while LastOffsetDelta is 2 (three records). The CRC is
            // recomputed so that only the count is wrong.
            records = good
            records[60] = 2
            let crc = fakeKafkaTestCRC32C(records[21...])
            records[17...20] = [
                UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF),
            ]
        case "Length too large":
            records = good
            records[11] &+= 1
        default:
            records = []
        }
        let response = try connection.produce(
            version: 12, correlationID: 9, topic: "framing", records: records)
        let partition = try #require(response.partitions.first)
        #expect(partition.errorCode == expected, "\(label): \(partition.errorMessage ?? "no message")")
        #expect(try cluster.records(topic: "framing", partition: 0).isEmpty)
    }

    @Test("Produce enforces max.message.bytes")
    func produceMessageTooLarge() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("small", partitions: 1, maxMessageBytes: 200)
        let connection = try FakeKafkaTestConnection(cluster)
        let large = FakeKafkaRequests.recordBatch([
            FakeKafkaTestRecord(key: nil, value: [UInt8](repeating: 7, count: 300))
        ])
        let fits = FakeKafkaRequests.recordBatch([
            FakeKafkaTestRecord(key: nil, value: [UInt8](repeating: 7, count: 50))
        ])
        let response = try connection.produce(
            version: 7, correlationID: 1, topic: "small", records: large)
        #expect(response.partitions.first?.errorCode == FakeKafkaErrorCode.messageTooLarge)
        let second = try connection.produce(
            version: 7, correlationID: 2, topic: "small", records: fits)
        #expect(second.partitions.first?.errorCode == 0)
    }

    @Test("Oversized request closes connection")
    func produceRequestTooLarge() throws {
        var configuration = FakeKafkaConfiguration()
        configuration.maxRequestSize = 1_000
        let cluster = try FakeKafkaCluster(configuration: configuration)
        defer { cluster.shutdown() }
        try cluster.createTopic("big", partitions: 1)
        let connection = try FakeKafkaTestConnection(cluster)
        // Only the size prefix is sent: the fake rejects the declared size before the body.
        try connection.send([0x00, 0x00, 0x10, 0x00])
        #expect(connection.receive() == .closed)
        #expect(cluster.problems().count == 1)
        #expect(cluster.problems().first?.contains("4096") == true)
    }

    @Test("Unknown topic and partition")
    func produceUnknownTopic() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("known", partitions: 1)
        let connection = try FakeKafkaTestConnection(cluster)
        let batch = FakeKafkaRequests.recordBatch(Self.sample)
        var reader = try connection.roundTrip(
            FakeKafkaRequests.produce(
                version: 9, correlationID: 1,
                batches: [
                    .init(topic: "unknown", partition: 0, records: batch),
                    .init(topic: "known", partition: 4, records: batch),
                ]))
        let codes = try reader.produceResponse(version: 9).partitions.map(\.errorCode)
        #expect(
            codes == [FakeKafkaErrorCode.unknownTopicOrPartition, FakeKafkaErrorCode.unknownTopicOrPartition])
    }

    @Test("Leader move gives NOT_LEADER_OR_FOLLOWER", arguments: [Int16(9), 10, 12])
    func produceNotLeader(version: Int16) throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
        defer { cluster.shutdown() }
        try cluster.createTopic("moving", partitions: 1)
        let batch = FakeKafkaRequests.recordBatch(Self.sample)
        let oldLeader = try FakeKafkaTestConnection(cluster, broker: 1)
        let accepted = try oldLeader.produce(
            version: version, correlationID: 1, topic: "moving", records: batch)
        #expect(accepted.partitions.first?.errorCode == 0)

        try cluster.moveLeader(topic: "moving", partition: 0, to: 3)
        let response = try oldLeader.produce(
            version: version, correlationID: 2, topic: "moving", records: batch)
        let partition = try #require(response.partitions.first)
        #expect(partition.errorCode == FakeKafkaErrorCode.notLeaderOrFollower)
        if version >= 10 {
            // CurrentLeader: LeaderId 3, LeaderEpoch 1, empty tags.
            #expect(partition.currentLeaderTag == [0, 0, 0, 3, 0, 0, 0, 1, 0])
            var endpoints = FakeKafkaResponseReader(try #require(response.nodeEndpointsTag))
            #expect(try endpoints.arrayCount(flexible: true) == 1)
            #expect(try endpoints.int32() == 3)
            #expect(try endpoints.string(flexible: true) == "127.0.0.1")
            #expect(Int(try endpoints.int32()) == (try cluster.port(ofBroker: 3)))
            #expect(try endpoints.string(flexible: true) == nil)
            #expect(try endpoints.taggedFields().isEmpty)
            #expect(endpoints.remaining == 0)
        } else {
            #expect(partition.currentLeaderTag == nil)
            #expect(response.nodeEndpointsTag == nil)
        }

        let newLeader = try FakeKafkaTestConnection(cluster, broker: 3)
        let moved = try newLeader.produce(
            version: version, correlationID: 3, topic: "moving", records: batch)
        #expect(moved.partitions.first?.baseOffset == 3)
    }

    @Test("acks=0 sends no response")
    func produceAcksZero() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("quiet", partitions: 1)
        let connection = try FakeKafkaTestConnection(cluster)
        let batch = FakeKafkaRequests.recordBatch(Self.sample)
        try connection.send(
            FakeKafkaRequests.produce(
                version: 9, correlationID: 1, acks: 0,
                batches: [.init(topic: "quiet", partition: 0, records: batch)]))
        var next = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 2))
        // The first frame to arrive is the response to the second request.
        #expect(try next.int32() == 2)
        #expect(try cluster.records(topic: "quiet", partition: 0).count == 3)

        // A failed partition with acks=0 closes the connection, as Kafka does.
        try connection.send(
            FakeKafkaRequests.produce(
                version: 9, correlationID: 3, acks: 0,
                batches: [.init(topic: "absent", partition: 0, records: batch)]))
        #expect(connection.receive() == .closed)
    }

    @Test("Unsupported version closes connection")
    func produceUnsupportedVersion() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        try connection.send(FakeKafkaRequests.produce(version: 2, correlationID: 1, batches: []))
        #expect(connection.receive() == .closed)
        #expect(cluster.problems().count == 1)
        #expect(cluster.requests().first?.note?.contains("Produce v2 is not served") == true)
    }

    @Test("Malformed request closes connection")
    func malformedRequest() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("events", partitions: 1)
        let connection = try FakeKafkaTestConnection(cluster)
        // Produce v9 whose TopicData count claims 1,000 topics in 3 bytes.
        var body = FakeKafkaBytes()
        body.string(nil, flexible: true)
        body.int16(-1)
        body.int32(1_000)
        body.unsignedVarint(1_001)
        body.bytes += [1, 2, 3]
        try connection.send(
            FakeKafkaRequests.frame(apiKey: 0, version: 9, correlationID: 1, body: body.bytes))
        #expect(connection.receive() == .closed)
        let problem = try #require(cluster.problems().first)
        #expect(problem.contains("TopicData"))
        // The broker still serves new connections.
        let fresh = try FakeKafkaTestConnection(cluster)
        var reader = try fresh.roundTrip(FakeKafkaRequests.apiVersions(version: 0, correlationID: 2))
        #expect(try reader.int32() == 2)
    }

    @Test("Concurrent producers get distinct offsets")
    func concurrentProducers() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("shared", partitions: 1)
        let port = try cluster.port(ofBroker: 1)
        // 4 connections x 50 requests x 3 records, each on its own task.
        let offsets = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    let connection = try FakeKafkaTestConnection(port: port)
                    var baseOffsets: [Int64] = []
                    for request in 0..<50 {
                        let records = (0..<3).map { index in
                            FakeKafkaTestRecord(key: [UInt8(writer)], value: [UInt8(request), UInt8(index)])
                        }
                        let response = try connection.produce(
                            version: 9, correlationID: Int32(request), topic: "shared",
                            records: FakeKafkaRequests.recordBatch(records))
                        #expect(response.correlationID == Int32(request))
                        baseOffsets.append(response.partitions[0].baseOffset)
                    }
                    return baseOffsets
                }
            }
            var all: [Int64] = []
            for try await baseOffsets in group { all += baseOffsets }
            return all
        }
        #expect(offsets.sorted() == (0..<200).map { Int64($0) * 3 })
        let records = try cluster.records(topic: "shared", partition: 0)
        #expect(records.map(\.offset) == (0..<600).map { Int64($0) })
        for writer in 0..<4 {
            let values = records.filter { $0.key == [UInt8(writer)] }.compactMap(\.value)
            #expect(values.count == 150)
            #expect(values == values.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) })
        }
    }

    @Test("Garbage bytes never crash the broker", arguments: 0..<20)
    func garbageBytes(seed: Int) throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("events", partitions: 1)
        var generator = SplitMix64(seed: UInt64(seed))
        // A valid Produce v9 frame with some bytes after the header replaced.
        var frame = FakeKafkaRequests.produce(
            version: 9, correlationID: 1,
            batches: [
                .init(topic: "events", partition: 0, records: FakeKafkaRequests.recordBatch(Self.sample))
            ])
        for _ in 0..<4 {
            let index = 14 + Int(generator.next() % UInt64(frame.count - 14))
            frame[index] = UInt8(truncatingIfNeeded: generator.next())
        }
        let connection = try FakeKafkaTestConnection(cluster)
        try connection.send(frame)
        let outcome = connection.receive(timeout: .seconds(2))
        switch outcome {
        case .frame, .closed:
            break
        default:
            Issue.record("expected a response or a close, received \(outcome)")
        }
        let fresh = try FakeKafkaTestConnection(cluster)
        var reader = try fresh.roundTrip(FakeKafkaRequests.apiVersions(version: 0, correlationID: 2))
        #expect(try reader.int32() == 2)
    }
}

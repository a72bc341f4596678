import FakeKafka
import Testing

/// ApiVersions, Metadata and InitProducerId against a running fake cluster, with hand-built bytes.
@Suite("FakeKafka protocol")
struct FakeKafkaProtocolTests {
    @Test("ApiVersions v3 worked bytes")
    func apiVersionsWorkedBytes() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        // ApiVersions v3, correlation 1, client id "c", software "ours" / "0.1.0".
        let request: [UInt8] = [
            0x00, 0x00, 0x00, 0x18, 0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x63, 0x00,
            0x05, 0x6F, 0x75, 0x72, 0x73, 0x06, 0x30, 0x2E, 0x31, 0x2E, 0x30, 0x00,
        ]
        var response = try connection.roundTrip(request)
        #expect(try response.int32() == 1)
        // Response header v0: no tagged fields after the correlation id, even at v3.
        #expect(try response.int16() == 0)
        var ranges: [Int16: ClosedRange<Int16>] = [:]
        for _ in 0..<(try response.arrayCount(flexible: true)) {
            let key = try response.int16()
            let minimum = try response.int16()
            let maximum = try response.int16()
            _ = try response.taggedFields()
            ranges[key] = minimum...maximum
        }
        #expect(try response.int32() == 0)
        #expect(try response.taggedFields().isEmpty)
        #expect(response.remaining == 0)
        #expect(ranges[0] == 3...12)
        #expect(ranges[3] == 1...12)
        #expect(ranges[18] == 0...4)
        #expect(ranges[22] == 0...5)
        #expect(ranges.count == 4)
    }

    @Test("ApiVersions too new gets v0 refusal")
    func apiVersionsTooNew() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        try connection.send(FakeKafkaRequests.apiVersions(version: 9, correlationID: 7))
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x07, 0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04,
        ]
        #expect(connection.receive() == .frame(expected))
        // The connection stays usable for the retry at a served version.
        var retry = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 4, correlationID: 8))
        #expect(try retry.int32() == 8)
        #expect(try retry.int16() == 0)
    }

    @Test("ApiVersions maximum is configurable")
    func apiVersionsConfiguredMaximum() throws {
        var configuration = FakeKafkaConfiguration()
        configuration.apiVersionsVersions = 0...2
        configuration.produceVersions = 3...8
        let cluster = try FakeKafkaCluster(configuration: configuration)
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        try connection.send(FakeKafkaRequests.apiVersions(version: 3, correlationID: 3))
        let expected: [UInt8] = [
            0x00, 0x00, 0x00, 0x03, 0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02,
        ]
        #expect(connection.receive() == .frame(expected))
        var response = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 2, correlationID: 4))
        #expect(try response.int32() == 4)
        #expect(try response.int16() == 0)
        var produceRange: ClosedRange<Int16>?
        for _ in 0..<(try response.arrayCount(flexible: false)) {
            let key = try response.int16()
            let range = try response.int16()...response.int16()
            if key == 0 { produceRange = range }
        }
        #expect(produceRange == 3...8)
    }

    @Test("ApiVersions invalid software name")
    func apiVersionsInvalidSoftwareName() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        var response = try connection.roundTrip(
            FakeKafkaRequests.apiVersions(version: 3, correlationID: 5, software: ("-bad name", "1.0")))
        #expect(try response.int32() == 5)
        #expect(try response.int16() == FakeKafkaErrorCode.invalidRequest)
    }

    @Test("Metadata three brokers, leaders spread", arguments: [Int16(1), 7, 9, 12])
    func metadataThreeBrokers(version: Int16) throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
        defer { cluster.shutdown() }
        try cluster.createTopic("events", partitions: 6)
        let flexible = version >= 9
        let connection = try FakeKafkaTestConnection(cluster, broker: 2)
        var response = try connection.roundTrip(
            FakeKafkaRequests.metadata(version: version, correlationID: 11, topics: ["events"]))
        #expect(try response.int32() == 11)
        if flexible { _ = try response.taggedFields() }
        if version >= 3 { #expect(try response.int32() == 0) }
        var ports: [Int32: Int32] = [:]
        for _ in 0..<(try response.arrayCount(flexible: flexible)) {
            let node = try response.int32()
            #expect(try response.string(flexible: flexible) == "127.0.0.1")
            ports[node] = try response.int32()
            #expect(try response.string(flexible: flexible) == nil)
            if flexible { _ = try response.taggedFields() }
        }
        for broker in cluster.brokerIDs {
            #expect(ports[broker].map(Int.init) == (try cluster.port(ofBroker: broker)))
        }
        #expect(ports.count == 3)
        if version >= 2 { #expect(try response.string(flexible: flexible) == "fake-kafka-cluster") }
        #expect(try response.int32() == 1)
        #expect(try response.arrayCount(flexible: flexible) == 1)
        #expect(try response.int16() == 0)
        #expect(try response.string(flexible: flexible) == "events")
        if version >= 10 { #expect(try response.bytes(16) != [UInt8](repeating: 0, count: 16)) }
        #expect(try response.int8() == 0)
        var leaders: [Int32] = []
        for index in 0..<(try response.arrayCount(flexible: flexible)) {
            #expect(try response.int16() == 0)
            #expect(try response.int32() == Int32(index))
            leaders.append(try response.int32())
            if version >= 7 { #expect(try response.int32() == 0) }
            let replicaCount = try response.arrayCount(flexible: flexible)
            #expect(replicaCount == 3)
            for _ in 0..<replicaCount { _ = try response.int32() }
            for _ in 0..<(try response.arrayCount(flexible: flexible)) { _ = try response.int32() }
            if version >= 5 { #expect(try response.arrayCount(flexible: flexible) == 0) }
            if flexible { _ = try response.taggedFields() }
        }
        #expect(leaders == [1, 2, 3, 1, 2, 3])
        if version >= 8 { #expect(try response.int32() == Int32.min) }
        if flexible { _ = try response.taggedFields() }
        if (8...10).contains(version) { #expect(try response.int32() == Int32.min) }
        if flexible { _ = try response.taggedFields() }
        #expect(response.remaining == 0)
    }

    @Test("Metadata unknown topic and auto-creation")
    func metadataUnknownTopic() throws {
        var configuration = FakeKafkaConfiguration()
        configuration.autoCreateTopics = true
        configuration.autoCreatePartitions = 2
        let cluster = try FakeKafkaCluster(configuration: configuration)
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)

        var refused = try connection.roundTrip(
            FakeKafkaRequests.metadata(
                version: 4, correlationID: 1, topics: ["missing"], allowAutoCreate: false))
        #expect(try refused.int32() == 1)
        #expect(try refused.int32() == 0)
        for _ in 0..<(try refused.arrayCount(flexible: false)) {
            _ = try refused.int32()
            _ = try refused.string(flexible: false)
            _ = try refused.int32()
            _ = try refused.string(flexible: false)
        }
        _ = try refused.string(flexible: false)
        _ = try refused.int32()
        #expect(try refused.arrayCount(flexible: false) == 1)
        #expect(try refused.int16() == FakeKafkaErrorCode.unknownTopicOrPartition)
        #expect(cluster.partitionCount(topic: "missing") == nil)

        _ = try connection.roundTrip(
            FakeKafkaRequests.metadata(
                version: 4, correlationID: 2, topics: ["missing"], allowAutoCreate: true))
        #expect(cluster.partitionCount(topic: "missing") == 2)
    }

    @Test("Metadata leader move bumps epoch")
    func metadataLeaderMove() throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("moves", partitions: 1)
        #expect(try cluster.leader(topic: "moves", partition: 0) == (1, 0))
        try cluster.moveLeader(topic: "moves", partition: 0, to: 2)
        #expect(try cluster.leader(topic: "moves", partition: 0) == (2, 1))
        try cluster.moveLeader(topic: "moves", partition: 0, to: -1)
        #expect(try cluster.leader(topic: "moves", partition: 0) == (-1, 2))
        #expect(throws: FakeKafkaError.self) { try cluster.moveLeader(topic: "moves", partition: 0, to: 3) }
        #expect(throws: FakeKafkaError.self) { try cluster.moveLeader(topic: "moves", partition: 1, to: 1) }
    }

    @Test("Metadata by topic id")
    func metadataByTopicID() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("by-id", partitions: 1)
        let connection = try FakeKafkaTestConnection(cluster)
        // Learn the topic id by name first (v12), then ask by id with a null name.
        var byName = try connection.roundTrip(
            FakeKafkaRequests.metadata(version: 12, correlationID: 1, topics: ["by-id"]))
        let topicID = try Self.skipToFirstTopic(&byName, version: 12).topicID
        #expect(topicID != [UInt8](repeating: 0, count: 16))

        for (correlation, requestedID, expectedError) in [
            (Int32(2), topicID, Int16(0)),
            (3, [UInt8](repeating: 7, count: 16), FakeKafkaErrorCode.unknownTopicId),
        ] {
            var body = FakeKafkaBytes()
            body.arrayCount(1, flexible: true)
            body.bytes += requestedID
            body.string(nil, flexible: true)
            body.emptyTags()
            body.int8(0)
            body.int8(0)
            body.emptyTags()
            var reader = try connection.roundTrip(
                FakeKafkaRequests.frame(apiKey: 3, version: 12, correlationID: correlation, body: body.bytes))
            let topic = try Self.skipToFirstTopic(&reader, version: 12)
            #expect(topic.errorCode == expectedError)
            #expect(topic.name == (expectedError == 0 ? "by-id" : nil))
            #expect(topic.topicID == requestedID)
        }
    }

    @Test("Metadata partition without leader")
    func metadataWithoutLeader() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("leaderless", partitions: 2, leaders: [1, -1])
        let connection = try FakeKafkaTestConnection(cluster)
        var reader = try connection.roundTrip(
            FakeKafkaRequests.metadata(version: 9, correlationID: 1, topics: ["leaderless"]))
        _ = try Self.skipToFirstTopic(&reader, version: 9)
        var partitions: [(error: Int16, leader: Int32)] = []
        for _ in 0..<(try reader.arrayCount(flexible: true)) {
            let error = try reader.int16()
            _ = try reader.int32()
            let leader = try reader.int32()
            _ = try reader.int32()
            for _ in 0..<3 { for _ in 0..<(try reader.arrayCount(flexible: true)) { _ = try reader.int32() } }
            _ = try reader.taggedFields()
            partitions.append((error, leader))
        }
        #expect(partitions.map(\.error) == [0, FakeKafkaErrorCode.leaderNotAvailable])
        #expect(partitions.map(\.leader) == [1, -1])
    }

    /// Reads a flexible Metadata response (v9+) up to the first topic's partition array and returns
    /// that topic's error code, name and id.
    static func skipToFirstTopic(
        _ reader: inout FakeKafkaResponseReader, version: Int16
    ) throws -> (
        errorCode: Int16, name: String?, topicID: [UInt8]
    ) {
        _ = try reader.int32()
        _ = try reader.taggedFields()
        _ = try reader.int32()
        for _ in 0..<(try reader.arrayCount(flexible: true)) {
            _ = try reader.int32()
            _ = try reader.string(flexible: true)
            _ = try reader.int32()
            _ = try reader.string(flexible: true)
            _ = try reader.taggedFields()
        }
        _ = try reader.string(flexible: true)
        _ = try reader.int32()
        #expect(try reader.arrayCount(flexible: true) >= 1)
        let errorCode = try reader.int16()
        let name = try reader.string(flexible: true)
        let topicID = version >= 10 ? try reader.bytes(16) : []
        _ = try reader.int8()
        return (errorCode, name, topicID)
    }

    @Test("InitProducerId issues new ids", arguments: [Int16(0), 2, 4, 5])
    func initProducerId(version: Int16) throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        var issued: [Int64] = []
        for correlation in Int32(1)...2 {
            var response = try connection.roundTrip(
                FakeKafkaRequests.initProducerId(version: version, correlationID: correlation))
            #expect(try response.int32() == correlation)
            if version >= 2 { #expect(try response.taggedFields().isEmpty) }
            #expect(try response.int32() == 0)
            #expect(try response.int16() == 0)
            issued.append(try response.int64())
            #expect(try response.int16() == 0)
            if version >= 2 { _ = try response.taggedFields() }
            #expect(response.remaining == 0)
        }
        #expect(issued == [1000, 1001])
        #expect(cluster.issuedProducerIDs == [1000: 0, 1001: 0])
    }

    @Test("Request log records headers")
    func requestLog() async throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        _ = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 41))
        _ = try connection.roundTrip(FakeKafkaRequests.metadata(version: 12, correlationID: 42, topics: nil))
        #expect(await cluster.waitForRequests(count: 2, timeout: .seconds(2)))
        let log = cluster.requests()
        #expect(log.map(\.apiKey) == [.apiVersions, .metadata])
        #expect(log.map(\.apiVersion) == [3, 12])
        #expect(log.map(\.correlationID) == [41, 42])
        #expect(log.map(\.sequenceOnConnection) == [1, 2])
        #expect(log.map(\.clientID) == ["fake-test", "fake-test"])
        #expect(log.map(\.broker) == [1, 1])
        #expect(cluster.acceptedConnectionCount(broker: 1) == 1)
        cluster.clearRequestLog()
        #expect(cluster.requests().isEmpty)
        _ = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 43))
        #expect(cluster.requestCount(apiKey: .apiVersions) == 1)
        #expect(cluster.requestCount(apiKey: .metadata) == 0)
    }
}

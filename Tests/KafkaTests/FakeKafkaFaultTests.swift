import FakeKafka
import Glibc
import SocketTransport
import Testing

/// Fault injection: errors, delays, lost responses, closed and reset connections, blackholes
/// and refused connections.
@Suite("FakeKafka faults")
struct FakeKafkaFaultTests {
    static let batch = FakeKafkaRequests.recordBatch([FakeKafkaTestRecord(key: [1], value: [2])])

    static func produce(
        _ correlationID: Int32, partitions: [Int32] = [0], records: [UInt8] = batch
    ) -> [UInt8] {
        FakeKafkaRequests.produce(
            version: 9, correlationID: correlationID,
            batches: partitions.map { .init(topic: "faults", partition: $0, records: records) })
    }

    static func makeCluster(brokers: Int = 1, partitions: Int32 = 1) throws -> FakeKafkaCluster {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: brokers))
        try cluster.createTopic(
            "faults", partitions: partitions, leaders: [Int32](repeating: 1, count: Int(partitions)))
        return cluster
    }

    @Test("Error for the next K requests")
    func errorForNextRequests() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(
            FakeKafkaFault(.error(FakeKafkaErrorCode.notEnoughReplicas), apiKey: .produce, count: 2))
        let connection = try FakeKafkaTestConnection(cluster)
        var codes: [Int16] = []
        for correlation in Int32(1)...3 {
            var reader = try connection.roundTrip(Self.produce(correlation))
            codes.append(try reader.produceResponse(version: 9).partitions[0].errorCode)
        }
        #expect(codes == [FakeKafkaErrorCode.notEnoughReplicas, FakeKafkaErrorCode.notEnoughReplicas, 0])
        #expect(try cluster.records(topic: "faults", partition: 0).count == 1)
        #expect(cluster.pendingFaults.isEmpty)
    }

    @Test("Error on one partition only")
    func errorOnOnePartition() throws {
        let cluster = try Self.makeCluster(partitions: 2)
        defer { cluster.shutdown() }
        cluster.inject(
            FakeKafkaFault(.error(FakeKafkaErrorCode.requestTimedOut), topic: "faults", partition: 1))
        let connection = try FakeKafkaTestConnection(cluster)
        var reader = try connection.roundTrip(Self.produce(1, partitions: [0, 1]))
        let partitions = try reader.produceResponse(version: 9).partitions
        #expect(partitions.map(\.errorCode) == [0, FakeKafkaErrorCode.requestTimedOut])
        #expect(try cluster.records(topic: "faults", partition: 0).count == 1)
        #expect(try cluster.records(topic: "faults", partition: 1).isEmpty)
    }

    @Test("Skip lets requests pass first")
    func skipBeforeFault() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(FakeKafkaFault(.error(FakeKafkaErrorCode.networkException), apiKey: .produce, skip: 1))
        let connection = try FakeKafkaTestConnection(cluster)
        var first = try connection.roundTrip(Self.produce(1))
        var second = try connection.roundTrip(Self.produce(2))
        #expect(try first.produceResponse(version: 9).partitions[0].errorCode == 0)
        #expect(
            try second.produceResponse(version: 9).partitions[0].errorCode
                == FakeKafkaErrorCode.networkException)
    }

    @Test("Error after append hides a success")
    func errorAfterAppend() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        _ = try connection.roundTrip(FakeKafkaRequests.initProducerId(version: 4, correlationID: 1))
        let idempotent = FakeKafkaRequests.recordBatch(
            [FakeKafkaTestRecord(key: nil, value: [5])], producerID: 1000, producerEpoch: 0, baseSequence: 0)
        cluster.inject(
            FakeKafkaFault(
                .error(FakeKafkaErrorCode.notEnoughReplicasAfterAppend, afterAppend: true), apiKey: .produce))
        var failed = try connection.roundTrip(Self.produce(2, records: idempotent))
        #expect(
            try failed.produceResponse(version: 9).partitions[0].errorCode
                == FakeKafkaErrorCode.notEnoughReplicasAfterAppend)
        #expect(try cluster.records(topic: "faults", partition: 0).count == 1)
        var retried = try connection.roundTrip(Self.produce(3, records: idempotent))
        let answer = try retried.produceResponse(version: 9).partitions[0]
        #expect(answer.errorCode == 0)
        #expect(answer.baseOffset == 0)
        #expect(try cluster.records(topic: "faults", partition: 0).count == 1)
    }

    @Test("Metadata error fault")
    func metadataError() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(FakeKafkaFault(.error(FakeKafkaErrorCode.leaderNotAvailable), apiKey: .metadata))
        let connection = try FakeKafkaTestConnection(cluster)
        for (correlation, expected) in [(Int32(1), FakeKafkaErrorCode.leaderNotAvailable), (2, 0)] {
            var reader = try connection.roundTrip(
                FakeKafkaRequests.metadata(version: 1, correlationID: correlation, topics: ["faults"]))
            #expect(try reader.int32() == correlation)
            for _ in 0..<(try reader.arrayCount(flexible: false)) {
                _ = try reader.int32()
                _ = try reader.string(flexible: false)
                _ = try reader.int32()
                _ = try reader.string(flexible: false)
            }
            _ = try reader.int32()
            #expect(try reader.arrayCount(flexible: false) == 1)
            #expect(try reader.int16() == expected)
        }
    }

    @Test("Fault limited to one broker")
    func faultOnOneBroker() throws {
        let cluster = try Self.makeCluster(brokers: 2)
        defer { cluster.shutdown() }
        cluster.inject(
            FakeKafkaFault(.error(FakeKafkaErrorCode.unsupportedVersion), apiKey: .apiVersions, broker: 2))
        let first = try FakeKafkaTestConnection(cluster, broker: 1)
        let second = try FakeKafkaTestConnection(cluster, broker: 2)
        var fromFirst = try first.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        var fromSecond = try second.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 2))
        _ = try fromFirst.int32()
        _ = try fromSecond.int32()
        #expect(try fromFirst.int16() == 0)
        #expect(try fromSecond.int16() == FakeKafkaErrorCode.unsupportedVersion)
    }

    @Test("Delay holds the response")
    func delayResponse() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(FakeKafkaFault(.delay(.milliseconds(300)), apiKey: .produce))
        let connection = try FakeKafkaTestConnection(cluster)
        let clock = ContinuousClock()
        let start = clock.now
        var reader = try connection.roundTrip(Self.produce(1))
        let elapsed = clock.now - start
        #expect(try reader.produceResponse(version: 9).partitions[0].errorCode == 0)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(2))
    }

    @Test("Dropped response after append", arguments: [true, false])
    func dropResponse(afterProcessing: Bool) throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(FakeKafkaFault(.dropResponse(afterProcessing: afterProcessing), apiKey: .produce))
        let connection = try FakeKafkaTestConnection(cluster)
        try connection.send(Self.produce(1))
        #expect(connection.receive(timeout: .milliseconds(300)) == .timedOut)
        #expect(try cluster.records(topic: "faults", partition: 0).count == (afterProcessing ? 1 : 0))
        var next = try connection.roundTrip(Self.produce(2))
        #expect(try next.produceResponse(version: 9).correlationID == 2)
    }

    @Test("Connection closed after request 2")
    func closeAfterSecondRequest() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(FakeKafkaFault(.closeConnection(afterProcessing: false), skip: 1))
        let connection = try FakeKafkaTestConnection(cluster)
        var first = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        #expect(try first.int32() == 1)
        try connection.send(Self.produce(2))
        #expect(connection.receive() == .closed)
        #expect(cluster.requests().count == 2)
        #expect(try cluster.records(topic: "faults", partition: 0).isEmpty)
        #expect(cluster.requests().last?.note?.contains("closeConnection") == true)
    }

    @Test("Close on request 2 of every connection")
    func closeOnSecondRequestOfEachConnection() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(
            FakeKafkaFault(
                .closeConnection(afterProcessing: false), requestNumberOnConnection: 2, count: Int.max))
        for _ in 0..<2 {
            let connection = try FakeKafkaTestConnection(cluster)
            var first = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
            #expect(try first.int32() == 1)
            try connection.send(FakeKafkaRequests.apiVersions(version: 3, correlationID: 2))
            #expect(connection.receive() == .closed)
        }
        #expect(cluster.pendingFaults.count == 1)
    }

    @Test("Reset fault gives ECONNRESET")
    func resetFault() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        cluster.inject(FakeKafkaFault(.resetConnection(afterProcessing: true), apiKey: .produce))
        let connection = try FakeKafkaTestConnection(cluster)
        try connection.send(Self.produce(1))
        #expect(connection.receive() == .failed(ECONNRESET))
        #expect(try cluster.records(topic: "faults", partition: 0).count == 1)
    }

    @Test("Reset all open connections")
    func resetOpenConnections() throws {
        let cluster = try Self.makeCluster(brokers: 2)
        defer { cluster.shutdown() }
        let first = try FakeKafkaTestConnection(cluster, broker: 1)
        let second = try FakeKafkaTestConnection(cluster, broker: 2)
        _ = try first.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        _ = try second.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        #expect(try cluster.resetConnections(broker: 1) == 1)
        #expect(first.receive() == .failed(ECONNRESET))
        var stillOpen = try second.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 2))
        #expect(try stillOpen.int32() == 2)
    }

    @Test("Blackhole and resume")
    func blackhole() async throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        cluster.startBlackhole()
        try connection.send(Self.produce(1))
        #expect(connection.receive(timeout: .milliseconds(300)) == .timedOut)
        #expect(await cluster.waitForRequests(count: 1, apiKey: .produce, timeout: .seconds(1)))
        #expect(try cluster.records(topic: "faults", partition: 0).isEmpty)
        cluster.stopBlackhole()
        var answered = try connection.roundTrip(Self.produce(2))
        #expect(try answered.produceResponse(version: 9).correlationID == 2)
        #expect(try cluster.records(topic: "faults", partition: 0).count == 1)
    }

    @Test("Refuse and restore connections")
    func refuseConnections() throws {
        let cluster = try Self.makeCluster()
        defer { cluster.shutdown() }
        let port = try cluster.port(ofBroker: 1)
        let existing = try FakeKafkaTestConnection(cluster)
        // A round trip makes sure the broker accepted the connection: closing the listener
        // resets connections still waiting in its backlog.
        var before = try existing.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 0))
        #expect(try before.int32() == 0)
        try cluster.refuseConnections(broker: 1)
        do {
            _ = try FakeKafkaTestConnection(port: port)
            Issue.record("connect succeeded while the broker refused connections")
        } catch let error as TransportError {
            #expect(error.errno == ECONNREFUSED)
        }
        var reader = try existing.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        #expect(try reader.int32() == 1)
        try cluster.acceptConnections(broker: 1)
        let fresh = try FakeKafkaTestConnection(port: port)
        var again = try fresh.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 2))
        #expect(try again.int32() == 2)
        #expect(cluster.acceptedConnectionCount(broker: 1) == 2)
    }
}

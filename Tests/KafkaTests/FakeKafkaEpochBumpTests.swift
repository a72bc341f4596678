import FakeKafka
import Testing

/// Epoch bumps through InitProducerId v3+ on the fake broker, read back from hand-built requests.
@Suite("FakeKafka epoch bump")
struct FakeKafkaEpochBumpTests {
    struct InitProducerIdResult: Equatable {
        var errorCode: Int16
        var producerID: Int64
        var epoch: Int16
    }

    static func initProducerId(
        _ connection: FakeKafkaTestConnection, correlationID: Int32, producerID: Int64, epoch: Int16
    ) throws -> InitProducerIdResult {
        var response = try connection.roundTrip(
            FakeKafkaRequests.initProducerId(
                version: 4, correlationID: correlationID, producerID: producerID, producerEpoch: epoch))
        #expect(try response.int32() == correlationID)
        _ = try response.taggedFields()
        _ = try response.int32()
        let errorCode = try response.int16()
        let id = try response.int64()
        let newEpoch = try response.int16()
        return InitProducerIdResult(errorCode: errorCode, producerID: id, epoch: newEpoch)
    }

    static func produce(
        _ connection: FakeKafkaTestConnection, correlationID: Int32, epoch: Int16, sequence: Int32
    ) throws -> FakeKafkaTestProducePartition {
        let batch = FakeKafkaRequests.recordBatch(
            [FakeKafkaTestRecord(key: nil, value: [1])], producerID: 1000, producerEpoch: epoch,
            baseSequence: sequence)
        let response = try connection.produce(
            version: 11, correlationID: correlationID, topic: "bump", records: batch)
        return try #require(response.partitions.first)
    }

    @Test("Bump increments epoch and fences the old one")
    func bumpFencesOldEpoch() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("bump", partitions: 1)
        let connection = try FakeKafkaTestConnection(cluster)
        let first = try Self.initProducerId(connection, correlationID: 1, producerID: -1, epoch: -1)
        #expect(first == InitProducerIdResult(errorCode: 0, producerID: 1000, epoch: 0))
        #expect(try Self.produce(connection, correlationID: 2, epoch: 0, sequence: 0).errorCode == 0)

        let bumped = try Self.initProducerId(connection, correlationID: 3, producerID: 1000, epoch: 0)
        #expect(bumped == InitProducerIdResult(errorCode: 0, producerID: 1000, epoch: 1))
        #expect(cluster.issuedProducerIDs == [1000: 1])
        let stale = try Self.initProducerId(connection, correlationID: 4, producerID: 1000, epoch: 0)
        #expect(stale.errorCode == FakeKafkaErrorCode.producerFenced)
        let unknown = try Self.initProducerId(connection, correlationID: 5, producerID: 4242, epoch: 0)
        #expect(unknown.errorCode == FakeKafkaErrorCode.unknownProducerId)

        // The new epoch starts at sequence 0; once the partition saw it, the old epoch is fenced.
        #expect(try Self.produce(connection, correlationID: 6, epoch: 1, sequence: 0).errorCode == 0)
        let old = try Self.produce(connection, correlationID: 7, epoch: 0, sequence: 1)
        #expect(old.errorCode == FakeKafkaErrorCode.invalidProducerEpoch)
        let logged = cluster.requests(apiKey: .initProducerId).compactMap(\.initProducerID)
        #expect(logged.map(\.producerID) == [-1, 1000, 1000, 4242])
        #expect(logged.map(\.producerEpoch) == [-1, 0, 0, 0])
    }

    @Test("Bump off gives a new producer id")
    func bumpOffGivesNewID() throws {
        var configuration = FakeKafkaConfiguration()
        configuration.initProducerIdBumpsEpoch = false
        let cluster = try FakeKafkaCluster(configuration: configuration)
        defer { cluster.shutdown() }
        let connection = try FakeKafkaTestConnection(cluster)
        _ = try Self.initProducerId(connection, correlationID: 1, producerID: -1, epoch: -1)
        let second = try Self.initProducerId(connection, correlationID: 2, producerID: 1000, epoch: 0)
        #expect(second == InitProducerIdResult(errorCode: 0, producerID: 1001, epoch: 0))
    }
}

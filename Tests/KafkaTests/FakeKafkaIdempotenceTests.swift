import FakeKafka
import Testing

/// Producer ids and the per-partition sequence window of the fake broker.
@Suite("FakeKafka idempotence")
struct FakeKafkaIdempotenceTests {
    /// A cluster with topic "ids" (one partition) and a connection whose producer id is 1000.
    struct Fixture {
        let cluster: FakeKafkaCluster
        let connection: FakeKafkaTestConnection
        var correlationID: Int32 = 10

        init(configuration: FakeKafkaConfiguration = FakeKafkaConfiguration()) throws {
            cluster = try FakeKafkaCluster(configuration: configuration)
            try cluster.createTopic("ids", partitions: 1)
            connection = try FakeKafkaTestConnection(cluster)
            _ = try connection.roundTrip(FakeKafkaRequests.initProducerId(version: 4, correlationID: 1))
        }

        static func batch(
            sequence: Int32, count: Int = 1, epoch: Int16 = 0, producerID: Int64 = 1000
        ) -> [UInt8] {
            let records = (0..<count).map { _ in
                FakeKafkaTestRecord(key: nil, value: [UInt8(truncatingIfNeeded: sequence)])
            }
            return FakeKafkaRequests.recordBatch(
                records, producerID: producerID, producerEpoch: epoch, baseSequence: sequence)
        }

        /// Sends one batch with Produce v11 and returns the response for its partition.
        mutating func produce(_ batch: [UInt8]) throws -> FakeKafkaTestProducePartition {
            correlationID += 1
            let response = try connection.produce(
                version: 11, correlationID: correlationID, topic: "ids", records: batch)
            return try #require(response.partitions.first)
        }
    }

    @Test("Duplicate returns original offset")
    func duplicateReturnsOriginalOffset() throws {
        var fixture = try Fixture()
        defer { fixture.cluster.shutdown() }
        let first = Fixture.batch(sequence: 0, count: 2)
        #expect(try fixture.produce(first).baseOffset == 0)
        #expect(try fixture.produce(Fixture.batch(sequence: 2, count: 3)).baseOffset == 2)
        let retry = try fixture.produce(first)
        #expect(retry.errorCode == 0)
        #expect(retry.baseOffset == 0)
        #expect(try fixture.cluster.logEndOffset(topic: "ids", partition: 0) == 5)
        let produced = fixture.cluster.producedBatches()
        #expect(produced.map(\.isDuplicate) == [false, false, true])
        #expect(produced[2].batch.rawBytes == produced[0].batch.rawBytes)
        #expect(produced.map(\.batch.baseSequence) == [0, 2, 0])
        #expect(produced.map(\.batch.producerID) == [1000, 1000, 1000])
    }

    @Test("Duplicate as DUPLICATE_SEQUENCE_NUMBER")
    func duplicateSequenceError() throws {
        var configuration = FakeKafkaConfiguration()
        configuration.duplicateHandling = .duplicateSequenceError
        var fixture = try Fixture(configuration: configuration)
        defer { fixture.cluster.shutdown() }
        _ = try fixture.produce(Fixture.batch(sequence: 0))
        let retry = try fixture.produce(Fixture.batch(sequence: 0))
        #expect(retry.errorCode == FakeKafkaErrorCode.duplicateSequenceNumber)
        #expect(try fixture.cluster.logEndOffset(topic: "ids", partition: 0) == 1)
    }

    @Test("Sequence gap is out of order")
    func sequenceGap() throws {
        var fixture = try Fixture()
        defer { fixture.cluster.shutdown() }
        _ = try fixture.produce(Fixture.batch(sequence: 0))
        let gap = try fixture.produce(Fixture.batch(sequence: 2))
        #expect(gap.errorCode == FakeKafkaErrorCode.outOfOrderSequenceNumber)
        #expect(gap.baseOffset == -1)
        #expect(try fixture.cluster.logEndOffset(topic: "ids", partition: 0) == 1)
        #expect(try fixture.produce(Fixture.batch(sequence: 1)).errorCode == 0)
    }

    @Test("Window holds the last five batches")
    func windowOfFive() throws {
        var fixture = try Fixture()
        defer { fixture.cluster.shutdown() }
        for sequence in Int32(0)..<6 {
            #expect(try fixture.produce(Fixture.batch(sequence: sequence)).errorCode == 0)
        }
        // Sequence 0 left the window; a retry of it can no longer be recognised.
        #expect(
            try fixture.produce(Fixture.batch(sequence: 0)).errorCode
                == FakeKafkaErrorCode.outOfOrderSequenceNumber)
        let inWindow = try fixture.produce(Fixture.batch(sequence: 1))
        #expect(inWindow.errorCode == 0)
        #expect(inWindow.baseOffset == 1)
    }

    @Test("First sequence must be zero unless relaxed", arguments: [true, false])
    func firstSequence(strict: Bool) throws {
        var configuration = FakeKafkaConfiguration()
        configuration.requireFirstSequenceZero = strict
        var fixture = try Fixture(configuration: configuration)
        defer { fixture.cluster.shutdown() }
        let answer = try fixture.produce(Fixture.batch(sequence: 7))
        #expect(answer.errorCode == (strict ? FakeKafkaErrorCode.outOfOrderSequenceNumber : 0))
    }

    @Test("Sequence wraps past Int32.max")
    func sequenceWraps() throws {
        var configuration = FakeKafkaConfiguration()
        configuration.requireFirstSequenceZero = false
        var fixture = try Fixture(configuration: configuration)
        defer { fixture.cluster.shutdown() }
        #expect(try fixture.produce(Fixture.batch(sequence: Int32.max - 1, count: 2)).errorCode == 0)
        #expect(try fixture.produce(Fixture.batch(sequence: 0)).errorCode == 0)
        #expect(
            try fixture.produce(Fixture.batch(sequence: 2)).errorCode
                == FakeKafkaErrorCode.outOfOrderSequenceNumber)
    }

    @Test("Epochs: bump restarts at zero, old epoch fenced")
    func epochs() throws {
        var fixture = try Fixture()
        defer { fixture.cluster.shutdown() }
        _ = try fixture.produce(Fixture.batch(sequence: 0, epoch: 0))
        _ = try fixture.produce(Fixture.batch(sequence: 1, epoch: 0))
        #expect(
            try fixture.produce(Fixture.batch(sequence: 2, epoch: 1)).errorCode
                == FakeKafkaErrorCode.outOfOrderSequenceNumber)
        #expect(try fixture.produce(Fixture.batch(sequence: 0, epoch: 1)).errorCode == 0)
        #expect(
            try fixture.produce(Fixture.batch(sequence: 2, epoch: 0)).errorCode
                == FakeKafkaErrorCode.invalidProducerEpoch)
    }

    @Test("Unknown producer id")
    func unknownProducerID() throws {
        var fixture = try Fixture()
        defer { fixture.cluster.shutdown() }
        let answer = try fixture.produce(Fixture.batch(sequence: 0, producerID: 77))
        #expect(answer.errorCode == FakeKafkaErrorCode.unknownProducerId)
    }

    @Test("Negative sequence with producer id")
    func negativeSequence() throws {
        var fixture = try Fixture()
        defer { fixture.cluster.shutdown() }
        #expect(
            try fixture.produce(Fixture.batch(sequence: -1)).errorCode == FakeKafkaErrorCode.invalidRecord)
    }
}

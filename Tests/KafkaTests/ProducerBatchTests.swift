@testable import Kafka
import KafkaWire
import Testing

/// Batches built by the producer, decoded by KafkaWire's independent RecordBatch decoder, which
/// verifies magic 2 and the CRC-32C.
@Suite struct ProducerBatchTests {
    private func makeBatch() -> ProducerBatch {
        let batch = ProducerBatch(topic: "t", partition: 3, id: 1, createdAt: .now, capacity: 64)
        let records: [([UInt8]?, [UInt8]?, [KafkaHeader], Int64)] = [
            ([1, 2, 3, 4], [5, 6, 7], [KafkaHeader(key: "h", value: [0x0B, 0x0C])], 1_479_847_795_000),
            (nil, [9], [], 1_479_847_794_990),
            (Array("k".utf8), nil, [KafkaHeader(key: "empty", value: nil), KafkaHeader(key: "b", value: [])],
             1_479_847_795_100),
        ]
        for (key, value, headers, timestamp) in records {
            _ = batch.tryAppend(key: key, value: value, headers: headers, timestamp: timestamp, limit: 10_000)
        }
        return batch
    }

    @Test func sealedBatchDecodesWithValidCRC() throws {
        let batch = makeBatch()
        batch.seal(producerID: 1_000, producerEpoch: 2, baseSequence: 17)
        let decoded = try #require(try RecordBatch.decodeAll(batch.bytes).first)
        #expect(decoded.producerId == 1_000)
        #expect(decoded.producerEpoch == 2)
        #expect(decoded.baseSequence == 17)
        #expect(decoded.recordCount == 3)
        #expect(decoded.lastOffsetDelta == 2)
        #expect(decoded.baseTimestamp == 1_479_847_795_000)
        #expect(decoded.maxTimestamp == 1_479_847_795_100)
        #expect(decoded.partitionLeaderEpoch == -1)
        #expect(decoded.records.map(\.key) == [[1, 2, 3, 4], nil, Array("k".utf8)])
        #expect(decoded.records.map(\.value) == [[5, 6, 7], [9], nil])
        #expect(decoded.records.map { decoded.timestamp(of: $0) }
            == [1_479_847_795_000, 1_479_847_794_990, 1_479_847_795_100])
        let expectedHeaders = [RecordHeader(key: "empty", value: nil), RecordHeader(key: "b", value: [])]
        #expect(decoded.records[2].headers == expectedHeaders)
        #expect(decoded.records.map(\.offsetDelta) == [0, 1, 2])
    }

    @Test func rewrittenProducerFieldsKeepCRCValid() throws {
        let batch = makeBatch()
        batch.seal(producerID: 1_000, producerEpoch: 0, baseSequence: 0)
        let before = batch.bytes
        batch.rewriteProducerFields(producerID: 2_000, producerEpoch: 1, baseSequence: Int32.max - 1)
        let decoded = try #require(try RecordBatch.decodeAll(batch.bytes).first)
        #expect(decoded.producerId == 2_000)
        #expect(decoded.baseSequence == Int32.max - 1)
        #expect(Array(batch.bytes[61...]) == Array(before[61...]), "records are untouched")
    }

    @Test func splitPartsDecodeWithOriginalRecords() throws {
        let batch = makeBatch()
        batch.seal(producerID: 7, producerEpoch: 0, baseSequence: 100)
        batch.attempts = 1
        // A target below every record's size puts each record in a batch of its own.
        let parts = try #require(batch.split(targetSize: ProducerBatch.headerSize + 1, firstID: 10, now: .now))
        for part in parts {
            part.seal(producerID: part.producerID, producerEpoch: part.producerEpoch, baseSequence: part.baseSequence)
        }
        let decoded = try parts.map { try #require(try RecordBatch.decodeAll($0.bytes).first) }
        #expect(decoded.map(\.baseSequence) == [100, 101, 102])
        #expect(decoded.flatMap(\.records).map(\.value) == [[5, 6, 7], [9], nil])
        #expect(decoded[1].baseTimestamp == 1_479_847_794_990)
        #expect(decoded[2].records.map { decoded[2].timestamp(of: $0) } == [1_479_847_795_100])
    }

    @Test func splitPacksPartsBySize() throws {
        let batch = ProducerBatch(topic: "t", partition: 0, id: 1, createdAt: .now, capacity: 4_096)
        let sizes = [10, 10, 900, 10, 10, 10]
        for (index, size) in sizes.enumerated() {
            _ = batch.tryAppend(key: nil, value: [UInt8](repeating: UInt8(index), count: size), headers: [],
                                timestamp: 0, limit: 4_096)
        }
        batch.seal(producerID: 7, producerEpoch: 3, baseSequence: 20)
        let parts = try #require(batch.split(targetSize: 200, firstID: 10, now: .now))
        #expect(parts.map(\.recordCount) == [2, 1, 3])
        #expect(parts.map(\.baseSequence) == [20, 22, 23])
        #expect(parts.map(\.producerEpoch) == [3, 3, 3])
        #expect(parts[0].byteCount <= 200)
        #expect(parts[2].byteCount <= 200)
    }

    @Test func batchRejectsRecordBeyondLimit() {
        let batch = ProducerBatch(topic: "t", partition: 0, id: 1, createdAt: .now, capacity: 64)
        let first = batch.tryAppend(key: nil, value: [UInt8](repeating: 1, count: 100), headers: [], timestamp: 0,
                                    limit: 200)
        let second = batch.tryAppend(key: nil, value: [UInt8](repeating: 1, count: 100), headers: [], timestamp: 0,
                                     limit: 200)
        #expect(first == 0)
        #expect(second == nil)
        #expect(batch.recordCount == 1)
    }
}

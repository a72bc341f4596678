import Foundation
import Testing

@testable import KafkaWire

/// The published vectors in Fixtures/kafka/vectors, each checked there against kafka-python.
@Suite struct VectorFixtureTests {
    @Test(arguments: ["sarama-empty-batch", "sarama-control-batch", "sarama-uncompressed-batch"])
    func saramaBatchEncodesAndDecodes(name: String) throws {
        let bytes = KafkaFixtures.bytes("vectors/\(name)")
        let sidecar = KafkaFixtures.sidecar("vectors/\(name)")
        let fields = dictionary(sidecar["fields"])
        try #require(!bytes.isEmpty, "missing vectors/\(name).bin")

        let batch = try #require(try RecordBatch.decodeAll(bytes).first)
        #expect(
            Int(batch.crc) == Int(string(sidecar["published_crc_hex"]).flatMap { UInt32($0, radix: 16) } ?? 0)
        )
        #expect(Int(batch.partitionLeaderEpoch) == int(fields["partition_leader_epoch"]))
        #expect(Int(batch.attributes.rawValue) == int(fields["attributes"]))
        #expect(Int(batch.lastOffsetDelta) == int(fields["last_offset_delta"]))
        #expect(Int(batch.baseTimestamp) == int(fields["first_timestamp"]))
        #expect(Int(batch.maxTimestamp) == int(fields["max_timestamp"]))
        #expect(Int(batch.producerId) == int(fields["producer_id"]))
        #expect(Int(batch.producerEpoch) == int(fields["producer_epoch"]))
        #expect(Int(batch.baseSequence) == int(fields["base_sequence"]))
        #expect(Int(batch.recordCount) == int(fields["records_count"]))

        var model = RecordBatch(
            partitionLeaderEpoch: Int32(int(fields["partition_leader_epoch"]) ?? -99),
            attributes: RecordBatchAttributes(rawValue: Int16(int(fields["attributes"]) ?? -1)),
            baseTimestamp: Int64(int(fields["first_timestamp"]) ?? -1),
            maxTimestamp: Int64(int(fields["max_timestamp"]) ?? -1),
            producerId: Int64(int(fields["producer_id"]) ?? -99),
            producerEpoch: Int16(int(fields["producer_epoch"]) ?? -99),
            baseSequence: Int32(int(fields["base_sequence"]) ?? -99),
            records: name == "sarama-uncompressed-batch" ? [RecordBatchTests.goldenRecord] : [])
        model.lastOffsetDelta = Int32(int(fields["last_offset_delta"]) ?? -99)
        #expect(hexString(try model.encoded()) == hexString(bytes))
    }

    @Test func handBuiltGoldenBatchEqualsVectorFile() {
        #expect(KafkaFixtures.bytes("vectors/sarama-uncompressed-batch") == RecordBatchTests.goldenBatch)
    }

    @Test func varintVectorFile() throws {
        let vectors = dictionary(KafkaFixtures.json("vectors/varint.json"))
        let zigzag = array(vectors["zigzag_varint"]).map(dictionary)
        let unsigned = array(vectors["unsigned_varint"]).map(dictionary)
        #expect(zigzag.count >= 9)
        #expect(unsigned.count >= 3)
        for vector in zigzag {
            let value = try #require(int(vector["value"]))
            let expected = hexBytes(try #require(string(vector["hex"])))
            var writer = WireWriter()
            if let value32 = Int32(exactly: value) {
                writer.writeVarint(value32)
            } else {
                writer.writeVarlong(Int64(value))
            }
            #expect(writer.bytes == expected, "zigzag \(value)")
            var reader = WireReader(expected)
            #expect(try reader.readVarlong("value") == Int64(value), "zigzag \(value)")
        }
        for vector in unsigned {
            let value = try #require(int(vector["value"]))
            let expected = hexBytes(try #require(string(vector["hex"])))
            guard let value32 = UInt32(exactly: value) else { continue }
            var writer = WireWriter()
            writer.writeUnsignedVarint(value32)
            #expect(writer.bytes == expected, "unsigned \(value)")
            var reader = WireReader(expected)
            #expect(try reader.readUnsignedVarint("value") == value32, "unsigned \(value)")
        }
    }

    @Test func crc32cVectorFile() throws {
        let vectors = array(dictionary(KafkaFixtures.json("vectors/crc32c.json"))["vectors"]).map(dictionary)
        #expect(vectors.count >= 2)
        for vector in vectors {
            let input = Array(try #require(string(vector["ascii"])).utf8)
            #expect(Int(CRC32C.checksum(input)) == int(vector["crc32c"]))
        }
    }

    @Test func murmur2VectorFile() throws {
        let vectors = array(dictionary(KafkaFixtures.json("vectors/murmur2.json"))["vectors"]).map(dictionary)
        #expect(vectors.count >= 6)
        for vector in vectors {
            let key = Array(try #require(string(vector["key_ascii"])).utf8)
            #expect(Int(Murmur2.hash(key)) == int(vector["murmur2_signed"]))
            #expect(Murmur2.partition(forKey: key, partitionCount: 3) == int(vector["partition_of_3"]))
            #expect(Murmur2.partition(forKey: key, partitionCount: 12) == int(vector["partition_of_12"]))
        }
    }
}

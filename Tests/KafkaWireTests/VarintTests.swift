import Testing

@testable import KafkaWire

@Suite struct VarintTests {
    // Vectors from ByteUtilsTest.java in Apache Kafka.
    static let signed: [(Int32, String)] = [
        (0, "00"), (-1, "01"), (1, "02"), (63, "7E"), (-64, "7F"), (64, "80 01"), (-65, "81 01"),
        (8191, "FE 7F"), (8192, "80 80 01"),
    ]

    @Test(arguments: signed)
    func zigzagVarintVectors(value: Int32, hex: String) throws {
        var writer = WireWriter()
        writer.writeVarint(value)
        #expect(writer.bytes == hexBytes(hex))
        #expect(VarintSize.varint(value) == hexBytes(hex).count)
        var reader = WireReader(hexBytes(hex))
        #expect(try reader.readVarint("v") == value)
        #expect(reader.isAtEnd)
    }

    @Test(arguments: [(UInt32(64), "40"), (8192, "80 40"), (UInt32(Int32.max), "FF FF FF FF 07"), (0, "00")])
    func unsignedVarintVectors(value: UInt32, hex: String) throws {
        var writer = WireWriter()
        writer.writeUnsignedVarint(value)
        #expect(writer.bytes == hexBytes(hex))
        var reader = WireReader(hexBytes(hex))
        #expect(try reader.readUnsignedVarint("v") == value)
        #expect(reader.isAtEnd)
    }

    @Test func varlongRoundTripsExtremes() throws {
        for value: Int64 in [0, -1, 1, Int64.max, Int64.min, 1_479_847_795_000, -1_479_847_795_000] {
            var writer = WireWriter()
            writer.writeVarlong(value)
            #expect(writer.count == VarintSize.varlong(value))
            var reader = WireReader(writer.bytes)
            #expect(try reader.readVarlong("v") == value)
        }
        var writer = WireWriter()
        writer.writeVarlong(Int64.min)
        #expect(writer.count == 10)
    }

    @Test func varintExtremesRoundTrip() throws {
        for value: Int32 in [Int32.max, Int32.min] {
            var writer = WireWriter()
            writer.writeVarint(value)
            #expect(writer.count == 5)
            var reader = WireReader(writer.bytes)
            #expect(try reader.readVarint("v") == value)
        }
    }

    @Test func truncatedVarintThrowsAndConsumesNothing() {
        var reader = WireReader([0x80, 0x80])
        let error = decodingError { try reader.readVarint("Length") }
        #expect(error?.kind == .truncated)
        #expect(error?.field == "Length")
        #expect(reader.readerIndex == 0)
    }

    @Test func overlongVarintIsInvalid() {
        var reader = WireReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        let error = decodingError { try reader.readVarint("Length") }
        #expect(error?.kind == .invalidVarint)
        var unsignedReader = WireReader([0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect(decodingError { try unsignedReader.readUnsignedVarint("n") }?.kind == .invalidVarint)
        var longReader = WireReader([UInt8](repeating: 0xFF, count: 10) + [0x01])
        #expect(decodingError { try longReader.readVarlong("n") }?.kind == .invalidVarint)
    }
}

import RedisWire
import Testing

@Suite("RESP encoder")
struct RESPEncoderTests {
    @Test("command as array of bulk strings")
    func commandEncoding() {
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand([[UInt8](ascii: "SET"), [UInt8](ascii: "key"), []], into: &buffer)
        #expect(buffer == [UInt8](ascii: "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n"))
    }

    @Test("binary arguments copied verbatim")
    func binaryArguments() {
        var buffer: [UInt8] = [0xAA]
        let channel: [UInt8] = [0xC3, 0x28, 0x00, 0xFF]
        RESPEncoder.encodeCommand([[UInt8](ascii: "PUBLISH"), channel, [0x0D, 0x0A, 0x00]], into: &buffer)
        let expected: [UInt8] =
            [0xAA] + [UInt8](ascii: "*3\r\n$7\r\nPUBLISH\r\n$4\r\n") + channel
            + [UInt8](ascii: "\r\n$3\r\n") + [0x0D, 0x0A, 0x00] + [UInt8](ascii: "\r\n")
        #expect(buffer == expected)
    }

    @Test("publish fast path matches general encoding")
    func publishFastPath() {
        let payload = [UInt8](repeating: 0x41, count: 1_234)
        var fast: [UInt8] = []
        RESPEncoder.encodePublish(channel: [UInt8](ascii: "events:push:1"), message: payload, into: &fast)
        let expected =
            [UInt8](ascii: "*3\r\n$7\r\nPUBLISH\r\n$13\r\nevents:push:1\r\n$1234\r\n") + payload
            + [UInt8](ascii: "\r\n")
        #expect(fast == expected)
    }

    @Test("reply values round trip through parser")
    func replyRoundTrip() throws {
        let values: [RESPValue] = [
            .integer(Int64.min), .integer(0), .integer(Int64.max), .nullArray, .nullBulkString,
            .array([.simpleString([UInt8](ascii: "OK")), .error([UInt8](ascii: "ERR x")), .array([])]),
        ]
        var buffer: [UInt8] = []
        for value in values { RESPEncoder.encode(value, into: &buffer) }
        #expect(try ParserHarness.parseWhole(buffer) == values)
        #expect(Array(buffer.prefix(22)) == [UInt8](ascii: ":-9223372036854775808\r"))
    }
}

@Suite("RESP encoder lengths")
struct RESPEncoderLengthTests {
    @Test("length headers for every digit count")
    func lengthHeaders() {
        for length in [0, 1, 9, 10, 99, 100, 255, 256, 999, 1_000, 12_345, 1_048_576] {
            var buffer: [UInt8] = []
            RESPEncoder.appendBulkString([UInt8](repeating: 0x61, count: length), into: &buffer)
            let header = [UInt8](ascii: "$\(length)\r\n")
            #expect(Array(buffer.prefix(header.count)) == header, "length \(length)")
            #expect(buffer.count == header.count + length + 2, "length \(length)")
        }
    }
}

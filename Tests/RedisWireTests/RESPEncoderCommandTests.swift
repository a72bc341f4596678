import RedisWire
import Testing

/// Command encoding checked against bytes built with string interpolation, not with the encoder.
@Suite("RESP encoder commands")
struct RESPEncoderCommandTests {
    static let lengths = [0, 1, 9, 10, 99, 100, 255, 999, 1_000, 9_999, 10_000, 12_345, 1_048_576]

    /// Returns `$<length>\r\n<bytes>\r\n`, written from the RESP2 rules.
    static func expectedBulkString(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](ascii: "$\(bytes.count)\r\n") + bytes + [UInt8](ascii: "\r\n")
    }

    @Test("argument lengths of every digit count")
    func argumentLengths() {
        for length in Self.lengths {
            let argument = [UInt8](repeating: 0x61, count: length)
            var buffer: [UInt8] = []
            RESPEncoder.encodeCommand([[UInt8](ascii: "SET"), argument], into: &buffer)
            let expected =
                [UInt8](ascii: "*2\r\n") + Self.expectedBulkString([UInt8](ascii: "SET"))
                + Self.expectedBulkString(argument)
            #expect(buffer == expected, "length \(length)")
        }
    }

    @Test("argument counts of every digit count")
    func argumentCounts() {
        for count in [1, 9, 10, 99, 100, 999, 1_000, 10_000] {
            let arguments = (0..<count).map { [UInt8](ascii: "a\($0)") }
            var buffer: [UInt8] = []
            RESPEncoder.encodeCommand(arguments, into: &buffer)
            var expected = [UInt8](ascii: "*\(count)\r\n")
            for argument in arguments {
                expected += Self.expectedBulkString(argument)
            }
            #expect(buffer == expected, "count \(count)")
        }
    }

    @Test("pipeline equals commands appended one by one")
    func pipelineEncoding() {
        let commands: [[[UInt8]]] =
            Self.lengths.map { length in
                let message = [UInt8](repeating: 0x62, count: length)
                return [[UInt8](ascii: "PUBLISH"), [UInt8](ascii: "channel"), message]
            } + [[[UInt8](ascii: "PING")]]
        var buffer: [UInt8] = [0xAA, 0xBB]
        RESPEncoder.encodeCommands(commands, into: &buffer)
        var expected: [UInt8] = [0xAA, 0xBB]
        for command in commands {
            expected += [UInt8](ascii: "*\(command.count)\r\n")
            for argument in command {
                expected += Self.expectedBulkString(argument)
            }
        }
        #expect(buffer == expected)

        var empty: [UInt8] = [0x01]
        RESPEncoder.encodeCommands([], into: &empty)
        #expect(empty == [0x01])
    }
}

import RedisWire
import Testing

@Suite("RESP parser")
struct RESPParserTests {
    /// Input bytes and the values they hold, written by hand from the RESP2 specification.
    static let validCases: [(String, [RESPValue])] = [
        ("+OK\r\n", [.simpleString([UInt8](ascii: "OK"))]),
        ("+\r\n", [.simpleString([])]),
        ("-ERR unknown command\r\n", [.error([UInt8](ascii: "ERR unknown command"))]),
        (":0\r\n:-1\r\n:1000\r\n", [.integer(0), .integer(-1), .integer(1000)]),
        (":9223372036854775807\r\n", [.integer(Int64.max)]),
        (":-9223372036854775808\r\n", [.integer(Int64.min)]),
        ("$5\r\nhello\r\n", [.bulkString([UInt8](ascii: "hello"))]),
        ("$0\r\n\r\n", [.bulkString([])]),
        ("$-1\r\n", [.nullBulkString]),
        ("*-1\r\n", [.nullArray]),
        ("*0\r\n", [.array([])]),
        ("$4\r\n\r\n\0\u{7F}\r\n", [.bulkString([0x0D, 0x0A, 0x00, 0x7F])]),
        (
            "*3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$1\r\nx\r\n",
            [
                .array([
                    .bulkString([UInt8](ascii: "message")), .bulkString([UInt8](ascii: "foo")),
                    .bulkString([UInt8](ascii: "x")),
                ])
            ]
        ),
        (
            "*2\r\n*1\r\n:1\r\n*2\r\n$-1\r\n*-1\r\n",
            [
                .array([.array([.integer(1)]), .array([.nullBulkString, .nullArray])])
            ]
        ),
        (
            "*2\r\n*0\r\n+x\r\n+after\r\n",
            [
                .array([.array([]), .simpleString([UInt8](ascii: "x"))]),
                .simpleString([UInt8](ascii: "after")),
            ]
        ),
    ]

    @Test("valid replies whole, byte by byte and at every split")
    func validReplies() throws {
        for (text, expected) in Self.validCases {
            let bytes = [UInt8](ascii: text)
            #expect(try ParserHarness.parseWhole(bytes) == expected, "whole: \(text.debugDescription)")
            #expect(
                try ParserHarness.parseInChunks(bytes, chunkSize: 1) == expected,
                "bytewise: \(text.debugDescription)")
            for (split, values) in try ParserHarness.parseAtEverySplit(bytes).enumerated() {
                #expect(values == expected, "split at \(split): \(text.debugDescription)")
            }
        }
    }

    @Test("null bulk string and null array stay distinct")
    func nullsDistinct() throws {
        let values = try ParserHarness.parseWhole([UInt8](ascii: "$-1\r\n*-1\r\n"))
        #expect(values == [.nullBulkString, .nullArray])
        #expect(RESPValue.nullBulkString != RESPValue.nullArray)
    }

    @Test("incomplete reply consumes nothing")
    func incompleteConsumesNothing() throws {
        for text in ["+OK", "+OK\r", ":12", "$5\r\nhel", "$5\r\nhello\r", "*2\r\n:1\r\n", "*3\r\n", "$"] {
            var parser = RESPParser()
            var cursor = ByteCursor([UInt8](ascii: text))
            #expect(try parser.parse(&cursor) == nil, "\(text.debugDescription)")
            #expect(cursor.readerIndex == 0, "\(text.debugDescription)")
        }
    }

    @Test("large bulk string read by length")
    func largeBulkString() throws {
        var payload = [UInt8](repeating: UInt8(ascii: "\r"), count: 100_000)
        payload[500] = UInt8(ascii: "\n")
        var bytes = [UInt8](ascii: "$100000\r\n")
        bytes += payload + [UInt8](ascii: "\r\n")
        #expect(try ParserHarness.parseInChunks(bytes, chunkSize: 4096) == [.bulkString(payload)])
    }

    // MARK: malformed input: each must be a typed error with the offset, without a crash or a
    // large allocation.

    private func parseError(_ bytes: [UInt8], limits: RESPLimits = .init()) -> RESPParsingError? {
        do {
            _ = try ParserHarness.parseWhole(bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("bulk string length -2 is invalid")
    func negativeBulkLength() throws {
        let error = try #require(parseError([UInt8](ascii: "$-2\r\n")))
        #expect(error.code == .invalidLength)
        #expect(error.offset == 0)
        #expect(error.description.contains("-2"))
    }

    @Test("array count -5 is invalid")
    func negativeArrayCount() throws {
        let error = try #require(parseError([UInt8](ascii: "+OK\r\n*-5\r\n")))
        #expect(error.code == .invalidLength)
        #expect(error.offset == 5)
        #expect(error.description.contains("-5"))
    }

    @Test("array count Int64.max exceeds limit")
    func hugeArrayCount() throws {
        let error = try #require(parseError([UInt8](ascii: "*9223372036854775807\r\n")))
        #expect(error.code == .arrayTooLong)
        #expect(error.description.contains("9223372036854775807"))
    }

    @Test("array count within limit waits without reserving")
    func arrayCountBeyondBytes() throws {
        // Allowed by the limit but far more than the bytes present: needs more bytes, and the
        // parser must not reserve 10^9 elements while waiting.
        var parser = RESPParser()
        var cursor = ByteCursor([UInt8](ascii: "*1000000000\r\n:1\r\n"))
        #expect(try parser.parse(&cursor) == nil)
        #expect(cursor.readerIndex == 0)
    }

    @Test("bulk string length 20 digits overflows")
    func overflowingBulkLength() throws {
        let error = try #require(parseError([UInt8](ascii: "$99999999999999999999\r\n")))
        #expect(error.code == .integerOverflow)
        #expect(error.offset == 0)
        #expect(error.description.contains("99999999999999999999"))
        // Detected before the line ends.
        var parser = RESPParser()
        var cursor = ByteCursor([UInt8](ascii: "$99999999999999999999"))
        #expect(throws: RESPParsingError.self) { try parser.parse(&cursor) }
    }

    @Test("integer with letter is invalid")
    func integerWithLetter() throws {
        let error = try #require(parseError([UInt8](ascii: ":12a\r\n")))
        #expect(error.code == .invalidInteger)
        #expect(error.offset == 3)
        #expect(error.description.contains(":12a"))
    }

    @Test("2000 nested arrays hit depth limit")
    func deepNesting() throws {
        let bytes = [UInt8](String(repeating: "*1\r\n", count: 2_000).utf8) + [UInt8](ascii: ":1\r\n")
        let error = try #require(parseError(bytes))
        #expect(error.code == .nestingTooDeep)
        #expect(error.offset == 128 * 4)
        #expect(error.description.contains("128"))
        // Also when the levels arrive one byte at a time.
        #expect(throws: RESPParsingError.self) { try ParserHarness.parseInChunks(bytes, chunkSize: 1) }
    }

    @Test("nesting at the limit parses")
    func nestingAtLimit() throws {
        let bytes = [UInt8](String(repeating: "*1\r\n", count: 128).utf8) + [UInt8](ascii: ":7\r\n")
        var expected = RESPValue.integer(7)
        for _ in 0..<128 { expected = .array([expected]) }
        #expect(try ParserHarness.parseWhole(bytes) == [expected])
    }

    @Test("simple string ended by bare LF")
    func bareLineFeed() throws {
        let error = try #require(parseError([UInt8](ascii: "+OK\n")))
        #expect(error.code == .bareLineFeed)
        #expect(error.offset == 3)
        #expect(error.description.contains("+OK"))
    }

    @Test("other malformed input")
    func otherMalformed() throws {
        let cases: [(String, RESPParsingError.Code)] = [
            ("!3\r\n", .invalidTypeByte),
            (":\r\n", .invalidInteger),
            (":-\r\n", .invalidInteger),
            (":+1\r\n", .invalidInteger),
            (":1\rx", .missingLineFeed),
            (":1\n", .bareLineFeed),
            ("$3\r\nabcde\r\n", .missingBulkStringTerminator),
            ("$3\r\nabc\n\n", .missingBulkStringTerminator),
            ("+O\rK\r\n", .missingLineFeed),
        ]
        for (text, code) in cases {
            let error = parseError([UInt8](ascii: text))
            #expect(error?.code == code, "\(text.debugDescription): \(String(describing: error))")
        }
    }

    @Test("limits on bulk length and line length")
    func configuredLimits() throws {
        let limits = RESPLimits(maxBulkStringLength: 4, maxLineLength: 8)
        #expect(parseError([UInt8](ascii: "$5\r\nhello\r\n"), limits: limits)?.code == .bulkStringTooLong)
        #expect(parseError([UInt8](ascii: "+0123456789"), limits: limits)?.code == .lineTooLong)
        #expect(parseError([UInt8](ascii: "$4\r\nabcd\r\n"), limits: limits) == nil)
        // Default bulk limit: 512 MiB + 1 is rejected from the header alone.
        #expect(parseError([UInt8](ascii: "$536870913\r\n"))?.code == .bulkStringTooLong)
    }

    @Test("error offset counts earlier replies")
    func offsetAcrossReplies() throws {
        var parser = RESPParser()
        var cursor = ByteCursor([UInt8](ascii: ":1\r\n"))
        #expect(try parser.parse(&cursor) == .integer(1))
        cursor.discardReadBytes()
        cursor.append(contentsOf: [UInt8](ascii: "$-7\r\n"))
        do {
            _ = try parser.parse(&cursor)
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 4)
        }
    }
}

import RedisWire
import Testing

/// Resuming an incomplete array where the previous call stopped, instead of parsing it again.
@Suite("RESP parser resumes incomplete arrays")
struct RESPParserResumeTests {
    /// Builds an array of `count` bulk strings of 100 bytes each by hand from the RESP2 rules,
    /// with the value it encodes.
    static func bulkStringArray(count: Int) -> (bytes: [UInt8], value: RESPValue) {
        var bytes = [UInt8](ascii: "*\(count)\r\n")
        var elements: [RESPValue] = []
        for index in 0..<count {
            var text = [UInt8](ascii: "element-\(index)-")
            text += [UInt8](repeating: UInt8(ascii: "x"), count: 100 - text.count)
            bytes += [UInt8](ascii: "$100\r\n") + text + [UInt8](ascii: "\r\n")
            elements.append(.bulkString(text))
        }
        return (bytes, .array(elements))
    }

    /// Feeds `bytes` in pieces of `chunkSize`, calling parse after each, and returns the values,
    /// the parser's step count and the number of parse calls.
    static func feed(
        _ bytes: [UInt8], chunkSize: Int, limits: RESPLimits = .init()
    ) throws(RESPParsingError) -> (values: [RESPValue], steps: Int, calls: Int) {
        let splitPoints = Array(stride(from: chunkSize, to: bytes.count, by: chunkSize))
        return try ParserHarness.feed(bytes, splitPoints: splitPoints, limits: limits)
    }

    @Test("huge array in 64 KiB chunks parses each element once")
    func hugeArrayLinear() throws {
        let count = 50_000
        let (bytes, expected) = Self.bulkStringArray(count: count)
        let result = try Self.feed(bytes, chunkSize: 64 * 1024)
        #expect(result.values == [expected])
        // One step for the header and one per element. Parsing the array again from its first
        // byte on each of the ~85 reads would take about 85 * 25,000 steps.
        #expect(result.steps == count + 1)
        #expect(result.calls > 80)
    }

    @Test("array fed one byte at a time parses each element once")
    func arrayByteByByte() throws {
        let count = 300
        let (bytes, expected) = Self.bulkStringArray(count: count)
        let result = try Self.feed(bytes, chunkSize: 1)
        #expect(result.values == [expected])
        #expect(result.steps == count + 1)
        // One call per byte, and one more after the last byte that finds nothing left.
        #expect(result.calls == bytes.count + 1)
    }

    @Test("nested arrays split at every offset")
    func nestedEverySplit() throws {
        let text =
            "*3\r\n*2\r\n:1\r\n$3\r\nabc\r\n*0\r\n*2\r\n*1\r\n+OK\r\n$-1\r\n"
            + ":7\r\n*2\r\n-ERR x\r\n*-1\r\n"
        let expected: [RESPValue] = [
            .array([
                .array([.integer(1), .bulkString([UInt8](ascii: "abc"))]),
                .array([]),
                .array([.array([.simpleString([UInt8](ascii: "OK"))]), .nullBulkString]),
            ]),
            .integer(7),
            .array([.error([UInt8](ascii: "ERR x")), .nullArray]),
        ]
        let bytes = [UInt8](ascii: text)
        for split in 0...bytes.count {
            #expect(try ParserHarness.parse(bytes, splitPoints: [split]) == expected, "split at \(split)")
        }
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let values = try ParserHarness.parse(bytes, splitPoints: [first, second])
                #expect(values == expected, "split at \(first) and \(second)")
            }
        }
        let byteByByte = try Self.feed(bytes, chunkSize: 1)
        #expect(byteByByte.values == expected)
        // 4 headers and 5 values (the empty array is a value) in the first reply, 1 value in
        // the second, 1 header and 2 values in the third.
        #expect(byteByByte.steps == 13)
    }

    @Test("error after resuming names the stream offset")
    func errorOffsetAfterResume() throws {
        var parser = RESPParser()
        var cursor = ByteCursor([UInt8](ascii: ":5\r\n*3\r\n:1\r\n"))
        #expect(try parser.parse(&cursor) == .integer(5))
        #expect(try parser.parse(&cursor) == nil)
        cursor.discardReadBytes()
        cursor.append(contentsOf: [UInt8](ascii: ":2\r\n:x\r\n"))
        do {
            _ = try parser.parse(&cursor)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidInteger)
            // ":5\r\n" (4) + "*3\r\n" (4) + ":1\r\n" (4) + ":2\r\n" (4) + ":" = byte 17.
            #expect(error.offset == 17)
        }
    }

    @Test("nesting limit holds across reads")
    func nestingLimitAcrossReads() throws {
        let limits = RESPLimits(maxNestingDepth: 4)
        let deep = [UInt8](ascii: String(repeating: "*1\r\n", count: 5) + ":1\r\n")
        let allowed = [UInt8](ascii: String(repeating: "*1\r\n", count: 4) + ":1\r\n")
        #expect(throws: RESPParsingError.self) { try Self.feed(deep, chunkSize: 1, limits: limits) }
        do {
            _ = try Self.feed(deep, chunkSize: 3, limits: limits)
            Issue.record("expected nestingTooDeep")
        } catch {
            #expect(error.code == .nestingTooDeep)
            #expect(error.offset == 16)
        }
        let values = try Self.feed(allowed, chunkSize: 1, limits: limits).values
        #expect(values == [.array([.array([.array([.array([.integer(1)])])])])])
    }

    @Test("array count waits for its minimum bytes before opening")
    func arrayWaitsBeforeOpening() throws {
        // 1,000 elements need at least 3,000 bytes, so the header alone opens nothing.
        var parser = RESPParser()
        var cursor = ByteCursor([UInt8](ascii: "*1000\r\n:1\r\n"))
        #expect(try parser.parse(&cursor) == nil)
        #expect(parser.parsedStepCount == 0)
        #expect(cursor.readerIndex == 0)
    }

    @Test("small integer fast path matches the general parser")
    func smallIntegerFastPath() throws {
        let cases: [(String, RESPValue)] = [
            (":0\r\n", .integer(0)),
            (":42\r\n", .integer(42)),
            (":999999999999999999\r\n", .integer(999_999_999_999_999_999)),
            (":1000000000000000000\r\n", .integer(1_000_000_000_000_000_000)),
            (":0007\r\n", .integer(7)),
        ]
        for (text, value) in cases {
            let bytes = [UInt8](ascii: text)
            #expect(try ParserHarness.parseWhole(bytes) == [value], "\(text.debugDescription)")
            for values in try ParserHarness.parseAtEverySplit(bytes) {
                #expect(values == [value], "\(text.debugDescription)")
            }
        }
        for text in [":12a\r\n", ":\r\n", ":1\r\r", ":1\n", ":99999999999999999999\r\n"] {
            #expect(throws: RESPParsingError.self, "\(text.debugDescription)") {
                try ParserHarness.parseWhole([UInt8](ascii: text))
            }
        }
    }
}

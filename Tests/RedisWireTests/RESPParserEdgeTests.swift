import RedisWire
import Testing

/// Integer edge cases around the fast path, and replies that complete on resume.
@Suite("RESP parser edge cases")
struct RESPParserEdgeTests {
    @Test("integer signs and 19-digit bounds")
    func integerBounds() throws {
        let valid: [(String, RESPValue)] = [
            (":-0\r\n", .integer(0)),
            (":-1\r\n", .integer(-1)),
            (":9223372036854775807\r\n", .integer(.max)),
            (":-9223372036854775808\r\n", .integer(.min)),
            (":0999999999999999999\r\n", .integer(999_999_999_999_999_999)),
        ]
        for (text, value) in valid {
            for values in try ParserHarness.parseAtEverySplit([UInt8](ascii: text)) {
                #expect(values == [value], "\(text.debugDescription)")
            }
        }
        let invalid: [(String, RESPParsingError.Code)] = [
            (":+1\r\n", .invalidInteger),
            (":-\r\n", .invalidInteger),
            (": 1\r\n", .invalidInteger),
            (":9223372036854775808\r\n", .integerOverflow),
            (":-9223372036854775809\r\n", .integerOverflow),
        ]
        for (text, code) in invalid {
            do {
                let values = try ParserHarness.parseWhole([UInt8](ascii: text))
                Issue.record("\(text.debugDescription) parsed as \(values)")
            } catch {
                #expect(error.code == code, "\(text.debugDescription): \(error)")
            }
        }
    }

    @Test("resumed reply followed by another")
    func resumedReplyThenNext() throws {
        // The nested array completes in the second read, which also contains two more replies.
        var parser = RESPParser()
        var cursor = ByteCursor([UInt8](ascii: "*2\r\n*2\r\n:1\r\n"))
        #expect(try parser.parse(&cursor) == nil)
        #expect(cursor.readerIndex == 0)
        cursor.discardReadBytes()
        cursor.append(contentsOf: [UInt8](ascii: ":2\r\n$1\r\nx\r\n:77\r\n+OK\r\n"))
        let expected: RESPValue = .array([.array([.integer(1), .integer(2)]), .bulkString([UInt8](ascii: "x"))])
        #expect(try parser.parse(&cursor) == expected)
        #expect(try parser.parse(&cursor) == .integer(77))
        #expect(try parser.parse(&cursor) == .simpleString([UInt8](ascii: "OK")))
        #expect(try parser.parse(&cursor) == nil)
        #expect(parser.consumedBytes == 33)
    }

    @Test("three replies split at every pair of offsets")
    func everySplitPair() throws {
        let text = "*3\r\n*1\r\n*2\r\n:1\r\n$-1\r\n:-5\r\n*-1\r\n:123456789012345678\r\n-ERR x\r\n"
        let bytes = [UInt8](ascii: text)
        let expected = try ParserHarness.parseWhole(bytes)
        #expect(expected.count == 3)
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let values = try ParserHarness.parse(bytes, splitPoints: [first, second])
                #expect(values == expected, "split at \(first) and \(second)")
            }
        }
    }

    @Test("bulk limit checked before the data arrives")
    func bulkLimitAcrossReads() throws {
        let limits = RESPLimits(maxBulkStringLength: 10)
        var parser = RESPParser(limits: limits)
        var cursor = ByteCursor([UInt8](ascii: "*2\r\n$3\r\nabc\r\n$1"))
        #expect(try parser.parse(&cursor) == nil)
        cursor.append(contentsOf: [UInt8](ascii: "1\r\n"))
        do {
            let value = try parser.parse(&cursor)
            Issue.record("bulk length 11 over the limit 10 parsed as \(String(describing: value))")
        } catch {
            #expect(error.code == .bulkStringTooLong)
            #expect(error.offset == 13)
        }
    }
}

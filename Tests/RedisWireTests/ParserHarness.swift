import RedisWire

/// Feeds bytes to a parser in different ways and collects the values, so every decoder test
/// also checks incremental parsing.
enum ParserHarness {
    /// Parses all values with the whole input present at once.
    static func parseWhole(
        _ bytes: [UInt8], limits: RESPLimits = .init()
    ) throws(RESPParsingError) -> [RESPValue] {
        var parser = RESPParser(limits: limits)
        var cursor = ByteCursor(bytes)
        var values: [RESPValue] = []
        while let value = try parser.parse(&cursor) {
            values.append(value)
        }
        return values
    }

    /// Parses all values while appending the input in chunks of `chunkSize` bytes, and checks
    /// that a `nil` result consumed nothing.
    static func parseInChunks(_ bytes: [UInt8], chunkSize: Int) throws(RESPParsingError) -> [RESPValue] {
        try parse(bytes, splitPoints: Array(stride(from: chunkSize, to: bytes.count, by: chunkSize)))
    }

    /// Parses all values while appending the input split at the given offsets.
    static func parse(_ bytes: [UInt8], splitPoints: [Int]) throws(RESPParsingError) -> [RESPValue] {
        try feed(bytes, splitPoints: splitPoints).values
    }

    /// Appends the input split at `splitPoints`, calling parse until it returns `nil` after each
    /// piece and checking that a `nil` result consumed nothing. Returns the values, the parser's
    /// step count and the number of parse calls.
    static func feed(
        _ bytes: [UInt8], splitPoints: [Int], limits: RESPLimits = .init()
    ) throws(RESPParsingError) -> (values: [RESPValue], steps: Int, calls: Int) {
        var parser = RESPParser(limits: limits)
        var cursor = ByteCursor()
        var values: [RESPValue] = []
        var calls = 0
        var start = 0
        for end in splitPoints + [bytes.count] where end > start {
            cursor.append(contentsOf: bytes[start..<end])
            start = end
            while true {
                calls += 1
                let before = cursor.readerIndex
                guard let value = try parser.parse(&cursor) else {
                    precondition(cursor.readerIndex == before, "parse returned nil but consumed bytes")
                    break
                }
                values.append(value)
            }
            cursor.discardReadBytes()
        }
        return (values, parser.parsedStepCount, calls)
    }

    /// Every way of splitting in two that the whole input allows, each parsed and compared.
    static func parseAtEverySplit(_ bytes: [UInt8]) throws(RESPParsingError) -> [[RESPValue]] {
        var results: [[RESPValue]] = []
        for split in 0...bytes.count {
            results.append(try parse(bytes, splitPoints: [split]))
        }
        return results
    }
}

extension Array where Element == UInt8 {
    init(ascii text: String) {
        self = Array(text.utf8)
    }
}

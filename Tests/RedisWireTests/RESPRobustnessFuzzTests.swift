import Foundation
import RedisWire
import TestSupport
import Testing

/// Seeded mutation fuzzing of the parser: every outcome must be values, `nil` that consumed
/// nothing, or a typed error whose offset lies inside the bytes given. The same input fed in
/// pieces must give the same values and the same error.
@Suite("RESP parser fuzzing")
struct RESPRobustnessFuzzTests {
    enum Outcome: Equatable {
        case values([RESPValue], consumed: Int)
        case error(RESPParsingError.Code, offset: Int, values: [RESPValue])
    }

    static func fixtureInputs() throws -> [(String, [UInt8])] {
        var inputs: [(String, [UInt8])] = []
        let root = RepositoryPaths.packageRoot + "/Fixtures/resp/replies"
        for name in try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        where name.hasSuffix(".bin") {
            let data = try Data(contentsOf: URL(fileURLWithPath: root + "/" + name))
            inputs.append((name, [UInt8](data)))
        }
        return inputs
    }

    /// Parses `bytes` appended at `splitPoints`, checking the contract of every call.
    static func run(_ bytes: [UInt8], splitPoints: [Int], limits: RESPLimits) -> Outcome {
        var parser = RESPParser(limits: limits)
        var cursor = ByteCursor()
        var values: [RESPValue] = []
        var appended = 0
        for end in splitPoints.sorted() + [bytes.count] where end > appended {
            cursor.append(contentsOf: bytes[appended..<end])
            appended = end
            while true {
                let before = cursor.readerIndex
                do {
                    guard let value = try parser.parse(&cursor) else {
                        #expect(cursor.readerIndex == before, "nil consumed bytes")
                        break
                    }
                    values.append(value)
                } catch {
                    #expect(error.offset >= 0, "\(error)")
                    #expect(
                        error.offset < appended, "offset \(error.offset) past \(appended) bytes: \(error)")
                    return .error(error.code, offset: error.offset, values: values)
                }
            }
        }
        return .values(values, consumed: parser.consumedBytes)
    }

    static func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let extremes = [
            "-1", "-2", "0", "4294967295", "4294967296", "536870912", "524288000", "9223372036854775807",
            "9223372036854775808", "-9223372036854775808", "99999999999999999999", "", "-",
        ]
        switch Int.random(in: 0..<6, using: &generator) {
        case 0 where !bytes.isEmpty:
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
        case 1:
            // Replace the digits after a length or count prefix with an extreme value.
            let prefixes = bytes.indices.filter {
                bytes[$0] == UInt8(ascii: "$") || bytes[$0] == UInt8(ascii: "*")
            }
            guard let start = prefixes.randomElement(using: &generator) else { break }
            var end = start + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "\r") { end += 1 }
            let value = extremes.randomElement(using: &generator)!
            bytes.replaceSubrange((start + 1)..<end, with: Array(value.utf8))
        case 2:
            let index = Int.random(in: 0...bytes.count, using: &generator)
            let insert: [[UInt8]] = [[13], [10], [13, 10], [10, 13]]
            bytes.insert(contentsOf: insert.randomElement(using: &generator)!, at: index)
        case 3:
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
        case 4 where !bytes.isEmpty:
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes.remove(at: index)
        default:
            let index = Int.random(in: 0...bytes.count, using: &generator)
            let alphabet = Array("+-:$*0123456789\r\n-".utf8)
            bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
        }
        return bytes
    }

    static func check(_ bytes: [UInt8], limits: RESPLimits, using generator: inout SplitMix64) {
        let whole = run(bytes, splitPoints: [], limits: limits)
        let splits = (0..<3).map { _ in Int.random(in: 0...bytes.count, using: &generator) }
        let pieces = run(bytes, splitPoints: splits, limits: limits)
        #expect(whole == pieces, "input \(bytes) split at \(splits)")
    }

    @Test("mutated fixtures give values or typed errors")
    func mutatedFixtures() throws {
        var generator = SplitMix64(seed: 0x5EED_0001)
        let inputs = try Self.fixtureInputs()
        #expect(inputs.count > 40)
        let limits = RESPLimits(maxBulkStringLength: 1 << 20, maxArrayCount: 1 << 16, maxNestingDepth: 8)
        let deadline = ContinuousClock.now + .seconds(2)
        var iterations = 0
        while iterations < 40_000, ContinuousClock.now < deadline {
            let (_, original) = inputs[iterations % inputs.count]
            var mutated = original
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                mutated = Self.mutate(mutated, using: &generator)
            }
            Self.check(mutated, limits: iterations % 2 == 0 ? limits : .init(), using: &generator)
            iterations += 1
        }
        #expect(iterations >= 1_000)
    }

    @Test("random byte streams give values or typed errors")
    func randomStreams() {
        var generator = SplitMix64(seed: 0x5EED_0002)
        let alphabet = Array("+-:$*0123456789\r\n-abc".utf8)
        let deadline = ContinuousClock.now + .seconds(1)
        var iterations = 0
        while iterations < 40_000, ContinuousClock.now < deadline {
            let length = Int.random(in: 0...64, using: &generator)
            let bytes: [UInt8] = (0..<length).map { _ in
                iterations % 3 == 0
                    ? UInt8.random(in: 0...255, using: &generator)
                    : alphabet.randomElement(using: &generator)!
            }
            Self.check(bytes, limits: .init(maxNestingDepth: 4), using: &generator)
            iterations += 1
        }
        #expect(iterations >= 1_000)
    }

    @Test("declared lengths reserve nothing before bytes arrive")
    func extremeLengthsWait() throws {
        for header in ["$524288000\r\n", "*4294967295\r\n", "*100000000\r\n*100000000\r\n"] {
            var parser = RESPParser()
            var cursor = ByteCursor(Array(header.utf8))
            #expect(try parser.parse(&cursor) == nil, "\(header)")
            #expect(cursor.readerIndex == 0)
        }
        var parser = RESPParser()
        var cursor = ByteCursor(Array("$536870913\r\n".utf8))
        #expect(throws: RESPParsingError.self) { try parser.parse(&cursor) }
    }
}

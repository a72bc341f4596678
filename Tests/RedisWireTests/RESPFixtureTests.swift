import Foundation
import RedisWire
import TestSupport
import Testing

/// Replies recorded from redis-server 7.0.15 and requests recorded from redis-py 8.2.0 and
/// redis-cli 7.0.15 (Fixtures/resp, see its README). Expected values come from the JSON
/// sidecars, which the recording script's own RESP reader wrote, not from this project's code.
@Suite("RESP fixtures")
struct RESPFixtureTests {
    static let directory = RepositoryPaths.packageRoot + "/Fixtures/resp"

    struct Fixture: CustomTestStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        /// For a reply fixture: the values the sidecar describes.
        let replies: [RESPValue]
        /// For a request fixture: each command's arguments from the sidecar.
        let commands: [[[UInt8]]]

        var testDescription: String { name }
    }

    static func fixtures(direction: String) throws -> [Fixture] {
        var fixtures: [Fixture] = []
        for folder in ["replies", "redis-py", "redis-cli"] {
            let path = directory + "/" + folder
            let names = try FileManager.default.contentsOfDirectory(atPath: path).filter {
                $0.hasSuffix(".json")
            }
            for name in names.sorted() {
                let json = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
                guard let sidecar = try JSONSerialization.jsonObject(with: json) as? [String: Any],
                    sidecar["direction"] as? String == direction
                else { continue }
                let binary = path + "/" + name.dropLast(".json".count) + ".bin"
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: binary)))
                let fixtureName = folder + "/" + name.dropLast(".json".count)
                fixtures.append(
                    Fixture(
                        name: fixtureName, bytes: bytes,
                        replies: direction == "reply" ? try expectedReplies(sidecar, name: fixtureName) : [],
                        commands: direction == "request" ? try commands(sidecar) : []
                    ))
            }
        }
        return fixtures
    }

    /// Converts a sidecar value description into the RESPValue it describes.
    static func value(from description: [String: Any]) throws -> RESPValue {
        switch description["type"] as? String {
        case "simple":
            return .simpleString(Array(try #require(description["value"] as? String).utf8))
        case "error":
            return .error(Array(try #require(description["value"] as? String).utf8))
        case "integer":
            return .integer(try #require((description["value"] as? NSNumber)?.int64Value))
        case "bulk":
            let bytes = try hexBytes(try #require(description["hex"] as? String))
            #expect(bytes.count == description["length"] as? Int)
            return .bulkString(bytes)
        case "null_bulk":
            return .nullBulkString
        case "null_array":
            return .nullArray
        case "array":
            let items = try #require(description["items"] as? [[String: Any]])
            #expect(items.count == description["count"] as? Int)
            return .array(try items.map(value(from:)))
        default:
            throw FixtureError("unknown value type in \(description)")
        }
    }

    static func expectedReplies(_ sidecar: [String: Any], name: String) throws -> [RESPValue] {
        if let parsed = sidecar["parsed"] as? [String: Any], let single = parsed["value"] as? [String: Any] {
            return [try value(from: single)]
        }
        guard let list = sidecar["expected"] as? [[String: Any]] else {
            throw FixtureError("\(name) lists no replies")
        }
        return try list.map(value(from:))
    }

    static func commands(_ sidecar: [String: Any]) throws -> [[[UInt8]]] {
        let commands = try #require(sidecar["commands"] as? [[String: Any]])
        return try commands.map { command in
            let arguments = try #require(command["arguments"] as? [[String: Any]])
            return try arguments.map { try hexBytes(try #require($0["hex"] as? String)) }
        }
    }

    static func hexBytes(_ text: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(try #require(UInt8(text[index..<next], radix: 16)))
            index = next
        }
        return bytes
    }

    @Test("fixture folder present")
    func fixturesPresent() throws {
        #expect(try Self.fixtures(direction: "reply").count >= 40)
        #expect(try Self.fixtures(direction: "request").count >= 12)
    }

    @Test(
        "recorded replies parse whole, bytewise, at every split", arguments: try fixtures(direction: "reply"))
    func replies(_ fixture: Fixture) throws {
        let expected = fixture.replies
        #expect(try ParserHarness.parseWhole(fixture.bytes) == expected)
        #expect(try ParserHarness.parseInChunks(fixture.bytes, chunkSize: 1) == expected)
        // Every split of the 70 KB bulk string takes over a minute in a debug build, so large
        // replies are split at every offset of their first and last 4 KiB and every 97th between.
        let count = fixture.bytes.count
        let splits =
            count <= 8_192
            ? Array(0...count)
            : Array(0...4_096) + Array(stride(from: 4_097, to: count - 4_096, by: 97))
                + Array((count - 4_096)...count)
        for split in splits {
            let values = try ParserHarness.parse(fixture.bytes, splitPoints: [split])
            if values != expected {
                Issue.record("split at \(split) parsed \(values.count) values that differ from the recording")
            }
        }
    }

    @Test("all recorded replies back to back")
    func concatenatedReplies() throws {
        var stream: [UInt8] = []
        var expected: [RESPValue] = []
        for fixture in try Self.fixtures(direction: "reply") {
            stream += fixture.bytes
            expected += fixture.replies
        }
        #expect(try ParserHarness.parseWhole(stream) == expected)
        #expect(try ParserHarness.parseInChunks(stream, chunkSize: 7) == expected)
    }

    @Test("recorded requests reproduced byte for byte", arguments: try fixtures(direction: "request"))
    func requests(_ fixture: Fixture) throws {
        var encoded: [UInt8] = []
        #expect(!fixture.commands.isEmpty)
        for bytes in fixture.commands {
            if bytes.count == 3, bytes[0] == Array("PUBLISH".utf8) {
                RESPEncoder.encodePublish(channel: bytes[1], message: bytes[2], into: &encoded)
            } else {
                RESPEncoder.encodeCommand(bytes, into: &encoded)
            }
        }
        #expect(
            encoded == fixture.bytes,
            "\(fixture.name): ours \(encoded.count) bytes, recorded \(fixture.bytes.count)")
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

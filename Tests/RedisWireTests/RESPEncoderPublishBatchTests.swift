import RedisWire
import Testing

/// `RESPEncoder.encodePublishes` checked against PUBLISH commands recorded from redis-py 8.2.0
/// and redis-cli 7.0.15 (Fixtures/resp), and against bytes built from the RESP2 rules.
@Suite("RESP encoder PUBLISH batch")
struct RESPEncoderPublishBatchTests {
    /// Returns the recorded request fixtures that contain only PUBLISH commands, with the
    /// channel and message of each command.
    static func publishFixtures() throws -> [(
        name: String, bytes: [UInt8], publications: [(channel: [UInt8], message: [UInt8])]
    )] {
        try RESPFixtureTests.fixtures(direction: "request").compactMap { fixture in
            let isPublishOnly = fixture.commands.allSatisfy { command in
                command.count == 3 && command[0] == [UInt8](ascii: "PUBLISH")
            }
            guard isPublishOnly else { return nil }
            let publications = fixture.commands.map { (channel: $0[1], message: $0[2]) }
            return (fixture.name, fixture.bytes, publications)
        }
    }

    @Test("redis-py PUBLISH pipeline reproduced")
    func redisPyPipeline() throws {
        let fixture = try #require(
            try Self.publishFixtures().first { $0.name == "redis-py/publish-pipeline-request" },
            "Fixtures/resp/redis-py/publish-pipeline-request.bin is missing")
        #expect(fixture.publications.count == 6)
        var buffer: [UInt8] = [0xAA, 0xBB]
        RESPEncoder.encodePublishes(fixture.publications, into: &buffer)
        #expect(buffer.prefix(2) == [0xAA, 0xBB])
        #expect(
            Array(buffer.dropFirst(2)) == fixture.bytes,
            "ours \(buffer.count - 2) bytes, recorded \(fixture.bytes.count)")
    }

    @Test("all recorded PUBLISH commands as one batch")
    func allRecordedPublishes() throws {
        let fixtures = try Self.publishFixtures()
        let names = fixtures.map(\.name)
        #expect(names.contains("redis-py/publish-binary-request"))
        #expect(names.contains("redis-cli/publish-binary-request"))
        var publications: [(channel: [UInt8], message: [UInt8])] = []
        var recorded: [UInt8] = []
        for fixture in fixtures {
            publications += fixture.publications
            recorded += fixture.bytes
        }
        var buffer: [UInt8] = []
        RESPEncoder.encodePublishes(publications, into: &buffer)
        #expect(buffer == recorded, "ours \(buffer.count) bytes, recorded \(recorded.count)")
    }

    @Test("lengths of every digit count")
    func lengthsOfEveryDigitCount() {
        let lengths = RESPEncoderCommandTests.lengths
        let publications = lengths.map { length in
            (
                channel: [UInt8](repeating: 0x63, count: length % 1_000),
                message: [UInt8](repeating: 0x6D, count: length)
            )
        }
        var buffer: [UInt8] = [0x01]
        RESPEncoder.encodePublishes(publications, into: &buffer)
        var expected: [UInt8] = [0x01]
        for publication in publications {
            expected += [UInt8](ascii: "*3\r\n$7\r\nPUBLISH\r\n")
            expected += RESPEncoderCommandTests.expectedBulkString(publication.channel)
            expected += RESPEncoderCommandTests.expectedBulkString(publication.message)
        }
        #expect(buffer == expected)
    }

    @Test("empty batch appends nothing")
    func emptyBatch() {
        var buffer: [UInt8] = [0x01, 0x02]
        RESPEncoder.encodePublishes([], into: &buffer)
        #expect(buffer == [0x01, 0x02])
    }
}

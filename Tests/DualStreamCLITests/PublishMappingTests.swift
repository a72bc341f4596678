import Foundation
import TestSupport
import Testing

/// `publish --dry-run` maps lines without servers, so these check the mapping and the handling
/// of invalid lines through the real command line.
@Suite struct PublishMappingTests {
    private func dryRun(_ input: String, _ extra: [String] = ["--preset", "github"]) throws
        -> (termination: ChildProcess.Termination, events: [[String: Any]], errors: [String])
    {
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/input.jsonl"
        try input.write(toFile: path, atomically: true, encoding: .utf8)
        let (termination, output) = try CLIHarness.run(["publish", "--dry-run"] + extra + [path])
        var events: [[String: Any]] = []
        var errors: [String] = []
        for line in output.split(separator: "\n") {
            if line.hasPrefix("{") {
                events.append(
                    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
            } else {
                errors.append(String(line))
            }
        }
        return (termination, events, errors)
    }

    @Test func currentSchemaUsesRepoName() throws {
        let line =
            #"{"id":"2489651045","type":"CreateEvent","actor":{"id":1,"login":"u"},"#
            + #""repo":{"id":2,"name":"octo/hello","url":"x"},"payload":{},"public":true}"#
        let result = try dryRun(line + "\n")
        #expect(result.termination == .exited(0))
        let event = try #require(result.events.first)
        #expect(event["id"] as? String == "2489651045")
        #expect(event["type"] as? String == "CreateEvent")
        #expect(event["source_type"] as? String == "repo")
        #expect(event["source_id"] as? String == "octo/hello")
        #expect(event["channel"] as? String == "events:repo:octo/hello")
    }

    @Test func schema2014UsesRepositoryOwnerAndHashID() throws {
        let line =
            #"{"created_at":"2014-01-23T04:03:29-08:00","payload":{},"public":true,"#
            + #""type":"PushEvent","actor":"someone","repository":{"id":9,"name":"tool","owner":"acme"}}"#
        let result = try dryRun(line + "\n")
        let event = try #require(result.events.first)
        #expect(event["source_id"] as? String == "acme/tool")
        #expect(event["type"] as? String == "PushEvent")
        #expect(event["id"] as? String == CLIHarness.fnv1a64(Data(line.utf8)))
    }

    @Test func fnvIDMatchesKnownVector() {
        // FNV-1a 64 test vector from the algorithm's reference: "a" -> af63dc4c8601ec8c.
        #expect(CLIHarness.fnv1a64(Data("a".utf8)) == "fnv1a64-af63dc4c8601ec8c")
    }

    @Test func wholeSampleMapsBothSchemas() throws {
        let lines = try CLIHarness.sampleLines()
        let (termination, output) = try CLIHarness.run(
            ["publish", "--dry-run", "--preset", "github", try CLIHarness.sampleFile()])
        #expect(termination == .exited(0))
        let events = output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(events.count == 1_304)
        var hashed = 0
        for (line, text) in zip(lines, events) {
            let event = try #require(
                try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let expected = try CLIHarness.expectedGitHubEvent(line)
            #expect(event["id"] as? String == expected.id)
            #expect(event["type"] as? String == expected.type)
            #expect(event["source_id"] as? String == expected.source)
            if expected.id.hasPrefix("fnv1a64-") { hashed += 1 }
        }
        #expect(hashed == 140)
    }

    @Test func invalidLinesAreReportedWithNumbersAndSkipped() throws {
        let input = """
            {"id":"1","type":"A","repo":{"name":"o/r"}}
            not json
            {"id":"2","type":"A"}
            {"id":"3","type":"A","repo":{"name":"has space"}}
            [1,2]
            {"id":"4","type":"A","repo":{"name":"o/r"},}
            {"id":"5","type":"A","repo":{"name":"o/r"}}

            """
        let result = try dryRun(input)
        #expect(result.termination == .exited(0))
        #expect(result.events.compactMap { $0["id"] as? String } == ["1", "5"])
        #expect(result.events.compactMap { $0["line"] as? Int } == [1, 7])
        let errors = result.errors.joined(separator: "\n")
        #expect(errors.contains("invalid line 2 of"))
        #expect(errors.contains("invalid JSON at byte 0"))
        #expect(errors.contains("invalid line 3 of"))
        #expect(errors.contains("missing source id at path repo.name"))
        #expect(errors.contains("invalid line 4 of"))
        #expect(errors.contains(#"invalid source id "has space""#))
        #expect(errors.contains("invalid line 5 of"))
        #expect(errors.contains("expected a JSON object, found an array"))
        #expect(errors.contains("invalid line 6 of"))
    }

    @Test func onInvalidStopEndsAtFirstInvalidLine() throws {
        let input = """
            {"id":"1","type":"A","repo":{"name":"o/r"}}
            {"id":"2","type":"A","repo":{"name":"o/r"}
            {"id":"3","type":"A","repo":{"name":"o/r"}}

            """
        let result = try dryRun(input, ["--preset", "github", "--on-invalid", "stop"])
        #expect(result.termination == .exited(3))
        #expect(result.events.compactMap { $0["id"] as? String } == ["1"])
        #expect(result.errors.joined().contains("invalid line 2 of"))
    }

    @Test func customPathsAndFixedSourceType() throws {
        let line = #"{"event":{"uuid":"e-1","kind":"signup"},"user":{"name":"zoë"},"list":[{"n":"x*y"}]}"#
        let result = try dryRun(
            line + "\n",
            [
                "--id-path", "event.uuid", "--type-path", "event.kind", "--source-type", "user",
                "--source-id-path", "list.0.n",
            ])
        let event = try #require(result.events.first)
        #expect(event["id"] as? String == "e-1")
        #expect(event["type"] as? String == "signup")
        #expect(event["source_type"] as? String == "user")
        #expect(event["source_id"] as? String == "x*y")
        #expect(event["channel"] as? String == "events:user:x%2Ay")
    }

    @Test func unknownOptionIsAUsageError() throws {
        let (termination, output) = try CLIHarness.run(["publish", "--dry-run", "--colour"])
        #expect(termination == .exited(2))
        #expect(output.contains("unknown option --colour"))
    }

    @Test func invalidRedisURLHidesPassword() throws {
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", "127.0.0.1:1", "--redis-url",
                "redis://user:s3cret-pw@127.0.0.1:notaport", "/dev/null",
            ])
        #expect(termination == .exited(2))
        #expect(output.contains("invalid Redis URL"))
        #expect(!output.contains("s3cret-pw"), "the password appears in: \(output)")
    }

    @Test func missingBrokersIsAUsageError() throws {
        let (termination, output) = try ChildProcess.run(
            executable: try CLIHarness.binary(), arguments: ["publish", "--no-redis", "/dev/null"],
            environment: ["DUALSTREAM_BROKERS": ""])
        #expect(termination == .exited(2))
        #expect(output.contains("no Kafka brokers given"))
    }
}

import FakeKafka
import Foundation
import TestSupport
import Testing

/// `publish` stops reading once a whole batch fails for a cause no event can avoid (no reachable
/// broker, a missing topic), so the run waits `--max-block` once rather than once per batch, and
/// the summary still lists every line to publish again. Events that fail for their own reasons
/// do not stop the run.
@Suite struct BatchStopTests {
    /// Writes `count` JSON lines that the default mapping accepts and returns the file's path.
    private func inputFile(lines count: Int, in directory: String, name: String = "input.jsonl") throws
        -> String
    {
        let text = (0..<count).map { #"{"id":"e\#($0)","type":"PushEvent","repo":{"name":"octo/r"}}"# }
        let path = directory + "/" + name
        try (text.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func unreachableBrokerWaitsOnce() throws {
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try inputFile(lines: 50, in: directory)
        let unusedPort = try FreePort.allocate()
        let started = ContinuousClock.now
        // Five batches of 10: waiting --max-block 2 for each would take 10 s.
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", "127.0.0.1:\(unusedPort)", "--no-redis", "--max-block", "2",
                "--batch-size", "10", path,
            ], timeout: .seconds(60))
        let elapsed = ContinuousClock.now - started
        #expect(termination == .exited(1), "\(output)")
        #expect(elapsed < .seconds(6), "took \(elapsed) for 5 batches with --max-block 2")
        #expect(output.contains("read 50 events in "), "\(output)")
        #expect(output.contains("0 acknowledged by Kafka, 50 not acknowledged"), "\(output)")
        #expect(output.contains("not acknowledged: \(path) lines 1-50\n"), "\(output)")
        #expect(output.contains("notConnected 10, notSent 40"), "\(output)")
        #expect(output.contains("stopped after a whole batch failed with notConnected"), "\(output)")
    }

    @Test func laterFilesAreListedToo() throws {
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try inputFile(lines: 3, in: directory, name: "first.jsonl")
        let second = try inputFile(lines: 4, in: directory, name: "second.jsonl")
        let unusedPort = try FreePort.allocate()
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", "127.0.0.1:\(unusedPort)", "--no-redis", "--max-block", "1",
                "--batch-size", "2", "--summary-json", first, second,
            ], timeout: .seconds(60))
        #expect(termination == .exited(1), "\(output)")
        let summary = try CLIHarness.summary(in: output)
        #expect(summary["events"] as? Int == 7, "\(output)")
        #expect(summary["not_acknowledged"] as? Int == 7, "\(output)")
        #expect(summary["stop_cause"] as? String == "notConnected", "\(output)")
        let lines = summary["not_acknowledged_lines"] as? [String]
        #expect(lines == ["\(first):1-3", "\(second):1-4"], "\(output)")
    }

    @Test func pipeIsListedFromNextLine() throws {
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try inputFile(lines: 30, in: directory)
        let unusedPort = try FreePort.allocate()
        // A pipe may never end, so the lines after the stop are named by their first line only.
        let command = "cat \"$1\" | \"$2\" publish --brokers 127.0.0.1:\(unusedPort) --no-redis "
            + "--max-block 1 --batch-size 10"
        let (termination, output) = try ChildProcess.run(
            executable: "/bin/sh", arguments: ["-c", command, "sh", path, try CLIHarness.binary()],
            timeout: .seconds(60))
        #expect(termination == .exited(1), "\(output)")
        #expect(output.contains("not acknowledged: standard input lines 1-"), "\(output)")
        let firstNotRead = try #require(
            output.split(separator: "\n").first { $0.hasPrefix("not read: standard input from line ") },
            "\(output)")
        let notAcknowledged = try #require(
            output.split(separator: "\n").first { $0.hasPrefix("not acknowledged: standard input lines 1-") },
            "\(output)")
        let lastFailed = Int(notAcknowledged.split(separator: "-").last ?? "")
        #expect(lastFailed != nil, "\(output)")
        #expect(firstNotRead.contains("from line \((lastFailed ?? 0) + 1) on"), "\(output)")
    }

    @Test func missingTopicWaitsOnce() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try inputFile(lines: 50, in: directory)
        let started = ContinuousClock.now
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", cluster.bootstrapServers.joined(separator: ","), "--no-redis",
                "--topic", "missing", "--max-block", "2", "--batch-size", "10", path,
            ], timeout: .seconds(60))
        let elapsed = ContinuousClock.now - started
        #expect(termination == .exited(1), "\(output)")
        #expect(elapsed < .seconds(6), "took \(elapsed) for 5 batches with --max-block 2")
        #expect(output.contains("not acknowledged: \(path) lines 1-50\n"), "\(output)")
        #expect(output.contains("stopped after a whole batch failed with unknownTopic"), "\(output)")
    }

    @Test func tooLargeEventDoesNotStop() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("events", partitions: 1)
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Line 2 alone is above the producer's 1 MB batch limit; with --batch-size 1 its batch
        // fails as a whole, for a reason of that event only.
        let padding = String(repeating: "x", count: 1_100_000)
        let lines = [
            #"{"id":"e1","type":"PushEvent","repo":{"name":"octo/r"}}"#,
            #"{"id":"e2","type":"PushEvent","repo":{"name":"octo/r"},"pad":"\#(padding)"}"#,
            #"{"id":"e3","type":"PushEvent","repo":{"name":"octo/r"}}"#,
        ]
        let path = directory + "/input.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", cluster.bootstrapServers.joined(separator: ","), "--no-redis",
                "--batch-size", "1", "--max-block", "5", path,
            ], timeout: .seconds(60))
        #expect(termination == .exited(1), "\(output)")
        #expect(output.contains("2 acknowledged by Kafka, 1 not acknowledged"), "\(output)")
        #expect(output.contains("not acknowledged: \(path) line 2\n"), "\(output)")
        #expect(output.contains("recordTooLarge 1"), "\(output)")
        #expect(!output.contains("stopped"), "\(output)")
    }
}

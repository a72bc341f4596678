import Foundation
import TestSupport
import Testing

/// `publish` against a loopback port with no broker: `--max-block` bounds the wait, and the
/// messages name the command's options rather than the producer's settings.
@Suite struct BrokerWaitTests {
    /// Writes `count` JSON lines that the default mapping accepts and returns the file's path.
    private func inputFile(lines count: Int, in directory: String) throws -> String {
        let text = (0..<count).map { #"{"id":"e\#($0)","type":"PushEvent","repo":{"name":"octo/r"}}"# }
        let path = directory + "/input.jsonl"
        try (text.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func maxBlockShortensWaitForBroker() throws {
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unusedPort = try FreePort.allocate()
        let started = ContinuousClock.now
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", "127.0.0.1:\(unusedPort)", "--no-redis", "--max-block", "1",
                "--delivery-timeout", "120", try inputFile(lines: 3, in: directory),
            ], timeout: .seconds(60))
        let elapsed = ContinuousClock.now - started
        #expect(termination == .exited(1), "\(output)")
        #expect(elapsed < .seconds(20), "took \(elapsed) with --max-block 1")
        #expect(output.contains("within --max-block"), "\(output)")
        #expect(output.contains("--brokers"), "\(output)")
        #expect(!output.contains("maxBlock"), "\(output)")
        #expect(!output.contains("bootstrapServers"), "\(output)")
    }

    @Test func summaryCountsOneEvent() throws {
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unusedPort = try FreePort.allocate()
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", "127.0.0.1:\(unusedPort)", "--no-redis", "--max-block", "1",
                try inputFile(lines: 1, in: directory),
            ], timeout: .seconds(60))
        #expect(termination == .exited(1), "\(output)")
        #expect(output.contains("read 1 event in "), "\(output)")
        #expect(output.contains("0 acknowledged by Kafka, 1 not acknowledged"), "\(output)")
        #expect(!output.contains("published 1 event"), "\(output)")
        #expect(!output.contains("1 events"), "\(output)")
    }

    @Test func invalidMaxBlockIsUsageError() throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", "127.0.0.1:1", "--no-redis", "--max-block", "0", "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("invalid --max-block 0"), "\(output)")
    }

    @Test func helpDocumentsMaxBlock() throws {
        let (termination, output) = try CLIHarness.run(["help", "publish"])
        #expect(termination == .exited(0))
        #expect(output.contains("--max-block SEC"), "\(output)")
    }
}

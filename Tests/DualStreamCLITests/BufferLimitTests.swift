import FakeKafka
import Foundation
import TestSupport
import Testing

/// `publish` against a broker that stores records but never acknowledges them: the buffer fills,
/// events fail after `--max-block`, and the message names `--buffer-memory`, the option a user of
/// the command can change.
@Suite struct BufferLimitTests {
    @Test func fullBufferNamesTheOption() throws {
        let cluster = try FakeKafkaCluster()
        defer { cluster.shutdown() }
        try cluster.createTopic("events", partitions: 1)
        cluster.inject(FakeKafkaFault(.dropResponse(afterProcessing: false), apiKey: .produce, count: .max))

        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 3,000 lines of about 1 KiB: three times the 1 MiB buffer.
        let padding = String(repeating: "x", count: 1_000)
        let lines = (0..<3_000).map {
            #"{"id":"e\#($0)","type":"PushEvent","repo":{"name":"octo/r"},"pad":"\#(padding)"}"#
        }
        let path = directory + "/input.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)

        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--brokers", cluster.bootstrapServers.joined(separator: ","), "--no-redis",
                "--buffer-memory", "1", "--max-block", "1", "--delivery-timeout", "10", "--batch-size", "3000",
                path,
            ], timeout: .seconds(60))
        #expect(termination == .exited(1), "\(output)")
        #expect(output.contains("buffer full: --buffer-memory 1048576 bytes"), "\(output)")
        #expect(output.contains("raise --buffer-memory or --max-block"), "\(output)")
        #expect(!output.contains("bufferMemory"), "\(output)")
        #expect(output.contains("not acknowledged by cause: "), "\(output)")
        #expect(output.contains("bufferFull "), "\(output)")
    }

    @Test(arguments: ["0", "4097", "1.5", "big"])
    func invalidBufferMemoryIsUsageError(value: String) throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", "127.0.0.1:1", "--no-redis", "--buffer-memory", value, "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("invalid --buffer-memory \(value)"), "\(output)")
    }
}

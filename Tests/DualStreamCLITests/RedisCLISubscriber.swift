import Foundation
import Glibc
import TestSupport
import Testing

/// `redis-cli PSUBSCRIBE` as an independent subscriber. redis-cli writing to a file prints each
/// reply element on its own line: `psubscribe`, the pattern, the count, then four lines per
/// message: `pmessage`, pattern, channel, payload. Notifications contain no newline.
final class RedisCLISubscriber {
    struct Message {
        var channel: String
        var payload: String
        /// When the message was first seen by ``messages()``.
        var seenAt: ContinuousClock.Instant
    }

    let process: ChildProcess
    let outputPath: String
    private var seen: [Message] = []
    private var consumedLines = 0

    init(port: Int, pattern: String, directory: String) throws {
        outputPath = directory + "/redis-cli-\(UUID().uuidString).out"
        process = try ChildProcess.start(
            executable: "redis-cli",
            arguments: ["-h", "127.0.0.1", "-p", String(port), "psubscribe", pattern],
            outputPath: outputPath)
        let subscribed = try waitUntil(timeout: .seconds(10)) {
            (try? String(contentsOfFile: outputPath, encoding: .utf8))?.hasPrefix("psubscribe\n") == true
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        try #require(subscribed, "redis-cli did not subscribe; its output: \(output)")
    }

    deinit {
        process.kill()
    }

    /// Every message received so far, in arrival order.
    func messages() -> [Message] {
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // The last element is empty after a final newline, or a line still being written.
        lines.removeLast()
        // Skip the three subscription lines, and stop at a message not yet complete.
        var index = max(3, consumedLines)
        let now = ContinuousClock.now
        while index + 4 <= lines.count {
            if lines[index] == "pmessage" {
                seen.append(Message(channel: lines[index + 2], payload: lines[index + 3], seenAt: now))
                index += 4
            } else {
                index += 1
            }
        }
        consumedLines = index
        return seen
    }

    /// Waits until `count` messages arrived or `timeout` passed, and returns them.
    func waitForMessages(_ count: Int, timeout: Duration) throws -> [Message] {
        _ = try waitUntil(timeout: timeout, interval: .milliseconds(20)) { messages().count >= count }
        return messages()
    }
}

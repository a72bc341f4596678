import Foundation
import TestSupport
import Testing

extension CLIServerTests {
    @Test func subscribePrintsMessagesAsJSONLines() throws {
        let redis = RedisServerProcess()
        try redis.start()
        defer { redis.stop() }
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outputPath = directory + "/subscribe.out"
        let subscribe = try ChildProcess.start(
            executable: try CLIHarness.binary(),
            arguments: [
                "subscribe", "--redis-url", "redis://127.0.0.1:\(redis.port)", "--count", "3", "--timeout",
                "30",
                "events:repo:*", "plain",
            ],
            outputPath: outputPath)
        let subscribed = try waitUntil(timeout: .seconds(10)) {
            (try? String(contentsOfFile: outputPath, encoding: .utf8))?.contains("subscribed to") == true
        }
        try #require(subscribed, "dualstream subscribe did not report its subscription")
        // Both subscriptions are confirmed before the message above is printed.
        let notification = #"{"id":"1","type":"PushEvent","source_type":"repo","source_id":"o/r","#
            + #""topic":"t","partition":0,"offset":5}"#
        for (channel, message) in [
            ("events:repo:o/r", notification), ("plain", "not \"json\""), ("events:user:x", "skipped"),
        ] {
            let (termination, output) = try ChildProcess.run(
                executable: "redis-cli",
                arguments: ["-h", "127.0.0.1", "-p", String(redis.port), "publish", channel, message])
            #expect(termination == .exited(0), "redis-cli publish failed: \(output)")
        }
        let (termination, _) = try ChildProcess.run(
            executable: "redis-cli",
            arguments: [
                "-h", "127.0.0.1", "-p", String(redis.port), "publish", "events:repo:a/b", notification,
            ])
        #expect(termination == .exited(0))
        #expect(subscribe.wait(timeout: .seconds(10)) == .exited(0), "subscribe did not exit after --count 3")

        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count == 3, "output:\n\(output)")
        let objects = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        guard objects.count == 3 else { return }
        #expect(objects[0]["channel"] as? String == "events:repo:o/r")
        #expect(objects[0]["pattern"] as? String == "events:repo:*")
        let embedded = objects[0]["message"] as? [String: Any]
        #expect(embedded?["offset"] as? Int == 5)
        #expect(objects[1]["channel"] as? String == "plain")
        #expect(objects[1]["pattern"] == nil)
        #expect(objects[1]["message"] as? String == "not \"json\"")
        #expect(objects[2]["channel"] as? String == "events:repo:a/b")
    }
}

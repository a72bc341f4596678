import Foundation
import TestSupport
import Testing

/// Tests that run `dualstream` against real Tansu and redis-server processes. They run one at a
/// time: they start servers, and one of them compares throughput.
@Suite(.serialized) struct CLIServerTests {
    /// Tansu with one topic, and a redis-server, each on a free loopback port.
    struct Servers {
        let tansu = TansuProcess()
        let redis = RedisServerProcess()
        let topic: String
        let directory: String

        init(topic: String = "github", partitions: Int = 4, startRedis: Bool = true) throws {
            self.topic = topic
            directory = try CLIHarness.temporaryDirectory()
            try tansu.start()
            try tansu.createTopic(topic, partitions: partitions)
            if startRedis {
                try redis.start()
            }
        }

        var redisURL: String { "redis://127.0.0.1:\(redis.port)" }

        func publishArguments(_ extra: [String] = []) -> [String] {
            [
                "publish", "--preset", "github", "--brokers", tansu.bootstrap, "--topic", topic,
                "--summary-json",
            ]
                + extra
        }

        func stop() {
            redis.stop()
            tansu.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// The channel a source's notifications use, written independently of the command: glob
    /// characters and `%` percent-escaped.
    static func expectedChannel(source: String) -> String {
        var escaped = ""
        for character in source {
            switch character {
            case "%": escaped += "%25"
            case "*": escaped += "%2A"
            case "?": escaped += "%3F"
            case "[": escaped += "%5B"
            case "]": escaped += "%5D"
            case "\\": escaped += "%5C"
            default: escaped.append(character)
            }
        }
        return "events:repo:" + escaped
    }

    @Test func wholeSampleReachesKafkaAndRedis() throws {
        let lines = try CLIHarness.sampleLines()
        #expect(lines.count == 1_304)
        let servers = try Servers()
        defer { servers.stop() }
        let subscriber = try RedisCLISubscriber(
            port: servers.redis.port, pattern: "events:*", directory: servers.directory)

        let (termination, output) = try CLIHarness.run(
            servers.publishArguments(["--redis-url", servers.redisURL, try CLIHarness.sampleFile()]))
        #expect(termination == .exited(0), "publish failed:\n\(output.suffix(3_000))")
        let summary = try CLIHarness.summary(in: output)
        #expect(summary["events"] as? Int == 1_304)
        #expect(summary["acknowledged"] as? Int == 1_304)
        #expect(summary["not_acknowledged"] as? Int == 0)
        #expect(summary["notifications_sent"] as? Int == 1_304)

        // Kafka, read by kafka-python: every line once, byte for byte, keyed by its source.
        let records = try CLIHarness.readTopic(
            bootstrap: servers.tansu.bootstrap, topic: servers.topic, expect: 1_304)
        #expect(records.count == 1_304)
        var valueCounts: [Data: Int] = [:]
        for record in records { valueCounts[record.value ?? Data(), default: 0] += 1 }
        var lineCounts: [Data: Int] = [:]
        for line in lines { lineCounts[line, default: 0] += 1 }
        #expect(valueCounts == lineCounts, "Kafka values differ from the input lines")

        var recordsByID: [String: KafkaRecord] = [:]
        for record in records {
            let id = try #require(record.header("event-id"), "record without an event-id header")
            #expect(recordsByID[id] == nil, "event id \(id) appears twice in Kafka")
            recordsByID[id] = record
        }
        var expectedByID: [String: (type: String, source: String)] = [:]
        for line in lines {
            let expected = try CLIHarness.expectedGitHubEvent(line)
            expectedByID[expected.id] = (expected.type, expected.source)
            let record = try #require(recordsByID[expected.id], "event \(expected.id) not found in Kafka")
            #expect(record.value == line)
            #expect(record.key == Data(expected.source.utf8))
            #expect(record.header("event-type") == expected.type)
        }

        // Redis, read by redis-cli: one notification an event, on its source's channel, naming
        // the partition and offset where kafka-python found the event.
        let messages = try subscriber.waitForMessages(1_304, timeout: .seconds(20))
        #expect(messages.count == 1_304)
        var lastOffsetByChannel: [String: (partition: Int, offset: Int)] = [:]
        var notified: Set<String> = []
        for message in messages {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any],
                "notification is not a JSON object: \(message.payload)")
            let id = try #require(object["id"] as? String)
            let expected = try #require(expectedByID[id], "notification for unknown event \(id)")
            let record = try #require(recordsByID[id])
            notified.insert(id)
            #expect(message.channel == Self.expectedChannel(source: expected.source))
            #expect(object["type"] as? String == expected.type)
            #expect(object["source_type"] as? String == "repo")
            #expect(object["source_id"] as? String == expected.source)
            #expect(object["topic"] as? String == servers.topic)
            #expect(object["partition"] as? Int == record.partition)
            #expect(object["offset"] as? Int == record.offset)
            if let previous = lastOffsetByChannel[message.channel] {
                #expect(previous.partition == record.partition, "source \(expected.source) in two partitions")
                #expect(
                    previous.offset < record.offset, "notifications of \(expected.source) out of offset order"
                )
            }
            lastOffsetByChannel[message.channel] = (record.partition, record.offset)
        }
        #expect(notified.count == 1_304)
    }

    @Test func redisDownStillPublishesEverything() throws {
        let servers = try Servers(startRedis: false)
        defer { servers.stop() }
        let unusedPort = try FreePort.allocate()
        let (termination, output) = try CLIHarness.run(
            servers.publishArguments([
                "--redis-url", "redis://dual:s3cret-pw@127.0.0.1:\(unusedPort)", "--close-timeout", "2",
                try CLIHarness.sampleFile(),
            ]))
        #expect(termination == .exited(0), "publish failed:\n\(output.suffix(3_000))")
        let summary = try CLIHarness.summary(in: output)
        #expect(summary["acknowledged"] as? Int == 1_304)
        #expect(summary["notifications_sent"] as? Int == 0)
        let failed = summary["notifications_failed"] as? Int ?? 0
        let dropped = summary["notifications_dropped"] as? Int ?? 0
        #expect(failed > 0)
        #expect(failed + dropped == 1_304)
        let warnings = output.split(separator: "\n").filter { $0.contains("Redis notification failed") }
        #expect(!warnings.isEmpty, "no warning about the Redis failures:\n\(output.suffix(2_000))")
        #expect(warnings.count <= 6, "warnings are not rate-limited: \(warnings.count) lines")
        #expect(!output.contains("s3cret-pw"), "the Redis password appears in the output")
        let records = try CLIHarness.readTopic(
            bootstrap: servers.tansu.bootstrap, topic: servers.topic, expect: 1_304)
        #expect(records.count == 1_304)
    }

    @Test func brokerUnreachableFailsEveryEventWithoutNotifications() throws {
        let redis = RedisServerProcess()
        try redis.start()
        defer { redis.stop() }
        let directory = try CLIHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let subscriber = try RedisCLISubscriber(port: redis.port, pattern: "events:*", directory: directory)
        let unusedPort = try FreePort.allocate()

        let started = ContinuousClock.now
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--preset", "github", "--brokers", "127.0.0.1:\(unusedPort)", "--topic", "github",
                "--redis-url", "redis://127.0.0.1:\(redis.port)", "--delivery-timeout", "3", "--summary-json",
                try CLIHarness.sampleFile(),
            ], timeout: .seconds(90))
        let elapsed = ContinuousClock.now - started
        #expect(termination == .exited(1), "expected exit status 1:\n\(output.suffix(3_000))")
        let summary = try CLIHarness.summary(in: output)
        #expect(summary["events"] as? Int == 1_304)
        #expect(summary["acknowledged"] as? Int == 0)
        #expect(summary["not_acknowledged"] as? Int == 1_304)
        #expect(summary["notifications_sent"] as? Int == 0)
        let failedLines = summary["not_acknowledged_lines"] as? [String] ?? []
        #expect(failedLines.count == 1, "\(failedLines)")
        #expect(failedLines.first?.hasSuffix(":1-1304") == true, "\(failedLines)")
        let errors = output.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(!errors.isEmpty)
        // Five event errors, the line about further failures, and the line about the stop.
        #expect(errors.count <= 7, "one error line per event instead of a bounded number:\n\(errors)")
        #expect(errors.contains { $0.hasPrefix("error: stopped reading: ") }, "\(errors)")
        #expect(errors.first?.contains("Kafka did not acknowledge event") == true, "\(errors.first ?? "")")
        #expect(elapsed < .seconds(60), "took \(elapsed) with a 3 s delivery timeout")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(subscriber.messages().isEmpty, "notifications sent for unacknowledged events")
    }
}

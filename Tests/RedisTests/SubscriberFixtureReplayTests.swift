import Foundation
import Redis
import SocketTransport
import Synchronization
import TestSupport
import Testing

/// A fake server replays replies recorded from redis-server 7.0.15 (Fixtures/resp/replies) and
/// checks that the subscriber's requests equal the ones recorded from redis-py 8.2.0.
@Suite("Subscriber fixture replay")
struct SubscriberFixtureReplayTests {
    static func fixture(_ path: String) throws -> [UInt8] {
        [UInt8](
            try Data(contentsOf: URL(fileURLWithPath: RepositoryPaths.packageRoot + "/Fixtures/resp/" + path))
        )
    }

    /// Serves one connection. For each step it reads the expected request and writes the replies,
    /// then it replies to every PING with the recorded `["pong", ""]` until the client closes.
    final class ReplayServer: Sendable {
        let listener: ListeningSocket
        let problems = Mutex<[String]>([])
        let pingsAnswered = Atomic<Int>(0)

        init(steps: [(request: [UInt8], reply: [UInt8])], pong: [UInt8]) throws {
            listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let thread = Thread { [self] in
                serve(steps: steps, pong: pong)
            }
            thread.start()
        }

        private func serve(steps: [(request: [UInt8], reply: [UInt8])], pong: [UInt8]) {
            do {
                guard let socket = try listener.accept(timeout: .seconds(5)) else {
                    problems.withLock { $0.append("no connection within 5 s") }
                    return
                }
                defer { socket.close() }
                let ping = Array("*1\r\n$4\r\nPING\r\n".utf8)
                for (index, step) in steps.enumerated() {
                    // A slow test run can let a health-check PING come before the next request.
                    var received = try socket.readExactly(ping.count, timeout: .seconds(5))
                    while received == ping {
                        try socket.writeAll(pong, timeout: .seconds(5))
                        received = try socket.readExactly(ping.count, timeout: .seconds(5))
                    }
                    received += try socket.readExactly(step.request.count - ping.count, timeout: .seconds(5))
                    guard received == step.request else {
                        let text = String(decoding: received, as: UTF8.self).debugDescription
                        problems.withLock { $0.append("step \(index): received \(text)") }
                        return
                    }
                    try socket.writeAll(step.reply, timeout: .seconds(5))
                }
                while true {
                    let received = try socket.readExactly(ping.count, timeout: .seconds(10))
                    guard received == ping else {
                        problems.withLock { $0.append("expected PING, received \(received)") }
                        return
                    }
                    try socket.writeAll(pong, timeout: .seconds(5))
                    pingsAnswered.add(1, ordering: .relaxed)
                }
            } catch {
                // The client closing the connection ends the replay.
                if error.code != .closed {
                    problems.withLock { $0.append("\(error)") }
                }
            }
        }
    }

    @Test("recorded confirmations, messages and pong")
    func replay() async throws {
        let confirmations =
            try Self.fixture("replies/subscribe-confirmation-1.bin")
            + Self.fixture("replies/subscribe-confirmation-2.bin")
        let messages =
            try Self.fixture("replies/message-also-matched-by-pattern.bin")
            + Self.fixture("replies/pmessage.bin")
            + Self.fixture("replies/message.bin")
            + Self.fixture("replies/smessage.bin")
        let server = try ReplayServer(
            steps: [
                (try Self.fixture("redis-py/subscribe-request.bin"), confirmations),
                (
                    try Self.fixture("redis-py/psubscribe-request.bin"),
                    try Self.fixture("replies/psubscribe-confirmation.bin")
                ),
                (
                    try Self.fixture("redis-py/ssubscribe-request.bin"),
                    try Self.fixture("replies/ssubscribe-confirmation.bin") + messages
                ),
            ],
            pong: try Self.fixture("replies/pong-subscribed.bin")
        )
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.listener.port))
        configuration.healthCheckInterval = .milliseconds(200)
        configuration.healthCheckTimeout = .seconds(1)
        let subscriber = RedisSubscriber(configuration: configuration)
        let channels = EventCollector(
            try await subscriber.subscribe(channels: [bytes("events:repo:1001"), bytes("events:user:7")]))
        let patterns = EventCollector(try await subscriber.psubscribe(patterns: [bytes("events:repo:*")]))
        let shards = EventCollector(
            try await subscriber.ssubscribe(shardChannels: [bytes("events:{repo}:shard")]))

        #expect(await channels.waitForMessages(2))
        #expect(await patterns.waitForMessages(1))
        #expect(await shards.waitForMessages(1))
        let binaryPayload = Array(#"{"type":"WatchEvent","id":"7"}"#.utf8) + [0x0D, 0x0A, 0x00, 0xFF]
        #expect(
            channels.messages == [
                RedisPubSubMessage(
                    kind: .message, channel: bytes("events:repo:1001"),
                    payload: bytes(#"{"type":"PushEvent","id":"1001"}"#)),
                RedisPubSubMessage(kind: .message, channel: bytes("events:user:7"), payload: binaryPayload),
            ])
        #expect(
            patterns.messages == [
                RedisPubSubMessage(
                    kind: .pmessage, channel: bytes("events:repo:1001"), pattern: bytes("events:repo:*"),
                    payload: bytes(#"{"type":"PushEvent","id":"1001"}"#))
            ])
        #expect(
            shards.messages == [
                RedisPubSubMessage(
                    kind: .smessage, channel: bytes("events:{repo}:shard"), payload: bytes("shard payload"))
            ])

        // Health-check PINGs that get the recorded pong keep the connection open.
        let deadline = ContinuousClock.now + .seconds(5)
        while server.pingsAnswered.load(ordering: .relaxed) < 3 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(server.pingsAnswered.load(ordering: .relaxed) >= 3)
        #expect(channels.disconnectErrors.isEmpty)
        await subscriber.close()
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.problems.withLock { $0 } == [])
        server.listener.close()
    }
}

import Foundation
import Redis
import SocketTransport
import Testing

/// Subscribe confirmations from fake servers that name the wrong channel.
@Suite("Redis subscriber confirmation matching", .serialized)
struct RedisSubscriberConfirmationTests {
    private static func confirmation(_ kind: String, _ name: String, count: Int) -> String {
        "*3\r\n$\(kind.utf8.count)\r\n\(kind)\r\n$\(name.utf8.count)\r\n\(name)\r\n:\(count)\r\n"
    }

    /// Confirms each SUBSCRIBE or UNSUBSCRIBE of one name correctly, until the peer closes.
    private static func confirmEveryCommand(_ socket: StreamSocket) {
        let deadline = ContinuousClock.now + .seconds(5)
        let pattern = try! NSRegularExpression(pattern: "\r\n(UNSUBSCRIBE|SUBSCRIBE)\r\n\\$[0-9]+\r\n([^\r]*)\r\n")
        while ContinuousClock.now < deadline {
            let received = HostileRedisServer.readCommands(socket, count: 1, timeout: .milliseconds(200))
            if received.isEmpty {
                usleep(20_000)
                continue
            }
            let text = String(decoding: received, as: UTF8.self)
            let range = NSRange(text.startIndex..., in: text)
            for match in pattern.matches(in: text, range: range) {
                guard let command = Range(match.range(at: 1), in: text), let name = Range(match.range(at: 2), in: text)
                else { continue }
                let kind = text[command] == "SUBSCRIBE" ? "subscribe" : "unsubscribe"
                HostileRedisServer.send(socket, confirmation(kind, String(text[name]), count: 1))
            }
        }
    }

    /// Creates a subscriber whose health check never runs during a test, because the fake servers
    /// here never reply to PING.
    private static func subscriber(port: Int) -> RedisSubscriber {
        var configuration = RedisRobustnessSubscriberTests.configuration(port: port)
        configuration.healthCheckInterval = .seconds(60)
        return RedisSubscriber(configuration: configuration)
    }

    private static func subscribeToWanted(
        _ subscriber: RedisSubscriber
    ) async -> Result<RedisSubscription, RedisError> {
        await capture { () async throws(RedisError) in
            try await subscriber.subscribe(channels: [bytes("wanted")])
        }
    }

    @Test("confirmation of wrong channel fails subscribe")
    func wrongChannelConfirmed() async throws {
        let server = try HostileRedisServer.misbehavingOnce(then: Self.confirmEveryCommand) { socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            // The count of confirmations is right, but the name is one the client never sent.
            HostileRedisServer.send(socket, Self.confirmation("subscribe", "intruder", count: 1))
            HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(5))
        }
        defer { server.stop() }
        let subscriber = Self.subscriber(port: server.port)
        let result = await Self.subscribeToWanted(subscriber)
        guard case .failure(let error) = result else {
            Issue.record("subscribe succeeded on a confirmation for another channel")
            await subscriber.close()
            return
        }
        #expect(error.code == .protocolError, "\(error)")
        #expect(error.message.contains("\"intruder\""), "\(error)")
        #expect(error.message.contains("\"wanted\""), "\(error)")
        // The subscriber closed the connection that is out of step and opened another.
        try await server.waitUntilAccepted(2, timeout: .seconds(3))
        #expect(server.accepted >= 2, "\(server.accepted) connections")
        // The new connection confirms the right name, so the next subscribe succeeds.
        let again = await Self.subscribeToWanted(subscriber)
        if case .failure(let error) = again {
            Issue.record("subscribe on the new connection failed: \(error)")
        }
        await subscriber.close()
    }

    @Test("confirmation of wrong kind fails subscribe")
    func wrongKindConfirmed() async throws {
        let server = try HostileRedisServer { _, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            HostileRedisServer.send(socket, Self.confirmation("psubscribe", "wanted", count: 1))
            HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(5))
            socket.close()
        }
        defer { server.stop() }
        let subscriber = Self.subscriber(port: server.port)
        let result = await Self.subscribeToWanted(subscriber)
        guard case .failure(let error) = result else {
            Issue.record("subscribe succeeded on a psubscribe confirmation")
            await subscriber.close()
            return
        }
        #expect(error.code == .protocolError, "\(error)")
        #expect(error.message.contains("psubscribe"), "\(error)")
        await subscriber.close()
    }
}

import Foundation
import Redis
import SocketTransport
import TestSupport
import Testing

/// The subscriber against fake servers that misbehave on purpose.
@Suite("Redis subscriber against hostile servers", .serialized)
struct RedisRobustnessSubscriberTests {
    static func configuration(port: Int) -> RedisConfiguration {
        var configuration = RedisRobustnessClientTests.configuration(port: port)
        configuration.healthCheckInterval = .milliseconds(300)
        configuration.healthCheckTimeout = .milliseconds(300)
        return configuration
    }

    static func push(_ words: String...) -> String {
        "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }

    static func confirmation(count: Int) -> String {
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:\(count)\r\n"
    }

    @Test("garbage after messages disconnects, then resubscribes")
    func garbageThenResubscribe() async throws {
        let server = try HostileRedisServer { index, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            // A wrong subscription count, a message for a channel never subscribed, then ours.
            HostileRedisServer.send(
                socket,
                Self.confirmation(count: 99) + Self.push("message", "other", "stray")
                    + Self.push("message", "chan", "m\(index)"))
            if index == 0 {
                HostileRedisServer.send(socket, "!garbage\r\n")
            }
            HostileRedisServer.drainUntilClosed(socket)
            socket.close()
        }
        defer { server.stop() }
        var configuration = Self.configuration(port: server.port)
        // The fake server never answers PING, so a health check would add reconnects.
        configuration.healthCheckInterval = .seconds(60)
        let subscriber = RedisSubscriber(configuration: configuration)
        let subscription = try await subscriber.subscribe(channels: [bytes("chan")])
        let events = EventCollector(subscription)
        let resubscribed = await events.wait(timeout: .seconds(5)) { snapshot in
            snapshot.contains { event in
                guard case .message(let message) = event else { return false }
                return message.payload == bytes("m1")
            }
        }
        #expect(resubscribed, "\(events.snapshot)")
        #expect(events.messages.map { $0.payload } == [bytes("m0"), bytes("m1")])
        #expect(events.messages.allSatisfy { $0.channel == bytes("chan") })
        #expect(events.disconnectErrors.first?.code == .protocolError)
        #expect(events.resubscribedCount == 1)
        events.stop()
        await subscriber.close()
    }

    @Test("500 MiB bulk in a push allocates nothing")
    func hugeBulkPush() async throws {
        let server = try HostileRedisServer { index, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            HostileRedisServer.send(socket, Self.confirmation(count: 1))
            if index == 0 {
                HostileRedisServer.send(socket, "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$524288000\r\nabc")
            }
            HostileRedisServer.drainUntilClosed(socket)
            socket.close()
        }
        defer { server.stop() }
        let before = residentMemoryBytes()
        let subscriber = RedisSubscriber(configuration: Self.configuration(port: server.port))
        let subscription = try await subscriber.subscribe(channels: [bytes("chan")])
        let events = EventCollector(subscription)
        // The health check finds the connection stuck and reconnects.
        #expect(await events.waitForResubscribed(timeout: .seconds(5)), "\(events.snapshot)")
        let grown = residentMemoryBytes() - before
        #expect(grown < 64 * 1024 * 1024, "resident memory grew by \(grown) bytes")
        events.stop()
        await subscriber.close()
    }

    @Test("server that accepts and closes causes no busy loop")
    func acceptAndClose() async throws {
        let server = try HostileRedisServer.closingEveryConnection()
        defer { server.stop() }
        // The I/O thread is among the threads started from here on.
        let threadsBefore = Set(threadCPUTimes().keys)
        let subscriber = RedisSubscriber(configuration: Self.configuration(port: server.port))
        let attempt = Task {
            await capture { () async throws(RedisError) in
                try await subscriber.subscribe(channels: [bytes("chan")])
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let (connects, cpu) = try await server.reconnectCost(threadsBefore: threadsBefore, over: .seconds(2))
        await subscriber.close()
        _ = await attempt.value
        #expect(connects < 100, "\(connects) connections in 2 s")
        #expect(cpu < .milliseconds(500), "CPU time \(cpu) in 2 s")
    }

    @Test("subscribe and close after close")
    func afterClose() async throws {
        let server = try HostileRedisServer.silent()
        defer { server.stop() }
        let subscriber = RedisSubscriber(configuration: Self.configuration(port: server.port))
        await subscriber.close()
        await subscriber.close()
        let result = await capture { () async throws(RedisError) in
            try await subscriber.subscribe(channels: [bytes("chan")])
        }
        guard case .failure(let error) = result else {
            Issue.record("subscribe after close succeeded")
            return
        }
        #expect(error.code == .clientClosed, "\(error)")
    }

    @Test("no descriptor or thread leak against hostile servers")
    func noLeakAgainstHostileServers() async throws {
        let closing = try HostileRedisServer.closingEveryConnection()
        let silent = try HostileRedisServer.silent(maxConnections: 100_000)
        defer {
            closing.stop()
            silent.stop()
        }
        let baseline = ResourceBaseline()
        for round in 0..<40 {
            var configuration = Self.configuration(port: round % 2 == 0 ? closing.port : silent.port)
            configuration.commandTimeout = .milliseconds(50)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            _ = await capture { () async throws(RedisError) in try await client.send("PING") }
            _ = await capture { () async throws(RedisError) in
                try await subscriber.subscribe(channels: [bytes("chan")])
            }
            await subscriber.close()
            await client.close()
        }
        // The fake servers close their side once they see the client's close.
        try baseline.expectReleased()
    }
}

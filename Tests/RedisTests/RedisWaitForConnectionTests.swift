import Foundation
import Redis
import SocketTransport
import Testing

/// A call that waits for a connection is bounded by maxWaitWhileDisconnected only until a
/// connection takes it. Once sent, its reply gets the whole command timeout.
@Suite("Redis wait for connection and reply timeout")
struct RedisWaitForConnectionTests {
    /// Connections rejected with WRONGPASS before the server accepts AUTH.
    static let rejectedConnections = 2

    /// Starts a server that rejects AUTH on its first connections. Later ones accept AUTH, then send
    /// `reply` to the next command 500 ms after it arrived.
    static func recoveringServer(reply: String) throws -> HostileRedisServer {
        try HostileRedisServer { index, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            if index < rejectedConnections {
                HostileRedisServer.send(
                    socket, "-WRONGPASS invalid username-password pair or user is disabled.\r\n")
                socket.close()
                return
            }
            HostileRedisServer.send(socket, "+OK\r\n")
            _ = HostileRedisServer.readCommands(socket, count: 1)
            Thread.sleep(forTimeInterval: 0.5)
            HostileRedisServer.send(socket, reply)
            HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(5))
            socket.close()
        }
    }

    /// AUTH is retried every 100 ms, so the third connection is ready about 200 ms after the
    /// first. A call waits up to 500 ms for it, and its reply comes 500 ms after it was sent,
    /// after the wait bound but long before the command timeout.
    static func configuration(port: Int) -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.password = "secret-password"
        configuration.commandTimeout = .seconds(4)
        configuration.connectTimeout = .seconds(1)
        configuration.reconnectBackoffInitial = .milliseconds(5)
        configuration.reconnectBackoffMaximum = .milliseconds(100)
        configuration.maxWaitWhileDisconnected = .milliseconds(500)
        return configuration
    }

    /// Waits until `server` rejected the first AUTH, so the next call is made after the client
    /// found the server unreachable.
    static func waitForFirstRejection(_ server: HostileRedisServer) async throws {
        try await server.waitUntilAccepted(1, timeout: .seconds(2))
        try await Task.sleep(for: .milliseconds(50))
    }

    @Test("client reply keeps command timeout", arguments: [false, true])
    func clientReplyTimeout(callAfterRejection: Bool) async throws {
        let server = try Self.recoveringServer(reply: "+PONG\r\n")
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        if callAfterRejection {
            try await Self.waitForFirstRejection(server)
        }
        let result = await capture { () async throws(RedisError) in try await client.ping() }
        await client.close()
        #expect(server.accepted == Self.rejectedConnections + 1)
        guard case .success(let reply) = result else {
            Issue.record("PING sent on the recovered connection failed: \(result)")
            return
        }
        #expect(reply == bytes("PONG"))
    }

    @Test("subscriber confirmation keeps command timeout", arguments: [false, true])
    func subscriberConfirmationTimeout(callAfterRejection: Bool) async throws {
        let server = try Self.recoveringServer(reply: "*3\r\n$9\r\nsubscribe\r\n$4\r\nwait\r\n:1\r\n")
        defer { server.stop() }
        let subscriber = RedisSubscriber(configuration: Self.configuration(port: server.port))
        if callAfterRejection {
            try await Self.waitForFirstRejection(server)
        }
        let result = await capture { () async throws(RedisError) in
            try await subscriber.subscribe(channels: [bytes("wait")])
        }
        if case .failure(let error) = result {
            Issue.record("SUBSCRIBE sent on the recovered connection failed: \(error)")
        }
        await subscriber.close()
        #expect(server.accepted == Self.rejectedConnections + 1)
    }
}

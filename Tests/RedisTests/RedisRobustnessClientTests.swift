import Foundation
import Glibc
import Redis
import SocketTransport
import Testing

/// The command client against fake servers that misbehave on purpose.
@Suite("Redis client against hostile servers", .serialized)
struct RedisRobustnessClientTests {
    static func configuration(port: Int) -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.commandTimeout = .seconds(2)
        configuration.connectTimeout = .seconds(1)
        configuration.reconnectBackoffInitial = .milliseconds(10)
        configuration.reconnectBackoffMaximum = .milliseconds(200)
        return configuration
    }

    @Test("garbage reply is a protocol error, next command reconnects")
    func garbageReply() async throws {
        let server = try HostileRedisServer.replyingOnce { index in index == 0 ? "?garbage\r\n" : ":7\r\n" }
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        let first = await capture { () async throws(RedisError) in try await client.send("PING") }
        guard case .failure(let error) = first else {
            Issue.record("garbage reply was accepted: \(first)")
            return
        }
        #expect(error.code == .protocolError, "\(error)")
        let second = try await client.send("PING")
        #expect(second == .integer(7))
        // A third connection appears only when a command timed out on a loaded machine.
        #expect(server.accepted >= 2)
        await client.close()
    }

    @Test("extra reply closes connection, next command gets its own")
    func extraReply() async throws {
        let server = try HostileRedisServer.replyingOnce { index in index == 0 ? ":1\r\n:2\r\n" : ":3\r\n" }
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        #expect(try await client.send("PING") == .integer(1))
        // The surplus `:2` must never be taken as this command's reply.
        var second = await capture { () async throws(RedisError) in try await client.send("PING") }
        if case .failure(let error) = second,
            error.code == .connectionClosed || error.code == .protocolError
        {
            second = await capture { () async throws(RedisError) in try await client.send("PING") }
        }
        #expect(try second.get() == .integer(3))
        await client.close()
    }

    @Test("unsolicited push closes the connection")
    func unsolicitedPush() async throws {
        let server = try HostileRedisServer.replyingOnce { index in
            // Connection 0 follows its reply with a push in the same write, while no command waits.
            let push = index == 0 ? "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n" : ""
            return ":\(index)\r\n" + push
        }
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        #expect(try await client.send("PING") == .integer(0))
        // The push was not taken as this reply: the connection was closed and a new one replies.
        #expect(try await client.send("PING") != .integer(0))
        #expect(server.accepted >= 2)
        await client.close()
    }

    @Test("500 MiB bulk length then silence allocates nothing")
    func hugeBulkLength() async throws {
        let server = try HostileRedisServer.replyingOnce { _ in "$524288000\r\nabc" }
        defer { server.stop() }
        let before = residentMemoryBytes()
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        let result = await capture { () async throws(RedisError) in
            try await client.send([bytes("GET"), bytes("k")], timeout: .milliseconds(300))
        }
        guard case .failure(let error) = result else {
            Issue.record("a reply without its bytes completed: \(result)")
            return
        }
        #expect(error.code == .timedOut, "\(error)")
        let grown = residentMemoryBytes() - before
        #expect(grown < 64 * 1024 * 1024, "resident memory grew by \(grown) bytes")
        await client.close()
    }

    @Test("server that accepts and closes causes no busy loop")
    func acceptAndClose() async throws {
        let server = try HostileRedisServer.closingEveryConnection()
        defer { server.stop() }
        // The I/O thread is among the threads started from here on.
        let threadsBefore = Set(threadCPUTimes().keys)
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        _ = await capture { () async throws(RedisError) in try await client.send("PING") }
        let (connects, cpu) = try await server.reconnectCost(threadsBefore: threadsBefore, over: .seconds(2))
        await client.close()
        // With backoff from 10 ms to 200 ms, two seconds allow a few dozen attempts at most.
        #expect(connects < 100, "\(connects) connections in 2 s")
        #expect(cpu < .milliseconds(500), "CPU time \(cpu) in 2 s")
    }

    @Test("server that never answers AUTH times the command out")
    func silentAuth() async throws {
        let server = try HostileRedisServer.silent()
        defer { server.stop() }
        var configuration = Self.configuration(port: server.port)
        configuration.password = "secret-password"
        configuration.commandTimeout = .milliseconds(300)
        let client = RedisClient(configuration: configuration)
        let started = ContinuousClock.now
        let result = await capture { () async throws(RedisError) in try await client.send("PING") }
        let elapsed = ContinuousClock.now - started
        guard case .failure(let error) = result else {
            Issue.record("PING succeeded without AUTH reply: \(result)")
            return
        }
        #expect(elapsed < .seconds(3), "waited \(elapsed)")
        #expect(!error.description.contains("secret-password"), "\(error)")
        await client.close()
    }

    @Test("commands after close fail, close twice returns")
    func afterClose() async throws {
        let server = try HostileRedisServer.silent()
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        await client.close()
        await client.close()
        let result = await capture { () async throws(RedisError) in try await client.send("PING") }
        guard case .failure(let error) = result else {
            Issue.record("command after close succeeded")
            return
        }
        #expect(error.code == .clientClosed, "\(error)")
    }
}

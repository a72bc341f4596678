import Foundation
import Glibc
import Redis
import SocketTransport
import Testing

/// Reply bookkeeping against fake servers that send too few or too many replies.
@Suite("Redis reply counting against hostile servers", .serialized)
struct RedisRobustnessReplyCountTests {
    @Test("pipeline cut short releases its pending slots")
    func pipelineCutShort() async throws {
        let server = try HostileRedisServer.misbehavingOnce { socket in
            // Two of three replies, then a hangup.
            _ = HostileRedisServer.readCommands(socket, count: 3)
            HostileRedisServer.send(socket, ":1\r\n:2\r\n")
        }
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.maxPendingCommands = 4
        let client = RedisClient(configuration: configuration)
        let ping = [Array("PING".utf8)]

        let cut = await client.pipeline([ping, ping, ping])
        #expect(cut.count == 3)
        #expect((try? cut[0].get()) == .integer(1))
        #expect((try? cut[1].get()) == .integer(2))
        if case .success(let value) = cut[2] {
            Issue.record("third reply was never sent but the pipeline returned \(value)")
        }

        #expect(client.pendingCommandCount == 0)
        // Every slot is free again, so a pipeline of exactly maxPendingCommands is accepted.
        let full = await client.pipeline([ping, ping, ping, ping])
        for (index, result) in full.enumerated() {
            #expect((try? result.get()) == .integer(9), "command \(index): \(result)")
        }
        await client.close()
    }

    @Test("connection drops surplus reply, next call gets its own")
    func connectionSurplusReply() throws {
        // A reply to a command the client never sent follows in the same write.
        let server = try HostileRedisServer.misbehavingOnce(reply: ":1\r\n:2\r\n")
        defer { server.stop() }
        let connection = RedisConnection(
            configuration: RedisRobustnessClientTests.configuration(port: server.port))
        #expect(try connection.send("PING") == .integer(1))
        // The surplus `:2` must never be taken as this command's reply.
        #expect(try connection.send("PING") == .integer(9))
        #expect(server.accepted == 2)
        connection.close()
    }

    @Test("connection times out on a trickled reply")
    func connectionTrickledReply() throws {
        let server = try HostileRedisServer.misbehavingOnce { socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            // A valid reply, one byte every 10 ms: about 1.3 s for the whole of it.
            for byte in "$120\r\n\(String(repeating: "x", count: 120))\r\n".utf8 {
                HostileRedisServer.send(socket, String(UnicodeScalar(byte)))
                usleep(10_000)
            }
            HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(1))
        }
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.commandTimeout = .milliseconds(300)
        let connection = RedisConnection(configuration: configuration)
        let start = ContinuousClock.now
        do {
            let reply = try connection.send("GET", "key")
            Issue.record("trickled reply was returned before the timeout: \(reply)")
        } catch {
            #expect(error.code == .timedOut, "\(error)")
        }
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(!connection.isConnected)
        #expect(try connection.send("PING") == .integer(9))
        connection.close()
    }

    @Test("connection reports a hangup mid-reply")
    func connectionHangupMidReply() throws {
        let server = try HostileRedisServer.misbehavingOnce { socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            HostileRedisServer.send(socket, "*2\r\n$3\r\nab")
        }
        defer { server.stop() }
        let connection = RedisConnection(
            configuration: RedisRobustnessClientTests.configuration(port: server.port))
        do {
            let reply = try connection.send("LRANGE", "list", "0", "-1")
            Issue.record("partial reply was returned: \(reply)")
        } catch {
            #expect(error.code == .connectionClosed, "\(error)")
            #expect(error.message.contains("in the middle of a reply"), "\(error)")
        }
        // The partial bytes of the old connection are gone: the new one's reply parses alone.
        #expect(try connection.send("PING") == .integer(9))
        connection.close()
    }

    @Test("connection rejects a huge bulk length")
    func connectionHugeBulkLength() throws {
        let server = try HostileRedisServer.misbehavingOnce(reply: "$9223372036854775807\r\n")
        defer { server.stop() }
        let connection = RedisConnection(
            configuration: RedisRobustnessClientTests.configuration(port: server.port))
        do {
            let reply = try connection.send("GET", "key")
            Issue.record("huge bulk length was accepted: \(reply)")
        } catch {
            #expect(error.code == .protocolError, "\(error)")
        }
        #expect(try connection.send("PING") == .integer(9))
        connection.close()
    }

    @Test("connection drops surplus handshake reply")
    func connectionSurplusHandshakeReply() throws {
        let server = try HostileRedisServer { index, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            // Connection 0 follows the AUTH reply with a reply to a command never sent.
            HostileRedisServer.send(socket, index == 0 ? "+OK\r\n:5\r\n" : "+OK\r\n")
            HostileRedisServer.answerEveryCommand(socket)
            socket.close()
        }
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.password = "secret"
        let connection = RedisConnection(configuration: configuration)

        // The surplus `:5` must never be taken as the reply to PING.
        let first = Result { () throws(RedisError) in try connection.send("PING") }
        if case .success(let reply) = first {
            #expect(reply != .integer(5), "the surplus handshake reply was returned for PING")
        }
        // Past the backoff after the failed handshake, a new connection replies in step.
        usleep(300_000)
        #expect(try connection.send("PING") == .integer(9))
        #expect(try connection.send("PING") == .integer(9))
        connection.close()
    }

    @Test("failed callers see no stale pending count")
    func failedCallersSeeNoStaleCount() async throws {
        let commandCount = 300
        let server = try HostileRedisServer.misbehavingOnce { socket in
            // Every command is in flight when the connection drops, and none is queued.
            _ = HostileRedisServer.readCommands(socket, count: commandCount)
        }
        defer { server.stop() }
        let client = RedisClient(configuration: RedisRobustnessClientTests.configuration(port: server.port))
        let counts = await withTaskGroup(of: Int?.self) { group in
            for _ in 0..<commandCount {
                group.addTask {
                    let result = await capture { () async throws(RedisError) in try await client.send("PING") }
                    guard case .failure = result else { return nil }
                    return client.pendingCommandCount
                }
            }
            var counts: [Int] = []
            for await count in group {
                if let count { counts.append(count) }
            }
            return counts
        }
        #expect(!counts.isEmpty, "no command failed when the server hung up")
        // Nothing else is sent, so a failed caller must find every slot released.
        #expect(counts.max() == 0, "pending counts seen by failed callers: \(Set(counts).sorted())")
        await client.close()
    }

    @Test("oversized and empty pipelines")
    func oversizedAndEmptyPipelines() async throws {
        let server = try HostileRedisServer { _, socket in
            HostileRedisServer.answerEveryCommand(socket)
            socket.close()
        }
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.maxPendingCommands = 4
        let client = RedisClient(configuration: configuration)
        let ping = [Array("PING".utf8)]

        #expect(await client.pipeline([]).isEmpty)
        let oversized = await client.pipeline(Array(repeating: ping, count: 5))
        #expect(oversized.count == 5)
        for (index, result) in oversized.enumerated() {
            guard case .failure(let error) = result else {
                Issue.record("command \(index) of a pipeline over maxPendingCommands ran: \(result)")
                continue
            }
            #expect(error.code == .queueFull, "command \(index): \(error)")
        }
        #expect(client.pendingCommandCount == 0)
        // Nothing of the rejected pipeline was written, so the next replies stay in step.
        #expect(try await client.send("PING") == .integer(9))
        let full = await client.pipeline(Array(repeating: ping, count: 4))
        #expect(full.count == 4)
        #expect(full.allSatisfy { (try? $0.get()) == .integer(9) })
        await client.close()
    }
}

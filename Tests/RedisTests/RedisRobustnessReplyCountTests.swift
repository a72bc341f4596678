import Foundation
import Glibc
import Redis
import SocketTransport
import Testing

/// Reply bookkeeping against fake servers that send too few or too many replies.
@Suite("Redis reply counting against hostile servers", .serialized)
struct RedisRobustnessReplyCountTests {
    /// Counts the commands in `bytes` by their `*` header lines. Correct for commands whose
    /// arguments contain no line starting with `*`.
    static func commandCount(_ bytes: [UInt8]) -> Int {
        var count = 0
        var atLineStart = true
        for byte in bytes {
            if atLineStart, byte == UInt8(ascii: "*") { count += 1 }
            atLineStart = byte == UInt8(ascii: "\n")
        }
        return count
    }

    /// Answers every command with `:9` until the peer closes or stays silent for 3 seconds.
    static func answerEveryCommand(_ socket: StreamSocket) {
        while true {
            let received = HostileRedisServer.readCommands(socket, count: 1, timeout: .seconds(3))
            let count = commandCount(received)
            if count == 0 { return }
            HostileRedisServer.send(socket, String(repeating: ":9\r\n", count: count))
        }
    }

    @Test("pipeline cut short releases its pending slots")
    func pipelineCutShort() async throws {
        let server = try HostileRedisServer { index, socket in
            if index == 0 {
                // Two of three replies, then a hangup.
                _ = HostileRedisServer.readCommands(socket, count: 3)
                HostileRedisServer.send(socket, ":1\r\n:2\r\n")
            } else {
                Self.answerEveryCommand(socket)
            }
            socket.close()
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

        // Every slot is free again, so a pipeline of exactly maxPendingCommands is accepted.
        let full = await client.pipeline([ping, ping, ping, ping])
        for (index, result) in full.enumerated() {
            #expect((try? result.get()) == .integer(9), "command \(index): \(result)")
        }
        await client.close()
    }

    @Test("connection drops surplus reply, next call gets its own")
    func connectionSurplusReply() throws {
        let server = try HostileRedisServer { index, socket in
            if index == 0 {
                _ = HostileRedisServer.readCommands(socket, count: 1)
                // A reply to a command the client never sent follows in the same write.
                HostileRedisServer.send(socket, ":1\r\n:2\r\n")
                HostileRedisServer.drainUntilClosed(socket)
            } else {
                Self.answerEveryCommand(socket)
            }
            socket.close()
        }
        defer { server.stop() }
        let connection = RedisConnection(
            configuration: RedisRobustnessClientTests.configuration(port: server.port))
        #expect(try connection.send("PING") == .integer(1))
        // The surplus `:2` must never be taken as this command's reply.
        #expect(try connection.send("PING") == .integer(9))
        #expect(server.accepted == 2)
        connection.close()
    }
}

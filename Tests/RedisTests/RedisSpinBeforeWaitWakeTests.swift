import Glibc
@testable import Redis
import RedisWire
import SocketTransport
import Testing

/// Wake-ups that arrive while the I/O thread prepares to wait or spins during a handshake, before
/// the connection is ready. Commands queued then are not sent, but their deadlines still count.
@Suite("Redis wake-ups during a handshake", .serialized)
struct RedisSpinBeforeWaitWakeTests {
    @Test("queued deadline honoured during handshake", arguments: [0, 1])
    func queuedDeadlineHonouredDuringHandshake(spinMilliseconds: Int) async throws {
        // Connection 0 closes at once, so the client counts the server as unreachable and lets
        // later commands wait up to maxWaitWhileDisconnected. Connection 1 never replies to AUTH,
        // so the handshake stays pending, and with a spin the I/O thread spins every turn. Each trial
        // queues a command with a long timeout, which wakes the I/O thread and starts a spin,
        // then a command with a 30 ms timeout a few microseconds later. If a spin drained the
        // second wake-up without looking at the new deadline, the I/O thread would block until
        // the long deadline and the short command would fail seconds late. Without a spin, a
        // command queued after the thread computed its wait timeout but before it marked itself
        // waiting sends no wake-up, with the same result.
        let server = try HostileRedisServer { index, socket in
            if index > 0 {
                HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(30))
            }
            socket.close()
        }
        defer { server.stop() }
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port))
        configuration.password = "secret"
        configuration.commandTimeout = .seconds(20)
        configuration.connectTimeout = .seconds(1)
        configuration.maxWaitWhileDisconnected = .seconds(20)
        configuration.reconnectBackoffInitial = .milliseconds(5)
        configuration.reconnectBackoffMaximum = .milliseconds(50)
        configuration.spinBeforeWait = .milliseconds(spinMilliseconds)
        configuration.spinsFixed = true
        let client = RedisClient(configuration: configuration)
        let setupStart = ContinuousClock.now
        while server.accepted < 2, ContinuousClock.now - setupStart < .seconds(5) {
            usleep(1_000)
        }
        try #require(server.accepted >= 2, "the client did not reconnect to the silent server")
        usleep(20_000)

        var slowest = Duration.zero
        var longCommands: [Task<Void, Never>] = []
        for trial in 0..<60 {
            longCommands.append(Task { _ = try? await client.send("PING", timeout: .seconds(4)) })
            usleep(UInt32(trial % 12) * 60)
            let start = ContinuousClock.now
            let short = await capture { () async throws(RedisError) -> RESPValue in
                try await client.send("PING", timeout: .milliseconds(30))
            }
            let elapsed = ContinuousClock.now - start
            slowest = max(slowest, elapsed)
            guard case .failure(let error) = short else {
                Issue.record("trial \(trial): the silent server replied \(short)")
                continue
            }
            #expect(error.code == .notConnected, "trial \(trial): \(error)")
            #expect(elapsed < .seconds(1), "trial \(trial): a 30 ms command failed after \(elapsed)")
            if elapsed >= .seconds(1) { break }
        }
        #expect(slowest < .seconds(1), "slowest 30 ms command took \(slowest)")
        await client.close()
        for command in longCommands {
            await command.value
        }
    }
}

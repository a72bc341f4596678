import Glibc
@testable import Redis
import SocketTransport
import Testing

/// A spin before the blocking wait must not push a deadline back. The wait after the spin
/// blocks only for the time left, and a spin stops at the next deadline.
@Suite("Redis spin and deadlines", .serialized)
struct RedisSpinDeadlineTests {
    /// A server that replies to the first command of each connection and then reads and
    /// discards everything without replying.
    static func replyingToFirstCommand() throws -> HostileRedisServer {
        try HostileRedisServer { _, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            HostileRedisServer.send(socket, "+PONG\r\n")
            HostileRedisServer.drainUntilClosed(socket)
            socket.close()
        }
    }

    @Test("client timeout not delayed by spin")
    func clientTimeoutNotDelayed() async throws {
        // Each trial makes the connection ready with one PING that gets a reply, then sends a PING with a
        // 5 ms timeout that gets no reply. A window fixed at 1 ms spins 1 ms in every wait. If
        // the blocking wait after the spin waited the whole timeout computed before it, every
        // trial would fail 1 ms late, at 6 ms or more. Scheduling delays only lengthen a trial,
        // so the fastest of the trials shows the spin's share.
        let server = try Self.replyingToFirstCommand()
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.spinBeforeWait = .milliseconds(1)
        configuration.spinsFixed = true
        configuration.reconnectBackoffInitial = .milliseconds(1)
        configuration.reconnectBackoffMaximum = .milliseconds(1)
        configuration.maxWaitWhileDisconnected = .seconds(2)
        let client = RedisClient(configuration: configuration)

        let timeout = Duration.milliseconds(5)
        var fastest = Duration.seconds(1)
        // The client spins only for tasks on its executor.
        try await withTaskExecutorPreference(client.executor) { () async throws in
            for trial in 0..<12 {
                #expect(try await client.send("PING") == .simpleString(bytes("PONG")), "trial \(trial)")
                let start = ContinuousClock.now
                let result = await capture { () async throws(RedisError) in
                    try await client.send("PING", timeout: timeout)
                }
                let elapsed = ContinuousClock.now - start
                guard case .failure(let error) = result else {
                    Issue.record("trial \(trial): the silent server replied \(result)")
                    continue
                }
                #expect(error.code == .timedOut, "trial \(trial): \(error)")
                fastest = min(fastest, elapsed)
            }
        }
        await client.close()

        #expect(fastest >= timeout, "a 5 ms command failed after \(fastest)")
        // The poller rounds a timeout up to whole milliseconds for epoll_wait, so a timeout may
        // fire up to 1 ms late. The bound still lies below the 6 ms that a spin added would give.
        #expect(fastest < .microseconds(5_800), "the fastest 5 ms timeout fired after \(fastest)")
    }
}

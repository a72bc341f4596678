import Glibc
@testable import Redis
import SocketTransport
import Testing

/// A spin before the blocking wait must not push a deadline back. The wait after the spin
/// blocks only for the time left, and a spin stops at the next deadline.
@Suite("Redis spin and deadlines", .serialized)
struct RedisSpinDeadlineTests {
    /// Starts a server that replies to the first command of each connection and then reads and
    /// discards everything without replying.
    static func replyingToFirstCommand() throws -> HostileRedisServer {
        try HostileRedisServer { _, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            HostileRedisServer.send(socket, "+PONG\r\n")
            HostileRedisServer.drainUntilClosed(socket)
            socket.close()
        }
    }

    /// Command timeouts with the bound that their fastest trial must stay under.
    static let timeouts: [(timeout: Duration, bound: Duration)] = [
        // The poller rounds a timeout up to whole milliseconds for epoll_wait, so a timeout may
        // fire up to 1 ms late. The bound still lies below the 6 ms that a spin added would give.
        (.milliseconds(5), .microseconds(5_800)),
        // A timeout shorter than the window fires when a spin cut at the deadline ends, before
        // the 1 ms that a whole spin would take.
        (.microseconds(400), .microseconds(900)),
    ]

    @Test("client timeout not delayed by spin", arguments: timeouts)
    func clientTimeoutNotDelayed(timeout: Duration, bound: Duration) async throws {
        // Each trial makes the connection ready with one PING that gets a reply, then sends a
        // PING with `timeout` that gets no reply. A window fixed at 1 ms spins 1 ms in every
        // wait, unless cut at the deadline. If the blocking wait after the spin waited the whole
        // timeout computed before it, every trial would fail at least 1 ms late. Scheduling
        // delays only lengthen a trial, so the fastest of the trials shows the spin's share.
        let server = try Self.replyingToFirstCommand()
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.spinBeforeWait = .milliseconds(1)
        configuration.spinsFixed = true
        configuration.reconnectBackoffInitial = .milliseconds(1)
        configuration.reconnectBackoffMaximum = .milliseconds(1)
        configuration.maxWaitWhileDisconnected = .seconds(2)
        let client = RedisClient(configuration: configuration)

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

        #expect(fastest >= timeout, "a command with timeout \(timeout) failed after \(fastest)")
        #expect(fastest < bound, "the fastest timeout of \(timeout) fired after \(fastest)")
    }
}

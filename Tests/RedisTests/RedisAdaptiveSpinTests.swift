import Glibc
@testable import Redis
import SocketTransport
import Testing

/// The default, adaptive `spinBeforeWait`: the window opens while replies come soon and closes
/// when they take longer than the limit, so a slow server costs no polling.
@Suite("Redis adaptive spin", .serialized)
struct RedisAdaptiveSpinTests {
    /// Starts a server that replies to the first `fast` commands of each connection at once and every
    /// later one after `delay`.
    static func fastThenSlow(fast: Int, delay: Duration) throws -> HostileRedisServer {
        let delayMicroseconds = UInt32(delay.components.seconds * 1_000_000
            + delay.components.attoseconds / 1_000_000_000_000)
        return try HostileRedisServer { _, socket in
            var answered = 0
            while true {
                let received = HostileRedisServer.readCommands(socket, count: 1, timeout: .seconds(5))
                let count = HostileRedisServer.commandCount(received)
                if count == 0 { break }
                if answered >= fast { usleep(delayMicroseconds) }
                HostileRedisServer.send(socket, String(repeating: "+PONG\r\n", count: count))
                answered += count
            }
            socket.close()
        }
    }

    static func configuration(port: Int, fixed: Bool) -> RedisConfiguration {
        var configuration = RedisRobustnessClientTests.configuration(port: port)
        configuration.spinBeforeWait = .milliseconds(1)
        configuration.spinsFixed = fixed
        return configuration
    }

    @Test("connection window follows reply delay")
    func connectionWindow() throws {
        let server = try Self.fastThenSlow(fast: 40, delay: .milliseconds(3))
        defer { server.stop() }
        let connection = RedisConnection(configuration: Self.configuration(port: server.port, fixed: false))
        defer { connection.close() }
        #expect(connection.spinWindow.current == .zero)
        var widest = Duration.zero
        for _ in 0..<40 {
            #expect(try connection.send("PING") == .simpleString(bytes("PONG")))
            widest = max(widest, connection.spinWindow.current)
        }
        // Replies over loopback come within tens of microseconds, well inside the 1 ms limit.
        #expect(widest > .zero, "the window never opened for replies that came at once")
        var narrowed: [Duration] = []
        for _ in 0..<8 {
            #expect(try connection.send("PING") == .simpleString(bytes("PONG")))
            narrowed.append(connection.spinWindow.current)
        }
        #expect(narrowed.last == .zero, "the window stayed open for 3 ms replies: \(narrowed)")
        #expect(narrowed == narrowed.sorted(by: >), "the window widened on 3 ms replies: \(narrowed)")
    }

    @Test("client polls slow server briefly")
    func clientCPUWithSlowServer() async throws {
        // 100 replies 4 ms late each. A window fixed at 1 ms polls for 1 ms per reply, about
        // 100 ms of CPU. The adaptive window closes after a few of them.
        func cpuDuringSlowReplies(fixed: Bool) async throws -> Duration {
            let server = try Self.fastThenSlow(fast: 40, delay: .milliseconds(4))
            defer { server.stop() }
            let threadsBefore = Set(threadCPUTimes().keys)
            let client = RedisClient(configuration: Self.configuration(port: server.port, fixed: fixed))
            // The client spins only for tasks on its executor.
            try await withTaskExecutorPreference(client.executor) { () async throws in
                for _ in 0..<40 {
                    #expect(try await client.send("PING") == .simpleString(bytes("PONG")))
                }
            }
            let cpuBefore = threadCPUTimes()
            try await withTaskExecutorPreference(client.executor) { () async throws in
                for _ in 0..<100 {
                    #expect(try await client.send("PING") == .simpleString(bytes("PONG")))
                }
            }
            let cpu = cpuTimeOfNewThreads(before: threadsBefore, start: cpuBefore)
            await client.close()
            return cpu
        }
        let fixed = try await cpuDuringSlowReplies(fixed: true)
        let adaptive = try await cpuDuringSlowReplies(fixed: false)
        // The fixed window shows that this measurement detects polling. /proc counts in 10 ms ticks.
        #expect(fixed >= .milliseconds(60), "a fixed 1 ms window used only \(fixed) over 100 waits")
        #expect(adaptive <= .milliseconds(30), "the adaptive window used \(adaptive) over 100 slow waits")
    }
}

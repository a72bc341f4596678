import Glibc
@testable import Redis
import SocketTransport
import Testing

/// The client spins for replies only to commands sent by tasks on its executor, which resume on
/// the I/O thread. A task on another executor resumes on another thread that has to be woken
/// anyway, so a spin for its reply costs CPU time without saving that wake-up.
@Suite("Redis spin and the caller's executor", .serialized)
struct RedisSpinExecutorTests {
    /// Starts a server that replies to every command about 300 µs after it arrived.
    static func replyingAfterDelay() throws -> HostileRedisServer {
        try HostileRedisServer { _, socket in
            while true {
                let received = HostileRedisServer.readCommands(socket, count: 1, timeout: .seconds(5))
                let count = HostileRedisServer.commandCount(received)
                if count == 0 { break }
                usleep(300)
                HostileRedisServer.send(socket, String(repeating: "+PONG\r\n", count: count))
            }
            socket.close()
        }
    }

    /// Sends `count` PINGs one at a time, from a task on the client's executor or on the default
    /// one, and returns the CPU time that the client's threads used meanwhile.
    static func ioThreadCPU(
        sending count: Int, onClientExecutor: Bool
    ) async throws -> Duration {
        let server = try replyingAfterDelay()
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.spinBeforeWait = .milliseconds(1)
        let threadsBefore = Set(threadCPUTimes().keys)
        let client = RedisClient(configuration: configuration)
        let executor: (any TaskExecutor)? = onClientExecutor ? client.executor : nil
        // Replies within the 1 ms limit open the window on the first waits.
        try await withTaskExecutorPreference(executor) { () async throws in
            for _ in 0..<20 {
                #expect(try await client.send("PING") == .simpleString(bytes("PONG")))
            }
        }
        let cpuBefore = threadCPUTimes()
        try await withTaskExecutorPreference(executor) { () async throws in
            for _ in 0..<count {
                #expect(try await client.send("PING") == .simpleString(bytes("PONG")))
            }
        }
        let cpu = cpuTimeOfNewThreads(before: threadsBefore, start: cpuBefore)
        await client.close()
        return cpu
    }

    @Test("client spins only for its executor's tasks")
    func spinsOnlyForExecutorTasks() async throws {
        // 300 replies about 300 µs late each. A spin for each of them would keep the I/O thread
        // on the CPU for about 90 ms. /proc counts CPU time in 10 ms ticks.
        let onClientExecutor = try await Self.ioThreadCPU(sending: 300, onClientExecutor: true)
        let onDefaultExecutor = try await Self.ioThreadCPU(sending: 300, onClientExecutor: false)

        // Checks that the measurement includes the spin.
        #expect(
            onClientExecutor >= .milliseconds(60),
            "tasks on the client's executor cost the I/O thread only \(onClientExecutor) over 300 replies")
        #expect(
            onDefaultExecutor <= .milliseconds(50),
            "tasks on the default executor cost the I/O thread \(onDefaultExecutor) over 300 replies")
    }
}

import Foundation
import Glibc
@testable import Redis
import SocketTransport
import Synchronization
import Testing

/// `spinBeforeWait` with a window fixed at the limit, so that every wait polls: replies still
/// match their commands, timeouts still fire, a command queued during a spin goes out at once,
/// and the spin is bounded.
@Suite("Redis spin before wait", .serialized)
struct RedisSpinBeforeWaitTests {
    static func configuration(port: Int, spin: Duration) -> RedisConfiguration {
        var configuration = RedisRobustnessClientTests.configuration(port: port)
        configuration.spinBeforeWait = spin
        configuration.spinsFixed = true
        return configuration
    }

    @Test("100 µs by default, shown when changed")
    func defaultAndDescription() {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: 1))
        #expect(configuration.spinBeforeWait == .microseconds(100))
        #expect(!"\(configuration)".contains("spinBeforeWait"))
        configuration.spinBeforeWait = .zero
        #expect("\(configuration)".contains("spinBeforeWait: 0.0 seconds"))
    }

    @Test("client replies match commands")
    func clientReplies() async throws {
        let server = try startRedis()
        defer { server.stop() }
        var configuration = testConfiguration(server)
        configuration.spinBeforeWait = .microseconds(200)
        configuration.spinsFixed = true
        let client = RedisClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                // The client spins only for tasks on its executor.
                group.addTask(executorPreference: client.executor) {
                    for call in 0..<200 {
                        let text = "task-\(task)-call-\(call)"
                        let reply = try await client.send("ECHO", text)
                        #expect(reply == .bulkString(bytes(text)))
                    }
                }
            }
            try await group.waitForAll()
        }
        await client.close()
    }

    @Test("connection replies match commands")
    func connectionReplies() throws {
        let server = try startRedis()
        defer { server.stop() }
        var configuration = testConfiguration(server)
        configuration.spinBeforeWait = .microseconds(200)
        configuration.spinsFixed = true
        let connection = RedisConnection(configuration: configuration)
        for call in 0..<500 {
            #expect(try connection.send("ECHO", "call-\(call)") == .bulkString(bytes("call-\(call)")))
        }
        connection.close()
    }

    @Test("timeouts still fire while spinning")
    func timeouts() async throws {
        let server = try HostileRedisServer.silent()
        defer { server.stop() }
        var configuration = Self.configuration(port: server.port, spin: .milliseconds(1))
        configuration.commandTimeout = .milliseconds(200)

        let connection = RedisConnection(configuration: configuration)
        let connectionStart = ContinuousClock.now
        #expect(throws: RedisError.self) { try connection.send("PING") }
        #expect(ContinuousClock.now - connectionStart < .seconds(2))
        connection.close()

        let client = RedisClient(configuration: configuration)
        let clientStart = ContinuousClock.now
        let result = await withTaskExecutorPreference(client.executor) {
            await capture { () async throws(RedisError) in try await client.send("PING") }
        }
        guard case .failure(let error) = result else {
            Issue.record("a silent server produced a reply: \(result)")
            return
        }
        #expect(error.code == .timedOut, "\(error)")
        #expect(ContinuousClock.now - clientStart < .seconds(2))
        await client.close()
    }

    @Test("command queued during a spin is sent at once")
    func commandQueuedDuringSpin() async throws {
        // The server replies to the first command of each pair only once the second has arrived,
        // or after 2 seconds. The test queues the second command as soon as the server holds the
        // first, while the I/O thread spins for the first reply. If the spin swallowed the
        // wake-up for the second command, the I/O thread would block until the first reply and
        // each pair would take 2 seconds.
        let firstArrived = Counter()
        let server = try HostileRedisServer { _, socket in
            while true {
                let first = HostileRedisServer.readCommands(socket, count: 1, timeout: .seconds(5))
                var count = HostileRedisServer.commandCount(first)
                if count == 0 { break }
                firstArrived.increment()
                if count == 1 {
                    let second = HostileRedisServer.readCommands(socket, count: 1, timeout: .seconds(2))
                    count += HostileRedisServer.commandCount(second)
                }
                HostileRedisServer.send(socket, String(repeating: ":1\r\n", count: count))
            }
            socket.close()
        }
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port, spin: .milliseconds(1)))
        for pair in 1...20 {
            let start = ContinuousClock.now
            // The first command comes from a task on the client's executor, so the I/O thread
            // spins for its reply. The second comes from this task, on another thread.
            let first = Task(executorPreference: client.executor) { try await client.send("PING") }
            while firstArrived.value < pair, ContinuousClock.now - start < .seconds(3) {
                // Sleeping between checks leaves a CPU to the server thread while the I/O thread
                // spins, also on a machine with two cores.
                usleep(20)
            }
            let second = try await client.send("PING")
            #expect(try await first.value == .integer(1))
            #expect(second == .integer(1))
            #expect(ContinuousClock.now - start < .seconds(1))
        }
        await client.close()
    }

    /// A counter shared between a server script and the test.
    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .acquiring) }
        func increment() { count.add(1, ordering: .releasing) }
    }

    @Test("a spin longer than one millisecond is cut to one")
    func spinIsBounded() async throws {
        // The reply comes after 400 ms. A 5-second spin, if not cut, would keep the I/O thread
        // on the CPU for all of that time.
        let server = try HostileRedisServer { _, socket in
            while true {
                let received = HostileRedisServer.readCommands(socket, count: 1, timeout: .seconds(3))
                let count = HostileRedisServer.commandCount(received)
                if count == 0 { break }
                usleep(400_000)
                HostileRedisServer.send(socket, String(repeating: ":1\r\n", count: count))
            }
            socket.close()
        }
        defer { server.stop() }
        let threadsBefore = Set(threadCPUTimes().keys)
        let client = RedisClient(configuration: Self.configuration(port: server.port, spin: .seconds(5)))
        let cpuBefore = try await withTaskExecutorPreference(client.executor) { () async throws in
            _ = try await client.send("PING")
            let cpuBefore = threadCPUTimes()
            #expect(try await client.send("PING") == .integer(1))
            return cpuBefore
        }
        let cpu = cpuTimeOfNewThreads(before: threadsBefore, start: cpuBefore)
        #expect(cpu < .milliseconds(150), "the client's threads used \(cpu) of CPU during a 400 ms wait")
        await client.close()
    }
}

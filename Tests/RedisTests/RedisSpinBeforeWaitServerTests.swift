import Glibc
@testable import Redis
import RedisWire
import Testing

extension RedisServerSuite {
    /// `spinBeforeWait` against redis-server with a password: the AUTH handshake, reconnects,
    /// jobs on the client's executor and close() while the I/O thread spins.
    @Suite("Redis spin before wait against redis-server")
    struct RedisSpinBeforeWaitServerTests {
        @Test("AUTH handshake and reconnects")
        func authHandshakeAndReconnects() async throws {
            let server = try startRedis()
            defer { server.stop() }
            _ = try redisCLI(server, ["CONFIG", "SET", "requirepass", "spin-secret"])
            var configuration = testConfiguration(server)
            configuration.password = "spin-secret"
            configuration.clientName = "spinner"
            configuration.spinBeforeWait = .milliseconds(1)
            configuration.spinsFixed = true
            let client = RedisClient(configuration: configuration)
            let connection = RedisConnection(configuration: configuration)
            // The client spins for replies only to tasks on its executor.
            func echo(_ text: String) async throws -> RESPValue {
                try await withTaskExecutorPreference(client.executor) { () async throws in
                    try await client.send("ECHO", text)
                }
            }
            for round in 0..<5 {
                let text = "round-\(round)"
                #expect(try await echo(text) == .bulkString(bytes(text)))
                #expect(try connection.send("ECHO", text) == .bulkString(bytes(text)))
                // Drops both connections; the next command of each reconnects and sends AUTH again.
                let killed = try redisCLI(
                    server, ["-a", "spin-secret", "--no-auth-warning", "CLIENT", "KILL", "TYPE", "normal"])
                let killedCount = Int(String(killed.filter(\.isNumber))) ?? 0
                #expect(killedCount >= 2, "CLIENT KILL output: \(killed)")
                var recovered = false
                for _ in 0..<100 {
                    if (try? await echo(text)) == .bulkString(bytes(text)) {
                        recovered = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(recovered, "round \(round): the client did not reconnect")
                var connectionRecovered = false
                for _ in 0..<100 {
                    if (try? connection.send("ECHO", text)) == .bulkString(bytes(text)) {
                        connectionRecovered = true
                        break
                    }
                    usleep(10_000)
                }
                #expect(connectionRecovered, "round \(round): the connection did not reconnect")
            }
            connection.close()
            await client.close()
        }

        @Test("executor jobs and close while spinning")
        func executorJobsAndCloseWhileSpinning() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.spinBeforeWait = .milliseconds(1)
            configuration.spinsFixed = true
            let client = RedisClient(configuration: configuration)
            let start = ContinuousClock.now
            // Tasks that prefer the I/O thread enqueue their next command as jobs there. Plain
            // tasks queue commands from other threads. Every reply has to arrive at once.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<4 {
                    group.addTask {
                        try await withTaskExecutorPreference(task % 2 == 0 ? client.executor : nil) {
                            for call in 0..<300 {
                                let text = "t\(task)c\(call)"
                                let reply = try await client.send("ECHO", text)
                                #expect(reply == .bulkString(bytes(text)))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(ContinuousClock.now - start < .seconds(10))

            // A BLPOP keeps a reply awaited, so the I/O thread spins when close() arrives.
            let blocked = Task(executorPreference: client.executor) {
                await capture { () async throws(RedisError) -> RESPValue in
                    try await client.send("BLPOP", "spin:empty", "5")
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            let closeStart = ContinuousClock.now
            await client.close()
            #expect(ContinuousClock.now - closeStart < .seconds(1))
            guard case .failure(let error) = await blocked.value else {
                Issue.record("BLPOP on an empty list returned a value")
                return
            }
            #expect(error.code == .clientClosed, "\(error)")
        }
    }
}

import Glibc
import Redis
import RedisWire
import SocketTransport
import TestSupport
import Testing

extension RedisServerSuite {
    @Suite("Redis client")
    struct RedisClientTests {
        @Test("ping, set, get and publish")
        func basicCommands() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            #expect(try await client.ping() == bytes("PONG"))
            #expect(try await client.send("SET", "key", "value") == .simpleString(bytes("OK")))
            #expect(try await client.send("GET", "key") == .bulkString(bytes("value")))
            #expect(try await client.send("GET", "missing") == .nullBulkString)
            #expect(try await client.publish(channel: bytes("nobody"), message: bytes("x")) == 0)
            await client.close()
        }

        @Test("server error reply thrown")
        func serverError() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            _ = try await client.send("SET", "key", "value")
            do {
                _ = try await client.send("LPUSH", "key", "x")
                Issue.record("expected WRONGTYPE")
            } catch {
                #expect(error.code == .serverError)
                #expect(error.serverErrorPrefix == "WRONGTYPE")
            }
            // The connection stays usable after an error reply.
            #expect(try await client.send("GET", "key") == .bulkString(bytes("value")))
            await client.close()
        }

        @Test("subscribe commands rejected")
        func subscribeRejected() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            for command in ["SUBSCRIBE", "psubscribe", "SSUBSCRIBE", "MONITOR"] {
                do {
                    _ = try await client.send([bytes(command), bytes("x")])
                    Issue.record("\(command) was sent")
                } catch {
                    #expect(error.code == .invalidArgument, "\(command)")
                    #expect(error.description.contains("RedisSubscriber"), "\(command)")
                }
            }
            let results = await client.pipeline([[bytes("PING")], [bytes("SUBSCRIBE"), bytes("x")]])
            #expect(results.count == 2)
            for result in results {
                if case .failure(let error) = result {
                    #expect(error.code == .invalidArgument)
                } else {
                    Issue.record("a pipeline with SUBSCRIBE was sent")
                }
            }
            #expect(try await client.ping() == bytes("PONG"))
            await client.close()
        }

        @Test("pipeline results in order")
        func pipelineOrder() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            let commands =
                (0..<1_000).map { _ in [bytes("INCR"), bytes("counter")] } + [[bytes("NOSUCHCOMMAND")]]
            let results = await client.pipeline(commands)
            #expect(results.count == 1_001)
            for (index, result) in results.prefix(1_000).enumerated() {
                #expect((try? result.get()) == .integer(Int64(index + 1)), "reply \(index)")
            }
            if case .failure(let error) = results[1_000] {
                #expect(error.code == .serverError)
            } else {
                Issue.record("unknown command succeeded")
            }
            await client.close()
        }

        @Test("concurrent callers get their own replies")
        func concurrentCallers() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            // Each task returns what went wrong, so a failure shows the replies or errors.
            let problems = await withTaskGroup(of: [String].self) { group in
                for task in 0..<50 {
                    group.addTask {
                        var problems: [String] = []
                        for index in 0..<100 {
                            let token = bytes("task-\(task)-\(index)")
                            let started = ContinuousClock.now
                            do {
                                let reply = try await client.send([bytes("ECHO"), token])
                                if reply != .bulkString(token) {
                                    problems.append("task \(task) call \(index): reply \(reply)")
                                }
                            } catch {
                                let waited = ContinuousClock.now - started
                                problems.append("task \(task) call \(index) after \(waited): \(error)")
                            }
                        }
                        return problems
                    }
                }
                return await group.reduce([], +)
            }
            #expect(problems.isEmpty, "\(problems.count) calls failed, first: \(problems.prefix(5))")
            await client.close()
        }

        @Test("publish while server down fails fast")
        func publishWhileDown() async throws {
            let server = try startRedis()
            let configuration = testConfiguration(server)
            server.stop()
            let client = RedisClient(configuration: configuration)
            for attempt in 0..<5 {
                let started = ContinuousClock.now
                do {
                    _ = try await client.publish(channel: bytes("events:a:1"), message: bytes("{}"))
                    Issue.record("publish succeeded with the server stopped")
                } catch {
                    #expect(error.code == .notConnected, "attempt \(attempt): \(error)")
                    #expect(error.description.contains("127.0.0.1:\(configuration.endpoint)") == false)
                }
                #expect(ContinuousClock.now - started < .milliseconds(500), "attempt \(attempt)")
            }
            await client.close()
        }

        @Test("reconnects after server restart")
        func reconnectAfterRestart() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            #expect(try await client.ping() == bytes("PONG"))
            try server.restart()
            var recovered = false
            for _ in 0..<100 where !recovered {
                recovered = (try? await client.ping()) == bytes("PONG")
                if !recovered { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(recovered)
            await client.close()
        }

        @Test("maxWaitWhileDisconnected waits for the server")
        func waitWhileDisconnected() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.maxWaitWhileDisconnected = .seconds(3)
            let client = RedisClient(configuration: configuration)
            #expect(try await client.ping() == bytes("PONG"))
            server.stop()
            // Let the client notice that the server is gone.
            _ = try? await client.ping()
            let restart = Task {
                try await Task.sleep(for: .milliseconds(300))
                try server.start(port: server.port)
            }
            #expect(try await client.ping() == bytes("PONG"))
            try await restart.value
            await client.close()
        }

        @Test("queue bound rejects with queueFull")
        func queueBound() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.maxPendingCommands = 10
            let client = RedisClient(configuration: configuration)
            #expect(try await client.ping() == bytes("PONG"))
            server.pause()
            // SIGSTOP is delivered asynchronously, so wait until no PING below can get a reply.
            try await Task.sleep(for: .milliseconds(100))
            let waiting = (0..<10).map { _ in Task { try await client.ping() } }
            // Wait until all ten are queued or in flight.
            for _ in 0..<100 where client.pendingCommandCount < 10 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(client.pendingCommandCount == 10)

            do {
                _ = try await client.ping()
                Issue.record("an eleventh command was accepted")
            } catch {
                #expect(error.code == .queueFull)
                #expect(error.description.contains("maxPendingCommands = 10"))
            }
            let rejectedPipeline = await client.pipeline([[bytes("PING")]])
            if case .failure(let error) = rejectedPipeline.first {
                #expect(error.code == .queueFull)
            } else {
                Issue.record("pipeline was accepted")
            }

            server.resume()
            for task in waiting {
                #expect(try await task.value == bytes("PONG"))
            }
            #expect(try await client.ping() == bytes("PONG"))
            await client.close()
        }

        @Test("ACL user authenticates; wrong password fails")
        func aclAuthentication() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = try aclUserConfiguration(
                server, password: "secret", clientName: "dualstream-test")
            let client = RedisClient(configuration: configuration)
            #expect(try await client.send("ACL", "WHOAMI") == .bulkString(bytes("app")))
            #expect(try await client.send("CLIENT", "GETNAME") == .bulkString(bytes("dualstream-test")))
            _ = try await client.send("SET", "db-marker", "1")
            #expect(try redisCLI(server, ["-n", "1", "GET", "db-marker"]) == "1")
            await client.close()

            configuration.password = "wrong"
            let rejected = RedisClient(configuration: configuration)
            do {
                _ = try await rejected.ping()
                Issue.record("wrong password accepted")
            } catch {
                #expect(error.code == .authenticationFailed)
                #expect(error.description.contains("WRONGPASS"))
                #expect(!error.description.contains("wrong"))
            }
            await rejected.close()
        }

        @Test("tasks on client executor run on its I/O thread")
        func clientExecutor() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            let threads = try await withTaskExecutorPreference(client.executor) {
                var threads = Set<UInt>()
                for index in 0..<200 {
                    let token = bytes("pinned-\(index)")
                    let reply = try await client.send([bytes("ECHO"), token])
                    #expect(reply == .bulkString(token))
                    threads.insert(pthread_self())
                }
                return threads
            }
            #expect(threads.count == 1)
            let concurrent = try await withThrowingTaskGroup(of: Int.self) { group in
                for task in 0..<16 {
                    group.addTask(executorPreference: client.executor) {
                        try await client.publish(channel: bytes("pinned-\(task)"), message: bytes("x"))
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(concurrent == 0)
            // Closing from a task on the executor must not wait for itself.
            await withTaskExecutorPreference(client.executor) {
                await client.close()
            }
            let afterClose = await withTaskExecutorPreference(client.executor) {
                await capture { () async throws(RedisError) in try await client.ping() }
            }
            if case .failure(let error) = afterClose {
                #expect(error.code == .clientClosed)
            } else {
                Issue.record("ping after close succeeded")
            }
        }

        @Test("calls after close fail")
        func callsAfterClose() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            #expect(try await client.ping() == bytes("PONG"))
            await client.close()
            do {
                _ = try await client.ping()
                Issue.record("ping after close succeeded")
            } catch {
                #expect(error.code == .clientClosed)
            }
        }
    }
}

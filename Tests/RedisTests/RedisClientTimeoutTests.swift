import Redis
import RedisWire
import TestSupport
import Testing

extension RedisServerSuite {
    @Suite("Redis client timeouts")
    struct RedisClientTimeoutTests {
        @Test("command after timeout gets its own reply")
        func noLateReplies() async throws {
            // DEBUG is disabled by default since Redis 7.0.
            let server = try startRedis(["--enable-debug-command", "yes"])
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            var timeouts = 0
            for round in 0..<200 {
                let timeoutMilliseconds = Int.random(in: 1...60)
                // The server sleeps 15 ms longer than the client waits, then replies +OK late.
                let sleepSeconds = Double(timeoutMilliseconds + 15) / 1_000
                do {
                    let reply = try await client.send(
                        [bytes("DEBUG"), bytes("SLEEP"), bytes(String(sleepSeconds))],
                        timeout: .milliseconds(timeoutMilliseconds)
                    )
                    // Only possible when this thread was descheduled past the deadline.
                    #expect(reply == .simpleString(bytes("OK")), "round \(round)")
                } catch {
                    #expect(error.code == .timedOut, "round \(round): \(error)")
                    timeouts += 1
                }
                let token = bytes("round-\(round)")
                let reply = try await client.send([bytes("ECHO"), token])
                #expect(reply == .bulkString(token), "round \(round)")
            }
            #expect(timeouts >= 150)
            await client.close()
        }

        @Test("timeout fails other in-flight commands")
        func timeoutClosesConnection() async throws {
            let server = try startRedis(["--enable-debug-command", "yes"])
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            #expect(try await client.ping() == bytes("PONG"))
            let idBefore = try await client.send("CLIENT", "ID")
            let slow = Task {
                await capture { () async throws(RedisError) in
                    try await client.send(
                        [bytes("DEBUG"), bytes("SLEEP"), bytes("0.3")], timeout: .milliseconds(50))
                }
            }
            try await Task.sleep(for: .milliseconds(10))
            let other = Task {
                await capture { () async throws(RedisError) in try await client.send("PING") }
            }
            let slowResult = await slow.value
            let otherResult = await other.value
            guard case .failure(let slowError) = slowResult else {
                Issue.record("slow command did not time out")
                return
            }
            #expect(slowError.code == .timedOut)
            guard case .failure(let otherError) = otherResult else {
                Issue.record("command written after the slow one succeeded on the same connection")
                return
            }
            #expect(otherError.code == .connectionClosed)
            // The next command runs on a new connection.
            let idAfter = try await client.send("CLIENT", "ID")
            #expect(idAfter != idBefore)
            await client.close()
        }
    }
}

import Glibc
import Redis
import RedisWire
import SocketTransport
import Synchronization
import TestSupport
import Testing

extension RedisServerSuite {
    @Suite("Redis synchronous connection")
    struct RedisConnectionTests {
        @Test("publish, send and error reply")
        func basicCommands() throws {
            let server = try startRedis()
            defer { server.stop() }
            let connection = RedisConnection(configuration: testConfiguration(server))
            #expect(!connection.isConnected)
            #expect(try connection.publish(channel: bytes("nobody"), message: bytes("x")) == 0)
            #expect(connection.isConnected)
            #expect(try connection.send("SET", "key", "value") == .simpleString(bytes("OK")))
            #expect(try connection.send("GET", "key") == .bulkString(bytes("value")))
            do {
                _ = try connection.send("LPUSH", "key", "x")
                Issue.record("expected WRONGTYPE")
            } catch {
                #expect(error.code == .serverError)
                #expect(error.serverErrorPrefix == "WRONGTYPE")
            }
            // An error reply leaves the connection open and in step.
            #expect(connection.isConnected)
            #expect(try connection.send("GET", "key") == .bulkString(bytes("value")))
            connection.close()
            #expect(!connection.isConnected)
            #expect(try connection.send("GET", "key") == .bulkString(bytes("value")))
        }

        @Test("large reply read in several chunks")
        func largeReply() throws {
            let server = try startRedis()
            defer { server.stop() }
            let connection = RedisConnection(configuration: testConfiguration(server), readChunkSize: 512)
            let value = [UInt8](repeating: UInt8(ascii: "v"), count: 200_000)
            #expect(try connection.send([bytes("SET"), bytes("big"), value]) == .simpleString(bytes("OK")))
            #expect(try connection.send("GET", "big") == .bulkString(value))
            for index in 0..<300 {
                _ = try connection.send("RPUSH", "list", "element-\(index)")
            }
            let list = try connection.send("LRANGE", "list", "0", "-1")
            #expect(list.arrayElements?.count == 300)
            #expect(list.arrayElements?.last == .bulkString(bytes("element-299")))
        }

        @Test("ACL user authenticates; wrong password fails")
        func authentication() throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = try aclUserConfiguration(server, password: "s3cret", clientName: "sync-test")
            let connection = RedisConnection(configuration: configuration)
            #expect(try connection.send("ACL", "WHOAMI") == .bulkString(bytes("app")))
            #expect(try connection.send("CLIENT", "GETNAME") == .bulkString(bytes("sync-test")))
            _ = try connection.send("SET", "db-marker", "1")
            #expect(try redisCLI(server, ["-n", "1", "GET", "db-marker"]) == "1")

            configuration.password = "wrong"
            configuration.reconnectBackoffMaximum = .seconds(30)
            let rejected = RedisConnection(configuration: configuration)
            do {
                _ = try rejected.send("PING")
                Issue.record("wrong password accepted")
            } catch {
                #expect(error.code == .authenticationFailed)
                #expect(error.description.contains("WRONGPASS"))
                #expect(!error.description.contains("wrong"))
            }
            #expect(!rejected.isConnected)
            // The retry waits for the maximum reconnect delay, so the next call fails at once
            // with the same code instead of sending AUTH again.
            do {
                _ = try rejected.send("PING")
                Issue.record("wrong password accepted")
            } catch {
                #expect(error.code == .authenticationFailed)
                #expect(error.message.contains("next connect attempt is due"))
            }
        }

        @Test("timeout closes the connection, next call reconnects")
        func timeoutReconnects() throws {
            let firstClosed = Mutex(false)
            let fake = try HostileRedisServer { index, socket in
                if index == 0 {
                    // Reads the PING and never replies.
                    _ = HostileRedisServer.readCommands(socket, count: 1)
                    HostileRedisServer.drainUntilClosed(socket)
                    firstClosed.withLock { $0 = true }
                } else {
                    _ = HostileRedisServer.readCommands(socket, count: 1)
                    HostileRedisServer.send(socket, "+PONG\r\n")
                    HostileRedisServer.drainUntilClosed(socket)
                }
                socket.close()
            }
            defer { fake.stop() }
            var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: fake.port))
            configuration.connectTimeout = .seconds(1)
            let connection = RedisConnection(configuration: configuration)
            let started = ContinuousClock.now
            do {
                _ = try connection.send([bytes("PING")], timeout: .milliseconds(200))
                Issue.record("expected a timeout")
            } catch {
                #expect(error.code == .timedOut)
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(!connection.isConnected)
            #expect(try connection.send("PING") == .simpleString(bytes("PONG")))
            #expect(fake.accepted == 2)
            let deadline = ContinuousClock.now + .seconds(5)
            while !firstClosed.withLock({ $0 }), ContinuousClock.now < deadline {
                usleep(5_000)
            }
            #expect(firstClosed.withLock { $0 })
        }

        @Test("unreachable server fails fast during backoff")
        func unreachableBackoff() throws {
            let port = try freeLoopbackPort()
            var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
            configuration.connectTimeout = .seconds(1)
            configuration.reconnectBackoffInitial = .seconds(30)
            configuration.reconnectBackoffMaximum = .seconds(60)
            let connection = RedisConnection(configuration: configuration)
            do {
                _ = try connection.send("PING")
                Issue.record("expected notConnected")
            } catch {
                #expect(error.code == .notConnected)
            }
            let started = ContinuousClock.now
            do {
                _ = try connection.send("PING")
                Issue.record("expected notConnected")
            } catch {
                #expect(error.code == .notConnected)
                #expect(error.message.contains("next connect attempt is due"))
            }
            #expect(ContinuousClock.now - started < .milliseconds(500))
        }

        @Test("subscribe and CLIENT REPLY OFF rejected")
        func subscribeRejected() throws {
            let server = try startRedis()
            defer { server.stop() }
            let connection = RedisConnection(configuration: testConfiguration(server))
            for command in [["SUBSCRIBE", "x"], ["monitor"], ["CLIENT", "REPLY", "OFF"]] {
                do {
                    _ = try connection.send(command.map(bytes))
                    Issue.record("\(command) was sent")
                } catch {
                    #expect(error.code == .invalidArgument, "\(command)")
                }
            }
            // Nothing was sent, so the connection was never opened.
            #expect(!connection.isConnected)
        }
    }
}

/// Returns a loopback port that was free a moment ago, for a server that is not running.
private func freeLoopbackPort() throws -> Int {
    let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
    defer { listener.close() }
    return listener.port
}

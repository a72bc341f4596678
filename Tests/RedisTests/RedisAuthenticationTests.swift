import DualStreamLogging
import Foundation
import Redis
import Synchronization
import TestSupport
import Testing

/// Records log records in memory, to check levels and rate limiting.
final class RecordingLogHandler: LogHandler {
    private let records = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata, label: String,
        file: String, function: String, line: UInt
    ) {
        records.withLock { $0.append((level, message.description, metadata)) }
    }

    func messages(at level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.level == level }.map(\.message) }
    }

    func metadata(at level: Logger.Level) -> [Logger.Metadata] {
        records.withLock { $0.filter { $0.level == level }.map(\.metadata) }
    }
}

extension RedisServerSuite {
    @Suite("Redis authentication against redis-server")
    struct RedisAuthenticationServerTests {
        @Test("wrong password is authentication error")
        func wrongPassword() async throws {
            // Set after start, because the launcher's readiness PING carries no password.
            let server = try startRedis()
            defer { server.stop() }
            _ = try redisCLI(server, ["CONFIG", "SET", "requirepass", "right-password"])
            var configuration = testConfiguration(server)
            configuration.password = "wrong-password"
            let handler = RecordingLogHandler()
            let logger = Logger(label: "test", handler: handler, logLevel: .warning)
            let client = RedisClient(configuration: configuration, logger: logger)
            for attempt in 0..<3 {
                let result = await capture { () async throws(RedisError) in try await client.ping() }
                guard case .failure(let error) = result else {
                    Issue.record("wrong password accepted")
                    break
                }
                #expect(error.code == .authenticationFailed, "attempt \(attempt): \(error)")
                #expect(error.serverErrorPrefix == "WRONGPASS", "attempt \(attempt): \(error)")
                #expect(!error.description.contains("unreachable"), "attempt \(attempt): \(error)")
                #expect(!error.description.contains("wrong-password"), "attempt \(attempt): \(error)")
            }
            // About ten rejected attempts at the 100 ms maximum delay; the limiter passes three.
            try await Task.sleep(for: .seconds(1))
            await client.close()
            let warnings = handler.messages(at: .warning)
            #expect(warnings.count >= 1, "\(warnings)")
            #expect(warnings.count <= 3, "\(warnings)")
            #expect(warnings.first?.contains("authentication failed") == true, "\(warnings)")
            let logged = handler.metadata(at: .warning).flatMap { $0.values.map(\.description) }
            #expect(!logged.contains { $0.contains("wrong-password") }, "\(logged)")
        }

        @Test("unknown ACL user is authentication error")
        func unknownUser() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.username = "nosuchuser"
            configuration.password = "whatever"
            let client = RedisClient(configuration: configuration)
            let result = await capture { () async throws(RedisError) in try await client.ping() }
            guard case .failure(let error) = result else {
                Issue.record("unknown user accepted")
                return
            }
            #expect(error.code == .authenticationFailed, "\(error)")
            #expect(error.serverErrorPrefix == "WRONGPASS", "\(error)")
            await client.close()
        }

        @Test("subscriber wrong password is authentication error")
        func subscriberWrongPassword() async throws {
            // Set after start, because the launcher's readiness PING carries no password.
            let server = try startRedis()
            defer { server.stop() }
            _ = try redisCLI(server, ["CONFIG", "SET", "requirepass", "right-password"])
            var configuration = testConfiguration(server)
            configuration.password = "wrong-password"
            let subscriber = RedisSubscriber(configuration: configuration)
            for attempt in 0..<2 {
                let result = await capture { () async throws(RedisError) in
                    try await subscriber.subscribe(channels: [bytes("auth-test")])
                }
                guard case .failure(let error) = result else {
                    Issue.record("wrong password accepted")
                    break
                }
                #expect(error.code == .authenticationFailed, "attempt \(attempt): \(error)")
                #expect(error.serverErrorPrefix == "WRONGPASS", "attempt \(attempt): \(error)")
            }
            await subscriber.close()
        }
    }
}

/// Reconnect pacing after a rejected AUTH, against a fake server that rejects every AUTH.
@Suite("Redis authentication pacing")
struct RedisAuthenticationPacingTests {
    /// A server that replies to the first command of every connection with `reply`.
    private static func rejectingServer(_ reply: String) throws -> HostileRedisServer {
        try HostileRedisServer { _, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            HostileRedisServer.send(socket, reply)
            HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(3))
            socket.close()
        }
    }

    private static func configuration(port: Int) -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.password = "secret-password"
        configuration.connectTimeout = .seconds(1)
        configuration.reconnectBackoffInitial = .milliseconds(1)
        configuration.reconnectBackoffMaximum = .milliseconds(400)
        return configuration
    }

    @Test("client retries rejected AUTH slowly")
    func clientPacing() async throws {
        let server = try Self.rejectingServer("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        let result = await capture { () async throws(RedisError) in try await client.ping() }
        try await Task.sleep(for: .milliseconds(1_200))
        let connects = server.accepted
        await client.close()
        guard case .failure(let error) = result else {
            Issue.record("PING succeeded: \(result)")
            return
        }
        #expect(error.code == .authenticationFailed, "\(error)")
        // Attempts at about 0, 0.4, 0.8 and 1.2 s. Exponential backoff from 1 ms would make
        // about ten in that time.
        #expect(connects <= 5, "\(connects) connections in 1.2 s")
        #expect(connects >= 2, "\(connects) connections in 1.2 s")
    }

    @Test("subscriber retries rejected AUTH slowly")
    func subscriberPacing() async throws {
        let server = try Self.rejectingServer("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        defer { server.stop() }
        let subscriber = RedisSubscriber(configuration: Self.configuration(port: server.port))
        let result = await capture { () async throws(RedisError) in
            try await subscriber.subscribe(channels: [bytes("pacing")])
        }
        try await Task.sleep(for: .milliseconds(1_200))
        let connects = server.accepted
        await subscriber.close()
        guard case .failure(let error) = result else {
            Issue.record("subscribe succeeded")
            return
        }
        #expect(error.code == .authenticationFailed, "\(error)")
        #expect(connects <= 5, "\(connects) connections in 1.2 s")
    }

    @Test("pre-6.0 invalid password is authentication error")
    func legacyInvalidPassword() async throws {
        let server = try Self.rejectingServer("-ERR invalid password\r\n")
        defer { server.stop() }
        let client = RedisClient(configuration: Self.configuration(port: server.port))
        let result = await capture { () async throws(RedisError) in try await client.ping() }
        await client.close()
        guard case .failure(let error) = result else {
            Issue.record("PING succeeded: \(result)")
            return
        }
        #expect(error.code == .authenticationFailed, "\(error)")
        #expect(error.serverErrorPrefix == "ERR", "\(error)")
        #expect(error.message.contains("invalid password"), "\(error)")
        #expect(!error.message.contains("secret-password"), "\(error)")
    }
}

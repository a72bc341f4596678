import Foundation
import Redis
import SocketTransport
import TestSupport
import Testing

/// The first call on a new ``RedisClient``, ``RedisConnection`` or ``RedisSubscriber`` whose
/// server cannot serve it. Such a call is queued before the client learns that the server is
/// unreachable, and must still fail within ``RedisConfiguration/maxWaitWhileDisconnected`` (plus
/// scheduling slack) with an error that names the endpoint and the cause.
enum FirstCallCheck {
    enum API: String, CaseIterable {
        case client, connection, subscriber
    }

    /// Time allowed beyond maxWaitWhileDisconnected for connecting, one round trip and
    /// scheduling on a loaded two-core machine. It stays well below the command timeout, so
    /// a call that waits for that timeout fails the check.
    static let slack: Duration = .milliseconds(900)
    static let commandTimeout: Duration = .seconds(4)

    static func configuration(port: Int, maxWait: Duration) -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.commandTimeout = commandTimeout
        configuration.connectTimeout = .seconds(1)
        configuration.reconnectBackoffInitial = .milliseconds(5)
        configuration.reconnectBackoffMaximum = .milliseconds(100)
        configuration.maxWaitWhileDisconnected = maxWait
        return configuration
    }

    /// Makes the first call of `api` on a new object and returns how long it took and its error.
    static func firstCall(
        _ api: API, configuration: RedisConfiguration
    ) async -> (elapsed: Duration, error: RedisError?) {
        let start = ContinuousClock.now
        let result: Result<Void, RedisError>
        let elapsed: Duration
        switch api {
        case .client:
            let client = RedisClient(configuration: configuration)
            result = await capture { () async throws(RedisError) in _ = try await client.ping() }
            elapsed = .now - start
            await client.close()
        case .connection:
            let connection = RedisConnection(configuration: configuration)
            result = Result { () throws(RedisError) in _ = try connection.send("PING") }
            elapsed = .now - start
            connection.close()
        case .subscriber:
            let subscriber = RedisSubscriber(configuration: configuration)
            result = await capture { () async throws(RedisError) in
                _ = try await subscriber.subscribe(channels: [bytes("first-call")])
            }
            elapsed = .now - start
            await subscriber.close()
        }
        if case .failure(let error) = result {
            return (elapsed, error)
        }
        return (elapsed, nil)
    }

    /// Checks that the first call of every API failed within the bound, with one of
    /// `expectedCodes` and a message naming the endpoint and containing `cause`.
    static func check(
        port: Int, maxWaitMilliseconds: Int, expectedCodes: Set<RedisError.Code>, cause: String,
        password: String? = nil
    ) async {
        let maxWait = Duration.milliseconds(maxWaitMilliseconds)
        var configuration = configuration(port: port, maxWait: maxWait)
        configuration.password = password
        for api in API.allCases {
            let (elapsed, error) = await firstCall(api, configuration: configuration)
            let outcome = error.map(\.description) ?? "no error"
            let label = "\(api.rawValue), maxWait \(maxWait): \(elapsed), \(outcome)"
            guard let error else {
                Issue.record("the first call succeeded: \(label)")
                continue
            }
            #expect(elapsed <= maxWait + slack, "\(label)")
            #expect(expectedCodes.contains(error.code), "\(label)")
            #expect(error.message.contains("127.0.0.1:\(port)"), "\(label)")
            #expect(error.message.contains(cause), "\(label)")
        }
    }
}

extension RedisServerSuite {
    @Suite("Redis first call against a server rejecting AUTH")
    struct RedisFirstCallAuthenticationTests {
        @Test("first call with wrong password", arguments: [0, 200])
        func wrongPassword(maxWaitMilliseconds: Int) async throws {
            // Set after start, because the launcher's readiness PING carries no password.
            let server = try startRedis()
            defer { server.stop() }
            _ = try redisCLI(server, ["CONFIG", "SET", "requirepass", "right-password"])
            await FirstCallCheck.check(
                port: server.port, maxWaitMilliseconds: maxWaitMilliseconds,
                expectedCodes: [.authenticationFailed], cause: "check the username and password",
                password: "wrong-password")
        }
    }
}

@Suite("Redis first call while the server is unreachable")
struct RedisFirstCallUnreachableTests {
    @Test("first call to closed port", arguments: [0, 200])
    func refused(maxWaitMilliseconds: Int) async throws {
        // A port the kernel just handed out and nothing listens on, so connect gets ECONNREFUSED.
        let port = try FreePort.allocate()
        await FirstCallCheck.check(
            port: port, maxWaitMilliseconds: maxWaitMilliseconds, expectedCodes: [.notConnected],
            cause: "refused")
    }

    @Test("first call to server closing at once", arguments: [0, 200])
    func closesAtOnce(maxWaitMilliseconds: Int) async throws {
        let server = try HostileRedisServer.closingEveryConnection()
        defer { server.stop() }
        await FirstCallCheck.check(
            port: server.port, maxWaitMilliseconds: maxWaitMilliseconds,
            expectedCodes: [.connectionClosed, .notConnected], cause: "closed")
    }

    @Test("first call with AUTH to server closing at once", arguments: [0, 200])
    func closesAfterAuthentication(maxWaitMilliseconds: Int) async throws {
        let server = try HostileRedisServer.closingEveryConnection()
        defer { server.stop() }
        await FirstCallCheck.check(
            port: server.port, maxWaitMilliseconds: maxWaitMilliseconds,
            expectedCodes: [.connectionClosed, .notConnected], cause: "closed", password: "secret-password")
    }
}

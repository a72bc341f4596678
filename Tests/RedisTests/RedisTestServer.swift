import Redis
import SocketTransport
import TestSupport

/// Starts a redis-server on a free loopback port for one test.
func startRedis(_ arguments: [String] = []) throws -> RedisServerProcess {
    let server = RedisServerProcess()
    try server.start(arguments: arguments)
    return server
}

/// A configuration for `server` with short timeouts suited to tests.
func testConfiguration(_ server: RedisServerProcess) -> RedisConfiguration {
    var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port))
    configuration.commandTimeout = .seconds(3)
    configuration.connectTimeout = .seconds(1)
    configuration.reconnectBackoffInitial = .milliseconds(5)
    configuration.reconnectBackoffMaximum = .milliseconds(100)
    configuration.healthCheckInterval = .milliseconds(300)
    configuration.healthCheckTimeout = .milliseconds(500)
    return configuration
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Runs `redis-cli` against `server` and returns its output, for checks made outside our client.
func redisCLI(_ server: RedisServerProcess, _ arguments: [String]) throws -> String {
    let result = try ChildProcess.run(
        executable: "redis-cli", arguments: ["-h", "127.0.0.1", "-p", String(server.port)] + arguments,
        timeout: .seconds(10)
    )
    return result.output.trimmingSuffixWhitespace()
}

extension String {
    func trimmingSuffixWhitespace() -> String {
        var text = self
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}

/// Runs `body` and returns its value or error as a Result.
func capture<T>(_ body: () async throws(RedisError) -> T) async -> Result<T, RedisError> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

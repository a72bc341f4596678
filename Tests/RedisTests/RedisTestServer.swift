import Foundation
import Glibc
import Synchronization
import Testing
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

/// Creates the ACL user "app" with `password` and every permission on `server`, and returns a
/// test configuration that logs in as that user, names its connection `clientName` and selects
/// database 1.
func aclUserConfiguration(
    _ server: RedisServerProcess, password: String, clientName: String
) throws -> RedisConfiguration {
    _ = try redisCLI(server, ["ACL", "SETUSER", "app", "on", ">\(password)", "+@all", "~*", "&*"])
    var configuration = testConfiguration(server)
    configuration.username = "app"
    configuration.password = password
    configuration.clientName = clientName
    configuration.database = 1
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

/// Every test that starts a redis-server runs in this suite, one at a time, so servers, timing
/// and resident memory measurements do not interfere.
@Suite("Against redis-server", .serialized)
struct RedisServerSuite {}

/// Consumes a subscription on a background task and records its events.
final class EventCollector: Sendable {
    private final class Storage: Sendable {
        let events = Mutex<[RedisSubscriptionEvent]>([])
    }

    private let storage = Storage()
    private let task: Task<Void, Never>

    init(_ subscription: RedisSubscription) {
        let storage = self.storage
        task = Task {
            for await event in subscription {
                storage.events.withLock { $0.append(event) }
            }
        }
    }

    var snapshot: [RedisSubscriptionEvent] { storage.events.withLock { $0 } }

    var messages: [RedisPubSubMessage] {
        snapshot.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    var resubscribedCount: Int {
        snapshot.filter { if case .resubscribed = $0 { true } else { false } }.count
    }

    var disconnectErrors: [RedisError] {
        snapshot.compactMap { if case .disconnected(let error) = $0 { error } else { nil } }
    }

    /// Polls until `condition` holds for the events, up to `timeout`.
    func wait(
        timeout: Duration = .seconds(10), until condition: ([RedisSubscriptionEvent]) -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(snapshot) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(snapshot)
    }

    func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { events in
            events.filter { if case .message = $0 { true } else { false } }.count >= count
        }
    }

    func waitForResubscribed(_ count: Int = 1, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { events in
            events.filter { if case .resubscribed = $0 { true } else { false } }.count >= count
        }
    }

    func stop() {
        task.cancel()
    }
}

/// Resident set size of this process from /proc/self/statm (its second field, in pages).
func residentMemoryBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Pub/Sub counters from the server: PUBSUB NUMSUB for one channel.
func subscriberCount(_ client: RedisClient, channel: [UInt8], shard: Bool = false) async throws -> Int64 {
    let command = shard ? bytes("SHARDNUMSUB") : bytes("NUMSUB")
    let reply = try await client.send([bytes("PUBSUB"), command, channel])
    guard case .array(let items) = reply, items.count == 2, case .integer(let count) = items[1] else {
        return -1
    }
    return count
}

@testable import Redis
import Foundation
import Testing

/// The bound on subscribe commands waiting for a connection, and the unsubscribes kept for one.
@Suite("Redis subscriber queue")
struct RedisSubscriberQueueTests {
    @Test("subscribe beyond queue limit rejected")
    func queueLimit() async throws {
        // Accepts and never replies to AUTH, so every subscribe waits in the queue.
        let server = try HostileRedisServer { _, socket in
            HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(5))
            socket.close()
        }
        defer { server.stop() }
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port))
        configuration.password = "secret-password"
        configuration.maxPendingCommands = 3
        configuration.maxWaitWhileDisconnected = .seconds(5)
        let subscriber = RedisSubscriber(configuration: configuration)
        let waiting = (0..<3).map { index in
            Task { () -> RedisError.Code? in
                let result = await capture { () async throws(RedisError) in
                    try await subscriber.subscribe(channels: [bytes("queued-\(index)")])
                }
                guard case .failure(let error) = result else { return nil }
                return error.code
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        let result = await capture { () async throws(RedisError) in
            try await subscriber.subscribe(channels: [bytes("one-too-many")])
        }
        #expect(ContinuousClock.now - started < .seconds(1))
        guard case .failure(let error) = result else {
            Issue.record("a fourth subscribe was queued beyond maxPendingCommands = 3")
            await subscriber.close()
            return
        }
        #expect(error.code == .queueFull, "\(error)")
        #expect(error.message.contains("maxPendingCommands = 3"), "\(error)")
        await subscriber.close()
        for task in waiting {
            #expect(await task.value == RedisError.Code.clientClosed)
        }
    }

    private func command(_ kind: SubscriptionKind, subscribe: Bool, _ names: [String]) -> PubSubCommand {
        PubSubCommand(
            id: 1, kind: kind, isSubscribe: subscribe, names: names.map(bytes), completion: nil,
            deadline: .now)
    }

    @Test("unsubscribes pruned without connection")
    func pruneUnsubscribes() {
        var shared = RedisSubscriberShared()
        shared.queued = [
            command(.channel, subscribe: false, ["gone"]),
            command(.channel, subscribe: true, ["a", "b"]),
            command(.pattern, subscribe: false, ["a"]),
            command(.channel, subscribe: false, ["a", "gone", "b"]),
        ]
        shared.pruneQueuedUnsubscribes()
        #expect(shared.queued.count == 2)
        #expect(shared.queued.first?.isSubscribe == true)
        #expect(shared.queued.last?.isSubscribe == false)
        #expect(shared.queued.last?.names == [bytes("a"), bytes("b")])
    }
}

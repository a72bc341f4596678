import Foundation
import Glibc
import Redis
import SocketTransport
import TestSupport
import Testing

extension RedisServerSuite {
    /// A listener that never reads fills its buffer and pauses reading for the whole subscriber.
    @Suite("Redis subscriber with a full buffer")
    struct RedisSubscriberStallTests {
        /// Publishes `count` messages to `channel` and checks that each reached one subscriber.
        private func fill(_ client: RedisClient, channel: String, count: Int) async throws {
            for index in 0..<count {
                let receivers = try await client.publish(channel: bytes(channel), message: bytes("m\(index)"))
                #expect(receivers == 1, "message \(index)")
            }
        }

        /// Creates a client, and a subscriber whose subscriptions buffer two events each, listening
        /// to "slow" and "fast" in two subscriptions.
        private static func stallSetup(
            _ server: RedisServerProcess, stallTimeout: Duration
        ) async throws -> (RedisClient, RedisSubscriber, slow: RedisSubscription, fast: RedisSubscription) {
            var configuration = testConfiguration(server)
            configuration.subscriptionBufferCapacity = 2
            configuration.subscriptionStallTimeout = stallTimeout
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let slow = try await subscriber.subscribe(channels: [bytes("slow")])
            let fast = try await subscriber.subscribe(channels: [bytes("fast")])
            return (client, subscriber, slow, fast)
        }

        @Test("close noticed while buffer full")
        func closeNoticedWhileStalled() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let (client, subscriber, slow, fast) = try await Self.stallSetup(
                server, stallTimeout: .seconds(60))
            let fastEvents = EventCollector(fast)

            // Two messages fill the slow buffer and the third pauses reading.
            try await fill(client, channel: "slow", count: 4)
            try await Task.sleep(for: .milliseconds(200))
            #expect(slow.bufferedEventCount == 2)
            #expect(try await client.send("CLIENT", "KILL", "TYPE", "pubsub") == .integer(1))

            // The fast listener learns of the close and of the resubscribe while slow reads nothing.
            let noticed = await fastEvents.waitForResubscribed(timeout: .seconds(3))
            #expect(noticed, "\(fastEvents.snapshot)")
            let errors = fastEvents.disconnectErrors
            #expect(errors.count == 1, "\(errors)")
            #expect(errors.first?.code == .connectionClosed, "\(errors)")
            #expect(errors.first?.message.contains("paused reading") == true, "\(errors)")
            #expect(try await subscriberCount(client, channel: bytes("fast")) == 1)

            // The slow listener keeps what it had, then hears of the disconnect and the resubscribe.
            let slowEvents = EventCollector(slow)
            #expect(await slowEvents.waitForResubscribed(timeout: .seconds(3)), "\(slowEvents.snapshot)")
            #expect(slowEvents.messages.map(\.payload) == [bytes("m0"), bytes("m1"), bytes("m2")])
            #expect(slowEvents.disconnectErrors.count == 1)
            slowEvents.stop()
            fastEvents.stop()
            await subscriber.close()
            await client.close()
        }

        @Test("never-reading listener ended after stall timeout")
        func neverReadingListenerEnded() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let (client, subscriber, slow, fast) = try await Self.stallSetup(
                server, stallTimeout: .milliseconds(500))
            let fastEvents = EventCollector(fast)

            try await fill(client, channel: "slow", count: 4)
            #expect(try await client.publish(channel: bytes("fast"), message: bytes("behind")) == 1)
            let started = ContinuousClock.now
            let delivered = await fastEvents.waitForMessages(1, timeout: .seconds(5))
            let waited = ContinuousClock.now - started
            #expect(delivered, "\(fastEvents.snapshot)")
            #expect(waited >= .milliseconds(300), "delivered after \(waited), before the stall timeout")
            #expect(fastEvents.disconnectErrors.isEmpty, "\(fastEvents.snapshot)")

            // The slow subscription ends: its two buffered messages, the reason, then the end.
            let slowCollector = EventCollector(slow)
            #expect(await slowCollector.wait(timeout: .seconds(3)) { $0.count >= 3 })
            let slowEvents = slowCollector.snapshot
            slowCollector.stop()
            #expect(slowEvents.count == 3, "\(slowEvents)")
            guard slowEvents.count == 3, case .disconnected(let error) = slowEvents[2] else {
                Issue.record("expected two messages and a disconnect: \(slowEvents)")
                await subscriber.close()
                await client.close()
                return
            }
            #expect(error.code == .queueFull, "\(error)")
            #expect(error.message.contains("subscriptionStallTimeout"), "\(error)")
            // No subscription listens to "slow" any more, so it is unsubscribed on the server.
            let unsubscribed = try await waitAsync {
                try await subscriberCount(client, channel: bytes("slow")) == 0
            }
            #expect(unsubscribed)
            #expect(try await client.publish(channel: bytes("fast"), message: bytes("after")) == 1)
            #expect(await fastEvents.waitForMessages(2))
            fastEvents.stop()
            await subscriber.close()
            await client.close()
        }
    }
}

/// A connection reset while a full buffer pauses reading, from a fake server.
@Suite("Redis subscriber reset while stalled")
struct RedisSubscriberStallResetTests {
    private static func push(_ words: String...) -> String {
        "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }

    @Test("reset noticed while buffer full")
    func resetNoticedWhileStalled() async throws {
        let server = try HostileRedisServer { index, socket in
            _ = HostileRedisServer.readCommands(socket, count: 1)
            var replies = "*3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:1\r\n"
            if index == 0 {
                for number in 0..<5 {
                    replies += Self.push("message", "chan", "m\(number)")
                }
            }
            HostileRedisServer.send(socket, replies)
            guard index == 0 else {
                HostileRedisServer.drainUntilClosed(socket, timeout: .seconds(5))
                socket.close()
                return
            }
            usleep(300_000)
            // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            var option = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(
                socket.fileDescriptor, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
            socket.close()
        }
        defer { server.stop() }
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port))
        configuration.subscriptionBufferCapacity = 2
        configuration.subscriptionStallTimeout = .seconds(60)
        configuration.reconnectBackoffInitial = .milliseconds(5)
        configuration.reconnectBackoffMaximum = .milliseconds(100)
        // The fake server never replies to PING.
        configuration.healthCheckInterval = .seconds(60)
        let subscriber = RedisSubscriber(configuration: configuration)
        let subscription = try await subscriber.subscribe(channels: [bytes("chan")])

        // Nothing reads the subscription, yet the subscriber notices the reset and reconnects.
        try await server.waitUntilAccepted(2, timeout: .seconds(3))
        #expect(server.accepted >= 2, "\(server.accepted) connections")

        let events = EventCollector(subscription)
        #expect(await events.waitForResubscribed(timeout: .seconds(3)), "\(events.snapshot)")
        #expect(events.messages.map(\.payload) == [bytes("m0"), bytes("m1"), bytes("m2")])
        #expect(events.disconnectErrors.count == 1, "\(events.snapshot)")
        #expect(events.disconnectErrors.first?.code == .connectionClosed, "\(events.snapshot)")
        events.stop()
        await subscriber.close()
    }
}

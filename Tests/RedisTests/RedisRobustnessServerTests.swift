import Foundation
import Redis
import RedisWire
import TestSupport
import Testing

extension RedisServerSuite {
    @Suite("Redis robustness against redis-server")
    struct RedisRobustnessServerTests {
        @Test("idle listener gets bounded reconnect events")
        func reconnectEventsBounded() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let subscription = try await subscriber.subscribe(channels: [bytes("flapping")])
            // Nobody reads the subscription while the server drops the connection 30 times.
            for round in 0..<30 {
                let killed = try await client.send("CLIENT", "KILL", "TYPE", "pubsub")
                #expect(killed == .integer(1), "round \(round)")
                let deadline = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < deadline,
                    try await subscriberCount(client, channel: bytes("flapping")) != 1
                {
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            let events = EventCollector(subscription)
            try await Task.sleep(for: .milliseconds(300))
            let snapshot = events.snapshot
            // One disconnect and one resubscribe describe the state. Sixty queued events would
            // mean that the queue grows with every reconnect while the listener is away.
            #expect(snapshot.count <= 4, "\(snapshot.count) events queued")
            #expect(events.resubscribedCount >= 1)
            events.stop()
            await subscriber.close()
            await client.close()
        }

        @Test("descriptors and threads return after 200 clients")
        func noLeaks() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            // Warm up lazily created process-wide resources before counting.
            let warm = RedisClient(configuration: configuration)
            _ = try await warm.ping()
            await warm.close()
            let baseline = ResourceBaseline()
            for round in 0..<200 {
                let client = RedisClient(configuration: configuration)
                let subscriber = RedisSubscriber(configuration: configuration)
                _ = try await client.ping()
                let subscription = try await subscriber.subscribe(channels: [bytes("leak-\(round)")])
                _ = subscription
                await subscriber.close()
                await client.close()
            }
            try baseline.expectReleased()
        }

        @Test("dropped clients release threads and sockets")
        func droppedWithoutClose() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let baseline = ResourceBaseline()
            for round in 0..<50 {
                // Neither is closed: deinit must end the I/O thread and close the socket.
                let client = RedisClient(configuration: configuration)
                let subscriber = RedisSubscriber(configuration: configuration)
                _ = try await client.ping()
                let subscription = try await subscriber.subscribe(channels: [bytes("dropped-\(round)")])
                _ = subscription
            }
            try baseline.expectReleased()
        }

        @Test("concurrent subscribe and cancel ends at zero")
        func concurrentSameChannel() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let channel = bytes("shared-channel")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        let subscription = try await subscriber.subscribe(channels: [channel])
                        let listener = Task {
                            for await _ in subscription {}
                        }
                        try await Task.sleep(for: .milliseconds(Int.random(in: 0...20)))
                        listener.cancel()
                        _ = await listener.value
                    }
                }
                try await group.waitForAll()
            }
            let settled = try await waitUntilAsync(timeout: .seconds(5)) {
                try await subscriberCount(client, channel: channel) == 0
            }
            let remaining = try await subscriberCount(client, channel: channel)
            #expect(settled, "NUMSUB \(remaining)")
            await subscriber.close()
            await client.close()
        }

        @Test("cancel mid-stream unsubscribes")
        func cancelMidStream() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let channel = bytes("midstream")
            let subscription = try await subscriber.subscribe(channels: [channel])
            let publisher = Task {
                for index in 0..<2_000 {
                    _ = try? await client.publish(channel: channel, message: bytes("\(index)"))
                }
            }
            let listener = Task {
                var received = 0
                for await event in subscription {
                    if case .message = event { received += 1 }
                    if received == 100 { break }
                }
                return received
            }
            #expect(await listener.value == 100)
            subscription.cancel()
            await publisher.value
            let drained = try await waitUntilAsync(timeout: .seconds(5)) {
                try await subscriberCount(client, channel: channel) == 0
            }
            #expect(drained)
            // The subscriber still works after the cancelled subscription.
            let again = try await subscriber.subscribe(channels: [channel])
            let events = EventCollector(again)
            #expect(try await client.publish(channel: channel, message: bytes("again")) == 1)
            #expect(await events.waitForMessages(1, timeout: .seconds(3)))
            events.stop()
            await subscriber.close()
            await client.close()
        }

        @Test("churn keeps the remaining listener subscribed")
        func churnKeepsListener() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let channel = bytes("churn-channel")
            let kept = try await subscriber.subscribe(channels: [channel])
            let keptEvents = EventCollector(kept)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<200 {
                    group.addTask {
                        let subscription = try await subscriber.subscribe(channels: [channel])
                        if round % 2 == 0 {
                            subscription.cancel()
                        } else {
                            let listener = Task { for await _ in subscription {} }
                            await Task.yield()
                            listener.cancel()
                            _ = await listener.value
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Every churned subscription is gone; the first one still receives.
            let receivers = try await client.publish(channel: channel, message: bytes("still-here"))
            #expect(receivers == 1)
            #expect(await keptEvents.waitForMessages(1, timeout: .seconds(3)))
            #expect(try await subscriberCount(client, channel: channel) == 1)
            keptEvents.stop()
            let drained = try await waitUntilAsync(timeout: .seconds(5)) {
                try await subscriberCount(client, channel: channel) == 0
            }
            #expect(drained)
            await subscriber.close()
            await client.close()
        }

        @Test("publishers complete while server restarts")
        func publishersDuringRestart() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.commandTimeout = .seconds(1)
            configuration.maxWaitWhileDisconnected = .milliseconds(500)
            let client = RedisClient(configuration: configuration)
            _ = try await client.ping()
            let started = ContinuousClock.now
            let outcomes = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
                for index in 0..<1_000 {
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(index % 50))
                        let result = await capture { () async throws(RedisError) in
                            try await client.publish(channel: bytes("restart"), message: bytes("\(index)"))
                        }
                        return (try? result.get()) != nil
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(10))
                    server.kill()
                    try? server.restart()
                    return true
                }
                var outcomes: [Bool] = []
                // Every call returns, with a reply or an error; none may hang.
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let elapsed = ContinuousClock.now - started
            #expect(outcomes.count == 1_001)
            #expect(elapsed < .seconds(15), "calls took \(elapsed)")
            #expect(try await client.ping() == bytes("PONG"))
            await client.close()
        }
    }
}

/// Threads of this process, from /proc/self/task.
func threadCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
}

/// Open descriptors and threads of this process when it was made, to check that the work done
/// since then released what it took.
struct ResourceBaseline {
    let descriptors = openDescriptorCount()
    let threads = threadCount()

    /// Expects the descriptor count, then the thread count, to fall back to at most the baseline
    /// within 5 seconds each.
    func expectReleased(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let descriptorsSettled = try waitUntil(timeout: .seconds(5)) { openDescriptorCount() <= descriptors }
        #expect(
            descriptorsSettled, "descriptors \(descriptors) -> \(openDescriptorCount())",
            sourceLocation: sourceLocation)
        let threadsSettled = try waitUntil(timeout: .seconds(5)) { threadCount() <= threads }
        #expect(threadsSettled, "threads \(threads) -> \(threadCount())", sourceLocation: sourceLocation)
    }
}

/// Polls an async condition until it is true or `timeout` passes.
func waitUntilAsync(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

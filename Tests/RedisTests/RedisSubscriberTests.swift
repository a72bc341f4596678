import Redis
import RedisWire
import SocketTransport
import TestSupport
import Testing

extension RedisServerSuite {
    @Suite("Redis subscriber")
    struct RedisSubscriberTests {
        @Test("resubscribes after CLIENT KILL TYPE pubsub")
        func resubscribeAfterKill() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let channels = try await subscriber.subscribe(channels: [bytes("chan-a"), bytes("chan-b")])
            let patterns = try await subscriber.psubscribe(patterns: [bytes("pat-*")])
            let shards = try await subscriber.ssubscribe(shardChannels: [bytes("shard-1")])
            let channelEvents = EventCollector(channels)
            let patternEvents = EventCollector(patterns)
            let shardEvents = EventCollector(shards)

            let killed = try await client.send("CLIENT", "KILL", "TYPE", "pubsub")
            #expect(killed == .integer(1))
            #expect(await channelEvents.waitForResubscribed())
            #expect(await patternEvents.waitForResubscribed())
            #expect(await shardEvents.waitForResubscribed())
            #expect(channelEvents.disconnectErrors.first?.code == .connectionClosed)

            #expect(try await subscriberCount(client, channel: bytes("chan-a")) == 1)
            #expect(try await subscriberCount(client, channel: bytes("chan-b")) == 1)
            #expect(try await client.send("PUBSUB", "NUMPAT") == .integer(1))
            #expect(try await subscriberCount(client, channel: bytes("shard-1"), shard: true) == 1)

            #expect(try await client.publish(channel: bytes("chan-b"), message: bytes("after")) == 1)
            #expect(try await client.publish(channel: bytes("pat-7"), message: bytes("pattern")) == 1)
            #expect(try await client.send("SPUBLISH", "shard-1", "sharded") == .integer(1))
            #expect(await channelEvents.waitForMessages(1))
            #expect(await patternEvents.waitForMessages(1))
            #expect(await shardEvents.waitForMessages(1))
            #expect(
                channelEvents.messages.first
                    == RedisPubSubMessage(
                        kind: .message, channel: bytes("chan-b"), payload: bytes("after")))
            #expect(
                patternEvents.messages.first
                    == RedisPubSubMessage(
                        kind: .pmessage, channel: bytes("pat-7"), pattern: bytes("pat-*"),
                        payload: bytes("pattern")))
            #expect(
                shardEvents.messages.first
                    == RedisPubSubMessage(
                        kind: .smessage, channel: bytes("shard-1"), payload: bytes("sharded")))
            await subscriber.close()
            await client.close()
        }

        @Test("one publish reaches channel and two patterns")
        func channelAndPatterns() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let exact = EventCollector(try await subscriber.subscribe(channels: [bytes("foo")]))
            let wide = EventCollector(try await subscriber.psubscribe(patterns: [bytes("f*")]))
            let narrow = EventCollector(try await subscriber.psubscribe(patterns: [bytes("fo?")]))

            #expect(try await client.publish(channel: bytes("foo"), message: bytes("x")) == 3)
            #expect(await exact.waitForMessages(1))
            #expect(await wide.waitForMessages(1))
            #expect(await narrow.waitForMessages(1))
            // Give any misrouted copy time to arrive before counting.
            try await Task.sleep(for: .milliseconds(100))
            #expect(
                exact.messages == [
                    RedisPubSubMessage(kind: .message, channel: bytes("foo"), payload: bytes("x"))
                ])
            #expect(
                wide.messages == [
                    RedisPubSubMessage(
                        kind: .pmessage, channel: bytes("foo"), pattern: bytes("f*"), payload: bytes("x"))
                ])
            #expect(
                narrow.messages == [
                    RedisPubSubMessage(
                        kind: .pmessage, channel: bytes("foo"), pattern: bytes("fo?"), payload: bytes("x"))
                ])
            await subscriber.close()
            await client.close()
        }

        @Test("listeners share one server subscription")
        func sharedSubscription() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let first = try await subscriber.subscribe(channels: [bytes("shared")])
            let second = try await subscriber.subscribe(channels: [bytes("shared")])
            let firstEvents = EventCollector(first)
            let secondEvents = EventCollector(second)
            #expect(try await subscriberCount(client, channel: bytes("shared")) == 1)
            #expect(try await client.publish(channel: bytes("shared"), message: bytes("both")) == 1)
            #expect(await firstEvents.waitForMessages(1))
            #expect(await secondEvents.waitForMessages(1))

            first.cancel()
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await subscriberCount(client, channel: bytes("shared")) == 1)
            second.cancel()
            let unsubscribed = try await waitAsync {
                try await subscriberCount(client, channel: bytes("shared")) == 0
            }
            #expect(unsubscribed)
            await subscriber.close()
            await client.close()
        }

        @Test("cancelled iterating task unsubscribes")
        func cancelledTaskUnsubscribes() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let collector = EventCollector(try await subscriber.subscribe(channels: [bytes("cancel-me")]))
            #expect(try await subscriberCount(client, channel: bytes("cancel-me")) == 1)
            collector.stop()
            let unsubscribed = try await waitAsync {
                try await subscriberCount(client, channel: bytes("cancel-me")) == 0
            }
            #expect(unsubscribed)
            await subscriber.close()
            await client.close()
        }

        @Test("health check detects a stopped server")
        func healthCheck() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let subscriber = RedisSubscriber(configuration: configuration)
            let events = EventCollector(try await subscriber.subscribe(channels: [bytes("quiet")]))
            server.pause()
            // Interval 300 ms plus timeout 500 ms: the PING goes unanswered without any traffic.
            let noticed = await events.wait(timeout: .seconds(5)) { !$0.isEmpty }
            server.resume()
            #expect(noticed)
            #expect(events.disconnectErrors.first?.code == .timedOut)
            #expect(events.disconnectErrors.first?.description.contains("health check") == true)
            #expect(await events.waitForResubscribed())
            await subscriber.close()
        }

        @Test("binary channel and payload survive reconnect")
        func binaryNamesSurviveReconnect() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let channel: [UInt8] = [0xC3, 0x28, 0x00, 0xFF]
            let payload: [UInt8] = [0x61, 0x0D, 0x0A, 0x00, 0x62, 0x0D, 0x00, 0x0A, 0xFF]
            let events = EventCollector(try await subscriber.subscribe(channels: [channel]))
            _ = try await client.send("CLIENT", "KILL", "TYPE", "pubsub")
            #expect(await events.waitForResubscribed())
            #expect(try await subscriberCount(client, channel: channel) == 1)
            #expect(try await client.publish(channel: channel, message: payload) == 1)
            #expect(await events.waitForMessages(1))
            #expect(events.messages.first?.channel == channel)
            #expect(events.messages.first?.payload == payload)
            await subscriber.close()
            await client.close()
        }

        @Test("ACL user authenticates before every resubscribe")
        func aclResubscribe() async throws {
            let server = try startRedis()
            defer { server.stop() }
            _ = try redisCLI(server, ["ACL", "SETUSER", "admin", "on", ">adminpw", "~*", "&*", "+@all"])
            _ = try redisCLI(
                server,
                [
                    "ACL", "SETUSER", "listener", "on", ">listenpw", "resetchannels", "&allowed:*",
                    "+@all", "~*",
                ])
            _ = try redisCLI(
                server, ["ACL", "SETUSER", "nochannels", "on", ">nopw", "resetchannels", "+@all", "~*"])
            // Without AUTH, SUBSCRIBE would now fail with NOAUTH, so a resubscribe proves AUTH came first.
            _ = try redisCLI(server, ["ACL", "SETUSER", "default", "off"])
            var adminConfiguration = testConfiguration(server)
            adminConfiguration.username = "admin"
            adminConfiguration.password = "adminpw"
            let admin = RedisClient(configuration: adminConfiguration)
            var listenerConfiguration = testConfiguration(server)
            listenerConfiguration.username = "listener"
            listenerConfiguration.password = "listenpw"
            let subscriber = RedisSubscriber(configuration: listenerConfiguration)
            let events = EventCollector(try await subscriber.subscribe(channels: [bytes("allowed:1")]))

            for round in 1...3 {
                _ = try await admin.send("CLIENT", "KILL", "TYPE", "pubsub")
                #expect(await events.waitForResubscribed(round), "round \(round)")
                #expect(
                    try await admin.publish(channel: bytes("allowed:1"), message: bytes("r\(round)")) == 1)
                #expect(await events.waitForMessages(round), "round \(round)")
            }
            let clients = try await admin.send("CLIENT", "LIST", "TYPE", "pubsub")
            #expect(
                clients.bytes.map { String(decoding: $0, as: UTF8.self).contains("user=listener") } == true)
            await subscriber.close()

            var deniedConfiguration = testConfiguration(server)
            deniedConfiguration.username = "nochannels"
            deniedConfiguration.password = "nopw"
            let denied = RedisSubscriber(configuration: deniedConfiguration)
            let connectionsBefore = try await connectionsReceived(admin)
            do {
                _ = try await denied.subscribe(channels: [bytes("allowed:1")])
                Issue.record("subscribe without channel permission succeeded")
            } catch {
                #expect(error.code == .serverError)
                #expect(error.serverErrorPrefix == "NOPERM")
            }
            try await Task.sleep(for: .milliseconds(500))
            // One connection for the denied subscriber, none after: no reconnect loop.
            #expect(try await connectionsReceived(admin) - connectionsBefore <= 1)
            await denied.close()
            await admin.close()
        }

        @Test("slow listener: server disconnects, memory bounded")
        func slowListener() async throws {
            let server = try startRedis(["--client-output-buffer-limit", "pubsub 1mb 256kb 5"])
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.subscriptionBufferCapacity = 8
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let subscription = try await subscriber.subscribe(channels: [bytes("big")])
            let payload = [UInt8](repeating: 0x5A, count: 64 * 1024)
            #expect(try await client.publish(channel: bytes("warm-up"), message: payload) == 0)
            let residentBefore = residentMemoryBytes()

            // The subscription is not read while 200 messages of 64 KiB are published.
            var delivered = 0
            for _ in 0..<200 {
                delivered += try await client.publish(channel: bytes("big"), message: payload)
            }
            #expect(delivered < 200, "the server never dropped the slow subscriber")
            let dropped = try await waitAsync {
                try await subscriberCount(client, channel: bytes("big")) == 0
            }
            #expect(dropped)
            #expect(subscription.bufferedEventCount <= subscription.capacity)
            let growth = residentMemoryBytes() - residentBefore
            #expect(growth < 8 * 1024 * 1024, "resident memory grew by \(growth) bytes")

            let events = EventCollector(subscription)
            #expect(await events.waitForResubscribed())
            let errors = events.disconnectErrors
            #expect(errors.count == 1)
            #expect(errors.first?.code == .connectionClosed)
            #expect(errors.first?.description.contains("server closed the connection") == true)
            #expect(events.messages.count < 200)
            #expect(events.messages.allSatisfy { $0.payload == payload })
            #expect(try await client.publish(channel: bytes("big"), message: bytes("after")) == 1)
            #expect(
                await events.wait { events in
                    events.contains {
                        if case .message(let message) = $0 {
                            message.payload == bytes("after")
                        } else {
                            false
                        }
                    }
                })
            await subscriber.close()
            await client.close()
        }

        @Test("subscribe while server down fails fast")
        func subscribeWhileDown() async throws {
            let server = try startRedis()
            let configuration = testConfiguration(server)
            server.stop()
            let subscriber = RedisSubscriber(configuration: configuration)
            try await Task.sleep(for: .milliseconds(50))
            let started = ContinuousClock.now
            do {
                _ = try await subscriber.subscribe(channels: [bytes("x")])
                Issue.record("subscribe succeeded with the server stopped")
            } catch {
                #expect(error.code == .notConnected)
            }
            #expect(ContinuousClock.now - started < .milliseconds(500))
            await subscriber.close()
        }
    }
}

/// Polls an async condition every 20 ms for up to 5 seconds.
func waitAsync(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<250 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// `total_connections_received` from INFO stats.
func connectionsReceived(_ client: RedisClient) async throws -> Int {
    let info = try await client.send("INFO", "stats")
    let text = String(decoding: info.bytes ?? [], as: UTF8.self)
    for line in text.split(whereSeparator: { $0 == "\r" || $0 == "\n" })
    where line.hasPrefix("total_connections_received:") {
        return Int(line.dropFirst("total_connections_received:".count)) ?? -1
    }
    return -1
}

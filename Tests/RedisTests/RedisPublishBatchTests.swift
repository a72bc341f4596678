import Glibc
import Redis
import SocketTransport
import TestSupport
import Testing

extension RedisServerSuite {
    @Suite("Redis publish batch")
    struct RedisPublishBatchTests {
        /// Returns the subscriber count of `result`, or records the error and returns -1.
        static func count(_ result: Result<Int, RedisError>, _ label: String) -> Int {
            switch result {
            case .success(let receivers): return receivers
            case .failure(let error):
                Issue.record("\(label) failed: \(error)")
                return -1
            }
        }

        @Test("replies in order with subscriber counts")
        func repliesInOrder() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let first = RedisSubscriber(configuration: configuration)
            let second = RedisSubscriber(configuration: configuration)
            let both = EventCollector(
                try await first.subscribe(channels: [bytes("batch:a"), bytes("batch:b")]))
            let onlyA = EventCollector(try await second.subscribe(channels: [bytes("batch:a")]))
            let client = RedisClient(configuration: configuration)

            let channels = ["batch:a", "batch:b", "batch:none", "batch:a", "batch:b", "batch:a"]
            let publications = channels.enumerated().map { index, channel in
                (channel: bytes(channel), message: bytes("message \(index)"))
            }
            let results = await client.publish(publications)
            #expect(results.count == channels.count)
            let counts = results.enumerated().map { Self.count($1, "PUBLISH \($0)") }
            #expect(counts == [2, 1, 0, 2, 1, 2])

            // Each subscriber receives its channels' messages in batch order.
            #expect(await both.waitForMessages(5))
            #expect(await onlyA.waitForMessages(3))
            #expect(both.messages.map(\.payload) == [0, 1, 3, 4, 5].map { bytes("message \($0)") })
            #expect(onlyA.messages.map(\.payload) == [0, 3, 5].map { bytes("message \($0)") })
            #expect(client.pendingCommandCount == 0)
            both.stop()
            onlyA.stop()
            await first.close()
            await second.close()
            await client.close()
        }

        @Test("binary channel and payload survive")
        func binaryBytes() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let configuration = testConfiguration(server)
            let channel: [UInt8] = bytes("bin:") + [0x00, 0x0D, 0x0A, 0xFF, 0x2A, 0x24]
            let payloads: [[UInt8]] = [
                Array(0...255),
                [],
                bytes("\r\n*3\r\n$7\r\nPUBLISH\r\n"),
                [UInt8](repeating: 0xFF, count: 70_000),
            ]
            let subscriber = RedisSubscriber(configuration: configuration)
            let events = EventCollector(try await subscriber.subscribe(channels: [channel]))
            let client = RedisClient(configuration: configuration)

            let results = await client.publish(payloads.map { (channel: channel, message: $0) })
            #expect(results.count == payloads.count)
            for (index, result) in results.enumerated() {
                #expect(Self.count(result, "PUBLISH \(index)") == 1, "PUBLISH \(index)")
            }
            #expect(await events.waitForMessages(payloads.count))
            let messages = events.messages
            #expect(messages.map(\.channel) == Array(repeating: channel, count: payloads.count))
            #expect(messages.map(\.payload) == payloads)
            events.stop()
            await subscriber.close()
            await client.close()
        }

        @Test("empty batch returns no results")
        func emptyBatch() async throws {
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            let results = await client.publish([])
            #expect(results.isEmpty)
            #expect(client.pendingCommandCount == 0)
            #expect(try await client.publish(channel: bytes("after-empty"), message: bytes("x")) == 0)
            await client.close()
        }

        @Test("batch over maxPendingCommands rejected whole")
        func batchOverLimit() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.maxPendingCommands = 4
            let client = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration)
            let events = EventCollector(try await subscriber.subscribe(channels: [bytes("limited")]))
            let publication = (channel: bytes("limited"), message: bytes("x"))

            let rejected = await client.publish(Array(repeating: publication, count: 5))
            #expect(rejected.count == 5)
            for (index, result) in rejected.enumerated() {
                guard case .failure(let error) = result else {
                    Issue.record("PUBLISH \(index) of a batch over the limit succeeded")
                    continue
                }
                #expect(error.code == .queueFull, "PUBLISH \(index): \(error)")
                #expect(error.message.contains("maxPendingCommands = 4"), "\(error)")
                #expect(error.message.contains("batch of 5"), "\(error)")
            }
            #expect(client.pendingCommandCount == 0)

            // A batch of exactly the limit fits, and none of the rejected batch was sent.
            let accepted = await client.publish(Array(repeating: publication, count: 4))
            #expect(accepted.map { Self.count($0, "PUBLISH") } == [1, 1, 1, 1])
            #expect(await events.waitForMessages(4))
            try await Task.sleep(for: .milliseconds(100))
            #expect(events.messages.count == 4)
            events.stop()
            await subscriber.close()
            await client.close()
        }

        @Test("server error reported per notification")
        func serverErrorPerNotification() async throws {
            let server = try startRedis()
            defer { server.stop() }
            _ = try redisCLI(
                server,
                [
                    "ACL", "SETUSER", "publisher", "on", ">publishpw", "resetchannels", "&allowed:*",
                    "+@all", "~*",
                ])
            var configuration = testConfiguration(server)
            configuration.username = "publisher"
            configuration.password = "publishpw"
            let client = RedisClient(configuration: configuration)

            let results = await client.publish([
                (channel: bytes("allowed:1"), message: bytes("a")),
                (channel: bytes("denied:1"), message: bytes("b")),
                (channel: bytes("allowed:2"), message: bytes("c")),
                (channel: bytes("denied:2"), message: bytes("d")),
            ])
            #expect(results.count == 4)
            #expect(Self.count(results[0], "PUBLISH to allowed:1") == 0)
            #expect(Self.count(results[2], "PUBLISH to allowed:2") == 0)
            for (index, channel) in [(1, "denied:1"), (3, "denied:2")] {
                guard case .failure(let error) = results[index] else {
                    Issue.record("PUBLISH to \(channel) succeeded without channel permission")
                    continue
                }
                #expect(error.code == .serverError, "\(error)")
                #expect(error.serverErrorPrefix == "NOPERM", "\(error)")
                #expect(error.message.contains("PUBLISH to channel \"\(channel)\""), "\(error)")
            }
            // Error replies leave the connection in step: the next call gets its own reply.
            #expect(try await client.publish(channel: bytes("allowed:3"), message: bytes("e")) == 0)
            #expect(client.pendingCommandCount == 0)
            await client.close()
        }

        @Test("timeout fails batch and closes connection")
        func timeoutClosesConnection() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.commandTimeout = .milliseconds(300)
            let client = RedisClient(configuration: configuration)
            #expect(try await client.ping() == bytes("PONG"))
            server.pause()
            // SIGSTOP is delivered asynchronously, so wait until no reply can come.
            try await Task.sleep(for: .milliseconds(100))
            let publication = (channel: bytes("paused"), message: bytes("x"))
            let results = await client.publish(Array(repeating: publication, count: 3))
            server.resume()
            #expect(results.count == 3)
            for (index, result) in results.enumerated() {
                guard case .failure(let error) = result else {
                    Issue.record("PUBLISH \(index) succeeded against a paused server")
                    continue
                }
                #expect(error.code == .timedOut, "PUBLISH \(index): \(error)")
            }
            #expect(client.pendingCommandCount == 0)
            // The timed-out connection was closed, so late replies cannot be taken for new ones.
            var recovered: [Result<Int, RedisError>] = []
            for _ in 0..<100 {
                recovered = await client.publish([(channel: bytes("resumed"), message: bytes("y"))])
                if case .success = recovered.first { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(recovered.map { Self.count($0, "PUBLISH after resume") } == [0])
            await client.close()
        }
    }
}

/// A PUBLISH batch whose connection a fake server closes after part of the replies.
@Suite("Redis publish batch against a fake server", .serialized)
struct RedisPublishBatchCutShortTests {
    @Test("connection lost mid-batch fails the rest")
    func connectionLostMidBatch() async throws {
        let server = try HostileRedisServer.misbehavingOnce { socket in
            // Two of five replies, then a hangup.
            _ = HostileRedisServer.readCommands(socket, count: 5)
            HostileRedisServer.send(socket, ":3\r\n:0\r\n")
        }
        defer { server.stop() }
        var configuration = RedisRobustnessClientTests.configuration(port: server.port)
        configuration.maxPendingCommands = 5
        let client = RedisClient(configuration: configuration)
        let publications = (0..<5).map { (channel: bytes("cut:\($0)"), message: bytes("m\($0)")) }

        let cut = await client.publish(publications)
        #expect(cut.count == 5)
        #expect((try? cut[0].get()) == 3)
        #expect((try? cut[1].get()) == 0)
        for index in 2..<5 {
            guard case .failure(let error) = cut[index] else {
                Issue.record("PUBLISH \(index) got no reply but returned \(cut[index])")
                continue
            }
            #expect(error.code == .connectionClosed, "PUBLISH \(index): \(error)")
        }
        #expect(client.pendingCommandCount == 0)

        // Every slot is free again, so a batch of exactly maxPendingCommands is accepted.
        var full: [Result<Int, RedisError>] = []
        for _ in 0..<100 {
            full = await client.publish(publications)
            if full.allSatisfy({ (try? $0.get()) == 9 }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(full.map { try? $0.get() } == [9, 9, 9, 9, 9])
        #expect(client.pendingCommandCount == 0)
        await client.close()
    }

    @Test("non-integer reply fails that notification")
    func nonIntegerReply() async throws {
        let server = try HostileRedisServer { _, socket in
            _ = HostileRedisServer.readCommands(socket, count: 3)
            HostileRedisServer.send(socket, "+OK\r\n:2\r\n$-1\r\n")
            HostileRedisServer.answerEveryCommand(socket)
            socket.close()
        }
        defer { server.stop() }
        let client = RedisClient(configuration: RedisRobustnessClientTests.configuration(port: server.port))
        let results = await client.publish([
            (channel: bytes("odd:0"), message: bytes("a")),
            (channel: bytes("odd:1"), message: bytes("b")),
            (channel: bytes("odd:2"), message: bytes("c")),
        ])
        #expect(results.count == 3)
        #expect((try? results[1].get()) == 2)
        for (index, expectedReply) in [(0, "+\"OK\""), (2, "$-1")] {
            guard case .failure(let error) = results[index] else {
                Issue.record("PUBLISH \(index) succeeded with reply \(expectedReply)")
                continue
            }
            #expect(error.code == .unexpectedReply, "PUBLISH \(index): \(error)")
            #expect(error.message.contains("PUBLISH to channel \"odd:\(index)\""), "\(error)")
            #expect(error.message.contains("returned \(expectedReply)"), "\(error)")
        }
        // The replies stayed matched to their commands, so the connection is still usable.
        let next = await client.publish([(channel: bytes("odd:3"), message: bytes("d"))])
        #expect(next.map { try? $0.get() } == [9])
        await client.close()
    }
}

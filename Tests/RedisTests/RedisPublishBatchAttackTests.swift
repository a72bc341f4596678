import Glibc
import Redis
import TestSupport
import Testing

extension RedisServerSuite {
    /// PUBLISH batches under load and misuse: large batches, empty and oversized arguments,
    /// concurrent callers, cancellation and close().
    @Suite("Redis publish batch attacks")
    struct RedisPublishBatchAttackTests {
        @Test("large batch of empty arguments")
        func largeBatchOfEmptyArguments() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.maxPendingCommands = 50_000
            let client = RedisClient(configuration: configuration)
            let publications = (0..<50_000).map { index in
                index % 2 == 0
                    ? (channel: [UInt8](), message: [UInt8]())
                    : (channel: bytes("big:\(index)"), message: [UInt8]())
            }
            let results = await client.publish(publications)
            #expect(results.count == 50_000)
            let failures = results.filter { (try? $0.get()) != 0 }
            #expect(failures.isEmpty, "first failure: \(String(describing: failures.first))")
            #expect(client.pendingCommandCount == 0)
            await client.close()
        }

        @Test("message over the server bulk limit")
        func messageOverServerBulkLimit() async throws {
            // redis-server rejects a bulk string longer than proto-max-bulk-len (512 MB by
            // default, 1 MB here) with a protocol error and closes the connection.
            let server = try startRedis(["--proto-max-bulk-len", "1mb"])
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            let publications: [(channel: [UInt8], message: [UInt8])] = [
                (bytes("limit:a"), bytes("small")),
                (bytes("limit:b"), [UInt8](repeating: 0x41, count: 2 * 1024 * 1024)),
                (bytes("limit:c"), bytes("small")),
            ]
            let results = await client.publish(publications)
            #expect(results.count == 3)
            // The server resets the connection while the client still writes, so the reply to
            // the first PUBLISH can be lost with it.
            if case .success(let receivers) = results[0] {
                #expect(receivers == 0)
            }
            guard case .failure = results[1] else {
                Issue.record("oversized PUBLISH returned \(results[1])")
                await client.close()
                return
            }
            guard case .failure = results[2] else {
                Issue.record("PUBLISH after the oversized one returned \(results[2])")
                await client.close()
                return
            }
            #expect(client.pendingCommandCount == 0)

            // The client reconnects and the next batch succeeds.
            var recovered: [Result<Int, RedisError>] = []
            for _ in 0..<100 {
                recovered = await client.publish([(bytes("limit:a"), bytes("again"))])
                if (try? recovered[0].get()) == 0 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(recovered.map { try? $0.get() } == [0])
            await client.close()
        }

        @Test("message over 512 MiB rejected before sending")
        func messageOver512MiBRejected() async throws {
            // Larger than redis-server's default proto-max-bulk-len. Sent, it would make the
            // server close the connection and fail every other command in flight on it.
            let server = try startRedis()
            defer { server.stop() }
            let client = RedisClient(configuration: testConfiguration(server))
            let oversized = [UInt8](repeating: 0x41, count: 512 * 1024 * 1024 + 1)
            let results = await client.publish([
                (channel: bytes("huge:a"), message: bytes("small")),
                (channel: bytes("huge:b"), message: oversized),
            ])
            #expect(results.count == 2)
            for result in results {
                guard case .failure(let error) = result else {
                    Issue.record("a batch with an oversized message returned \(result)")
                    continue
                }
                #expect(error.code == .invalidArgument, "\(error)")
            }
            let single = await capture { () async throws(RedisError) -> Int in
                try await client.publish(channel: bytes("huge:c"), message: oversized)
            }
            guard case .failure(let singleError) = single else {
                Issue.record("an oversized PUBLISH returned \(single)")
                await client.close()
                return
            }
            #expect(singleError.code == .invalidArgument, "\(singleError)")
            #expect(client.pendingCommandCount == 0)
            #expect((try? await client.send("PING"))?.bytes == bytes("PONG"))
            await client.close()
        }

        @Test("batches interleave with send and pipeline")
        func batchesInterleaveWithOtherCommands() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.maxPendingCommands = 10_000
            let client = RedisClient(configuration: configuration)
            let mismatches = await withTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mismatches = 0
                        for round in 0..<50 {
                            let tag = "w\(worker)r\(round)"
                            switch round % 3 {
                            case 0:
                                let batch = (0..<20).map {
                                    (channel: bytes("mix:\(tag):\($0)"), message: bytes(tag))
                                }
                                let results = await client.publish(batch)
                                mismatches += results.filter { (try? $0.get()) != 0 }.count
                            case 1:
                                let reply = try? await client.send("ECHO", tag)
                                if reply?.bytes != bytes(tag) { mismatches += 1 }
                            default:
                                let results = await client.pipeline([
                                    [bytes("ECHO"), bytes(tag + "a")], [bytes("ECHO"), bytes(tag + "b")],
                                ])
                                if (try? results[0].get())?.bytes != bytes(tag + "a") { mismatches += 1 }
                                if (try? results[1].get())?.bytes != bytes(tag + "b") { mismatches += 1 }
                            }
                        }
                        return mismatches
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(mismatches == 0)
            #expect(client.pendingCommandCount == 0)
            await client.close()
        }

        @Test("cancelled caller still gets every result")
        func cancelledCallerGetsEveryResult() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.maxPendingCommands = 20_000
            let client = RedisClient(configuration: configuration)
            let publications = (0..<20_000).map { (channel: bytes("cancel:\($0)"), message: bytes("m")) }
            let task = Task { await client.publish(publications) }
            task.cancel()
            let results = await task.value
            #expect(results.count == publications.count)
            for result in results {
                if case .failure(let error) = result {
                    #expect(error.code == .clientClosed, "cancelled batch: \(error)")
                }
            }
            #expect(client.pendingCommandCount == 0)
            #expect((try? await client.send("PING"))?.bytes == bytes("PONG"))
            await client.close()
        }

        @Test("close during a batch fails the rest")
        func closeDuringBatch() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.maxPendingCommands = 100_000
            let client = RedisClient(configuration: configuration)
            let publications = (0..<100_000).map { (channel: bytes("close:\($0)"), message: bytes("m")) }
            let task = Task { await client.publish(publications) }
            try await Task.sleep(for: .milliseconds(5))
            await client.close()
            let results = await task.value
            #expect(results.count == publications.count)
            // Replies arrive in order, so every success comes before the first failure.
            let firstFailure = results.firstIndex { if case .failure = $0 { true } else { false } }
            let succeeded = firstFailure ?? results.count
            #expect(results[..<succeeded].allSatisfy { (try? $0.get()) == 0 })
            for result in results[succeeded...] {
                guard case .failure(let error) = result else {
                    Issue.record("a success after a failure: replies out of order")
                    break
                }
                #expect(error.code == .clientClosed, "after close: \(error)")
            }
            let afterClose = await client.publish([(bytes("close:late"), bytes("m"))])
            guard case .failure(let lateError) = afterClose[0] else {
                Issue.record("publish after close returned \(afterClose[0])")
                return
            }
            #expect(lateError.code == .clientClosed)
        }
    }
}

import FakeKafka
import Foundation
import Kafka
import Synchronization
import TestSupport
import Testing

/// Hostile ApiVersions and Produce responses and hostile connections. Each record ends with a
/// result in bounded time, failures name their cause, and reconnects back off.
@Suite("Producer robustness: protocol", .serialized)
struct ProducerRobustnessProtocolTests {
    /// A broker that serves ApiVersions with `keys`, Metadata for topic "t" (one partition led by
    /// itself), and Produce through `produce`.
    static func broker(
        keys: [(Int16, Int16, Int16)] = hostileDefaultKeys,
        apiVersions: (@Sendable (HostileRequest) -> HostileAction)? = nil,
        produce: @escaping @Sendable (HostileRequest) -> HostileAction = { request in
            .respond(produceV3(request.correlationID,
                               results: request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1) }))
        }
    ) throws -> HostileBroker {
        final class Port: @unchecked Sendable { var value: Int32 = 0 }
        let port = Port()
        let broker = try HostileBroker { request in
            switch request.apiKey {
            case 18: return apiVersions?(request) ?? hostileApiVersions(request, keys: keys)
            case 3:
                return .respond(metadataV1(
                    request.correlationID, brokers: [(1, "127.0.0.1", port.value)],
                    topics: [HostileTopic(name: "t", partitions: [HostilePartition(index: 0, leader: 1)])]))
            case 0: return produce(request)
            default: return .close
            }
        }
        port.value = Int32(broker.port)
        return broker
    }

    /// Result of one record sent to a hostile broker, with the time and the CPU the producer's
    /// sender thread used until the record had its result.
    struct Outcome {
        var result: Result<RecordMetadata, KafkaProducerError>
        var elapsed: Duration
        /// User + system ticks (1/100 s) of this producer's sender thread while the record waited.
        var senderTicks: Int
        /// Growth of this process's resident size (VmRSS) while the record waited, in KiB.
        var residentGrowthKiB: Int

        var error: KafkaProducerError? {
            if case .failure(let error) = result { return error }
            return nil
        }
    }

    static func send(
        _ broker: HostileBroker, configure: (inout KafkaProducerConfiguration) -> Void = { _ in }
    ) async throws -> Result<RecordMetadata, KafkaProducerError> {
        try await run(broker, configure: configure).result
    }

    /// Sends one record with a fresh producer, then closes it.
    static func run(
        _ broker: HostileBroker, configure: (inout KafkaProducerConfiguration) -> Void = { _ in }
    ) async throws -> Outcome {
        var configuration = hostileConfiguration(broker)
        configure(&configuration)
        let tasksBefore = Set(threadCPUTicks(named: "kafka-sender").keys)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        // Ours is the sender thread that appeared since. It names itself once it runs.
        var ticksBefore = [String: Int]()
        for _ in 0..<100 {
            ticksBefore = threadCPUTicks(named: "kafka-sender").filter { !tasksBefore.contains($0.key) }
            if !ticksBefore.isEmpty { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let residentBefore = residentKiB()
        let start = ContinuousClock.now
        let result: Result<RecordMetadata, KafkaProducerError>
        do {
            let handle = try await producer.enqueue(ProducerRecord(topic: "t", key: nil, value: [1]))
            result = await handle.result()
        } catch {
            result = .failure(error)
        }
        let elapsed = ContinuousClock.now - start
        let ticksAfter = threadCPUTicks(named: "kafka-sender")
        let used = ticksBefore.map { (ticksAfter[$0.key] ?? $0.value) - $0.value }.max() ?? -1
        let residentGrowth = residentKiB() - residentBefore
        await producer.close(timeout: .seconds(1))
        return Outcome(result: result, elapsed: elapsed, senderTicks: used, residentGrowthKiB: residentGrowth)
    }

    /// Checks the bounds every hostile case shares: a result within `limit`, a sender thread that
    /// slept while it waited (about 100 ticks per second at full CPU), and resident growth under
    /// 256 MiB. The growth bound is loose because suites running alongside share the process.
    static func expectBounded(_ outcome: Outcome, within limit: Duration = .seconds(5),
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome.elapsed < limit, "took \(outcome.elapsed)", sourceLocation: sourceLocation)
        #expect(outcome.senderTicks >= 0, "sender thread not found in /proc", sourceLocation: sourceLocation)
        #expect(outcome.senderTicks < 50, "sender used \(outcome.senderTicks) ticks in \(outcome.elapsed)",
                sourceLocation: sourceLocation)
        #expect(outcome.residentGrowthKiB < 256 * 1024, "resident size grew \(outcome.residentGrowthKiB) KiB",
                sourceLocation: sourceLocation)
    }

    // MARK: ApiVersions

    /// Produce missing, or offered only at v0-v2, which Kafka 4 rejects and this client does not speak.
    @Test(.timeLimit(.minutes(1)), arguments: [
        [(Int16(3), Int16(1), Int16(1)), (18, 0, 0)],
        [(0, 0, 2), (3, 1, 1), (18, 0, 0)],
    ])
    func noUsableProduceVersionFails(keys: [(Int16, Int16, Int16)]) async throws {
        let broker = try Self.broker(keys: keys)
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error != nil)
        #expect(outcome.error?.description.contains("Produce") == true, "\(String(describing: outcome.error))")
        #expect(broker.requestCount(apiKey: 0) == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func emptyApiKeysFails() async throws {
        let broker = try Self.broker(keys: [])
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error != nil)
        #expect(outcome.error?.description.contains("Metadata") == true, "\(String(describing: outcome.error))")
    }

    /// UNSUPPORTED_VERSION with no entries at every version: the producer must not loop.
    @Test(.timeLimit(.minutes(1)))
    func unsupportedVersionForeverIsBounded() async throws {
        let broker = try Self.broker(apiVersions: { request in
            .respond(apiVersionsV0(request.correlationID, error: 35, keys: []))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error?.code == .notConnected, "\(String(describing: outcome.error))")
        // Two requests per connection (v3, then v0), with reconnects backing off from 100 ms to 1 s
        // over maxBlock (2 s): about 6 connections.
        let requests = broker.requestCount(apiKey: 18)
        #expect(requests <= 2 * broker.connectionCount, "ApiVersions requests: \(requests)")
        #expect(broker.connectionCount <= 12, "connections: \(broker.connectionCount)")
        let text = outcome.error?.description ?? ""
        #expect(text.contains("UNSUPPORTED_VERSION"), "\(text)")
    }

    // MARK: Connections

    /// Accepts and closes at once: the producer reconnects with backoff (100 ms doubling to 1 s,
    /// 20% jitter), so maxBlock (2 s) allows about 6 connects, never a tight loop.
    @Test(.timeLimit(.minutes(1)))
    func acceptThenCloseBacksOff() async throws {
        let broker = try HostileBroker(admit: { _ in false }) { _ in .close }
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error?.code == .notConnected, "\(String(describing: outcome.error))")
        #expect(outcome.error?.description.contains(broker.bootstrap) == true, "\(String(describing: outcome.error))")
        #expect(broker.connectionCount <= 12, "connections: \(broker.connectionCount)")
        #expect(broker.connectionCount >= 3, "connections: \(broker.connectionCount)")
    }

    @Test(.timeLimit(.minutes(1)))
    func resetEveryConnectionFailsInTime() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("t", partitions: 1)
        cluster.inject(FakeKafkaFault(.resetConnection(afterProcessing: false), count: .max))
        var configuration = testConfiguration(cluster)
        configuration.maxBlock = .seconds(2)
        let producer = try KafkaProducer(configuration: configuration)
        let start = ContinuousClock.now
        await #expect(throws: KafkaProducerError.self) {
            _ = try await producer.send(ProducerRecord(topic: "t", key: nil, value: [1]))
        }
        let elapsed = ContinuousClock.now - start
        await producer.close(timeout: .seconds(1))
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        #expect(cluster.acceptedConnectionCount(broker: 1) <= 12, "\(cluster.acceptedConnectionCount(broker: 1))")
    }

    /// An idle producer sleeps, before and after its broker goes away: its sender thread uses
    /// under 20 ticks (0.2 s of CPU) in each 1.5 s window.
    @Test(.timeLimit(.minutes(1)))
    func idleProducerSleepsBeforeAndAfterBrokerLoss() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("t", partitions: 1)
        let tasksBefore = Set(threadCPUTicks(named: "kafka-sender").keys)
        let producer = try KafkaProducer(configuration: testConfiguration(cluster), logger: TestLogging.logger)
        _ = try await producer.send(ProducerRecord(topic: "t", key: nil, value: [1]))
        func ticks() -> Int {
            let ours = threadCPUTicks(named: "kafka-sender").filter { !tasksBefore.contains($0.key) }
            return ours.values.max() ?? -1
        }

        let idleStart = ticks()
        try await Task.sleep(for: .milliseconds(1_500))
        let idleUsed = ticks() - idleStart
        try cluster.refuseConnections(broker: 1)
        _ = try cluster.resetConnections(broker: 1)
        let lostStart = ticks()
        try await Task.sleep(for: .milliseconds(1_500))
        let lostUsed = ticks() - lostStart
        await producer.close(timeout: .seconds(1))

        #expect(idleStart >= 0, "sender thread not found in /proc")
        #expect(idleUsed < 20, "idle sender used \(idleUsed) ticks in 1.5 s")
        #expect(lostUsed < 20, "sender used \(lostUsed) ticks in 1.5 s after its broker went away")
    }

    // MARK: Produce responses

    /// The first connection answers Produce with a correlation id 1000 too high: the producer
    /// closes it, and the retry on a new connection is acknowledged.
    @Test(.timeLimit(.minutes(1)))
    func wrongCorrelationIDIsRetried() async throws {
        let broker = try Self.broker(produce: { request in
            let results = request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1, baseOffset: 42) }
            let correlation = request.connection == 1 ? request.correlationID &+ 1000 : request.correlationID
            return .respond(produceV3(correlation, results: results))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(try outcome.result.get().offset == 42)
        // The point is the close and the retry on a new connection. One full run on a loaded
        // machine saw a third connection, whose cause was not traced, so one extra is allowed.
        // NOTE: a likely source is a Metadata refresh through the bootstrap address, which is
        // the same server, while broker 1 waits out its reconnect backoff; this is not confirmed.
        #expect((2...3).contains(broker.connectionCount), "\(broker.connectionCount) connections")
        #expect(broker.requestCount(apiKey: 0) == 2)
    }

    /// Every Produce response carries a wrong correlation id: the record times out naming it.
    @Test(.timeLimit(.minutes(1)))
    func wrongCorrelationIDForeverFails() async throws {
        let broker = try Self.broker(produce: { request in
            let results = request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1) }
            return .respond(produceV3(request.correlationID &+ 1000, results: results))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        let text = outcome.error?.description ?? ""
        #expect(outcome.error?.code == .timedOut, "\(text)")
        #expect(outcome.error?.mayHavePersisted == true)
        #expect(text.contains("correlation id"), "\(text)")
        #expect(broker.connectionCount <= 12, "connections: \(broker.connectionCount)")
    }

    @Test(.timeLimit(.minutes(1)))
    func resultForOtherPartitionIsNotAcknowledgement() async throws {
        let broker = try Self.broker(produce: { request in
            .respond(produceV3(request.correlationID,
                               results: [HostileProduceResult(topic: "t", partition: 5),
                                         HostileProduceResult(topic: "other", partition: 0)]))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error?.code == .timedOut, "\(String(describing: outcome.error))")
        #expect(outcome.error?.mayHavePersisted == true)
        #expect(outcome.error?.description.contains("no result") == true, "\(String(describing: outcome.error))")
    }

    @Test(.timeLimit(.minutes(1)))
    func emptyProduceResponseIsNotAcknowledgement() async throws {
        let broker = try Self.broker(produce: { request in .respond(produceV3(request.correlationID, results: [])) })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error?.code == .timedOut, "\(String(describing: outcome.error))")
        #expect(outcome.error?.mayHavePersisted == true)
    }

    /// Size prefixes that are negative, 2 GiB, or shorter than a response header; a header of
    /// 0xff bytes. Each closes the connection; none is buffered.
    @Test(.timeLimit(.minutes(1)), arguments: [
        int32Bytes(Int32.min), int32Bytes(Int32.max), int32Bytes(-1),
        int32Bytes(12) + [UInt8](repeating: 0xff, count: 12),
        int32Bytes(6) + [0, 0, 0],
    ])
    func malformedProduceResponseFailsConnection(bytes: [UInt8]) async throws {
        let broker = try Self.broker(produce: { _ in .raw(bytes) })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error?.code == .timedOut, "\(String(describing: outcome.error))")
        #expect(outcome.error?.mayHavePersisted == true)
        #expect(broker.connectionCount <= 12, "connections: \(broker.connectionCount)")
    }

    /// A 2 GiB size prefix followed by 4 MiB of bytes: the prefix alone fails the frame, so the
    /// producer never reserves or buffers the announced size.
    @Test(.timeLimit(.minutes(1)))
    func twoGiBSizePrefixIsNotBuffered() async throws {
        let filler = [UInt8](repeating: 0x41, count: 4 * 1024 * 1024)
        let broker = try Self.broker(produce: { _ in .raw(int32Bytes(Int32.max) + filler) })
        defer { broker.stop() }
        let residentBefore = residentKiB()
        let outcome = try await Self.run(broker)
        let residentAfter = residentKiB()
        Self.expectBounded(outcome)
        let text = outcome.error?.description ?? ""
        #expect(outcome.error?.code == .timedOut, "\(text)")
        #expect(text.contains("2147483647"), "names the size prefix: \(text)")
        #expect(residentBefore > 0)
        #expect(residentAfter - residentBefore < 256 * 1024, "resident \(residentBefore) -> \(residentAfter) KiB")
    }

    /// A response sent one byte at a time, 3 ms apart: the frame is assembled across reads.
    @Test(.timeLimit(.minutes(1)))
    func responseByteByByteIsAssembled() async throws {
        let broker = try Self.broker(produce: { request in
            let results = request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1, baseOffset: 9) }
            return .drip(produceV3(request.correlationID, results: results), interval: .milliseconds(3))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(try outcome.result.get().offset == 9)
        #expect(broker.connectionCount == 1)
    }

    /// Half a frame, then silence on an open connection: requestTimeout (1 s) closes it and the
    /// record is retried on a new connection until deliveryTimeout (2 s) ends it.
    @Test(.timeLimit(.minutes(1)))
    func truncatedResponseTimesOut() async throws {
        let broker = try Self.broker(produce: { request in
            .raw(int32Bytes(100) + int32Bytes(request.correlationID) + [0, 0, 0, 1])
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        let text = outcome.error?.description ?? ""
        #expect(outcome.error?.code == .timedOut, "\(text)")
        #expect(outcome.error?.mayHavePersisted == true)
        #expect(broker.connectionCount >= 2, "connections: \(broker.connectionCount)")
        #expect(broker.requestCount(apiKey: 0) >= 2, "Produce requests: \(broker.requestCount(apiKey: 0))")
    }

    @Test(.timeLimit(.minutes(1)))
    func garbageCorrelatedResponseFails() async throws {
        let broker = try Self.broker(produce: { request in
            .respond(int32Bytes(request.correlationID) + [0xde, 0xad, 0xbe, 0xef, 0x00, 0x01])
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        let text = outcome.error?.description ?? ""
        #expect(outcome.error?.code == .timedOut, "\(text)")
        #expect(text.contains("invalid Produce v3 response"), "\(text)")
    }

    /// Random bytes in place of a response, a different seeded stream per connection.
    @Test(.timeLimit(.minutes(1)))
    func randomBytesResponseFails() async throws {
        let broker = try Self.broker(produce: { request in
            var generator = SplitMix64(seed: UInt64(request.connection))
            return .raw((0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) })
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        #expect(outcome.error?.code == .timedOut, "\(String(describing: outcome.error))")
        #expect(outcome.error?.mayHavePersisted == true)
    }

    @Test(.timeLimit(.minutes(1)))
    func lateResponseIsDiscarded() async throws {
        let broker = try Self.broker(produce: { request in
            if request.connection == 1 { usleep(1_500_000) }
            let results = request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1, baseOffset: 7) }
            return .respond(produceV3(request.correlationID, results: results))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker) { $0.deliveryTimeout = .seconds(4) }
        Self.expectBounded(outcome)
        #expect(try outcome.result.get().offset == 7)
        #expect(broker.requestCount(apiKey: 0) >= 2)
    }

    /// An error code Kafka does not define is not retriable: one attempt, and the code in the
    /// message. Whether the broker wrote the batch is unknown, so it may have persisted.
    @Test(.timeLimit(.minutes(1)))
    func unknownErrorCodeFailsRecord() async throws {
        let broker = try Self.broker(produce: { request in
            .respond(produceV3(request.correlationID,
                               results: [HostileProduceResult(topic: "t", partition: 0, error: 9999)]))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome, within: .seconds(1))
        #expect(outcome.error?.code == .brokerError)
        #expect(outcome.error?.brokerErrorCode?.rawValue == 9999)
        #expect(outcome.error?.mayHavePersisted == true)
        #expect(outcome.error?.description.contains("9999") == true, "\(String(describing: outcome.error))")
        #expect(broker.requestCount(apiKey: 0) == 1)
    }

    /// A retriable error on every attempt: the record is retried with backoff (100 ms doubling
    /// to 1 s) until deliveryTimeout (2 s), about 6 attempts, and fails naming the error.
    @Test(.timeLimit(.minutes(1)), arguments: [Int16(3), 6, 7, 19])
    func retriableErrorForeverBacksOff(code: Int16) async throws {
        let broker = try Self.broker(produce: { request in
            .respond(produceV3(request.correlationID,
                               results: [HostileProduceResult(topic: "t", partition: 0, error: code)]))
        })
        defer { broker.stop() }
        let outcome = try await Self.run(broker)
        Self.expectBounded(outcome)
        let text = outcome.error?.description ?? ""
        #expect(outcome.error?.code == .timedOut, "\(text)")
        #expect(text.contains("(\(code))"), "names the broker's error: \(text)")
        #expect(broker.requestCount(apiKey: 0) >= 2, "Produce requests: \(broker.requestCount(apiKey: 0))")
        #expect(broker.requestCount(apiKey: 0) <= 12, "Produce requests: \(broker.requestCount(apiKey: 0))")
        #expect(broker.requestCount(apiKey: 3) <= 30, "Metadata requests: \(broker.requestCount(apiKey: 3))")
    }

    @Test(.timeLimit(.minutes(1)))
    func hugeThrottleDoesNotStall() async throws {
        let broker = try Self.broker(produce: { request in
            let results = request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1) }
            return .respond(produceV3(request.correlationID, results: results, throttle: Int32.max))
        })
        defer { broker.stop() }
        var configuration = hostileConfiguration(broker)
        configuration.deliveryTimeout = .seconds(3)
        let producer = try KafkaProducer(configuration: configuration)
        let start = ContinuousClock.now
        for index in 0..<3 {
            _ = try await producer.send(ProducerRecord(topic: "t", key: nil, value: [UInt8(index)]))
        }
        let elapsed = ContinuousClock.now - start
        await producer.close(timeout: .seconds(1))
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }
}

/// Resident set size of this process in KiB (VmRSS in /proc/self/status), or 0 when unreadable.
func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
}

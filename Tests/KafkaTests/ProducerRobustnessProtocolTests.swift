import FakeKafka
import Foundation
import Kafka
import Synchronization
import Testing

/// Hostile ApiVersions and Produce responses and hostile connections. Each record ends with a
/// result in bounded time, failures name their cause, and reconnects back off.
@Suite("Producer robustness: protocol", .serialized, .disabled("written but not yet run to completion"))
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

    static func send(
        _ broker: HostileBroker, configure: (inout KafkaProducerConfiguration) -> Void = { _ in }
    ) async throws -> Result<RecordMetadata, KafkaProducerError> {
        var configuration = hostileConfiguration(broker)
        configure(&configuration)
        let producer = try KafkaProducer(configuration: configuration)
        let result: Result<RecordMetadata, KafkaProducerError>
        do {
            let handle = try await producer.enqueue(ProducerRecord(topic: "t", key: nil, value: [1]))
            result = await handle.result()
        } catch {
            result = .failure(error)
        }
        await producer.close(timeout: .seconds(1))
        return result
    }

    static func failure(_ result: Result<RecordMetadata, KafkaProducerError>) -> KafkaProducerError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    // MARK: ApiVersions

    @Test(.timeLimit(.minutes(1)), arguments: [
        [(Int16(3), Int16(1), Int16(1)), (18, 0, 0)],
        [(0, 0, 2), (3, 1, 1), (18, 0, 0)],
    ])
    func noUsableProduceVersionFails(keys: [(Int16, Int16, Int16)]) async throws {
        let broker = try Self.broker(keys: keys)
        defer { broker.stop() }
        let error = Self.failure(try await Self.send(broker))
        #expect(error != nil)
        #expect(error?.description.contains("Produce") == true, "\(String(describing: error))")
        #expect(broker.requestCount(apiKey: 0) == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func emptyApiKeysFails() async throws {
        let broker = try Self.broker(keys: [])
        defer { broker.stop() }
        let error = Self.failure(try await Self.send(broker))
        #expect(error != nil)
        #expect(error?.description.contains("Metadata") == true, "\(String(describing: error))")
    }

    /// UNSUPPORTED_VERSION with no entries at every version: the producer must not loop.
    @Test(.timeLimit(.minutes(1)))
    func unsupportedVersionForeverIsBounded() async throws {
        let broker = try Self.broker(apiVersions: { request in
            .respond(apiVersionsV0(request.correlationID, error: 35, keys: []))
        })
        defer { broker.stop() }
        let start = ContinuousClock.now
        let error = Self.failure(try await Self.send(broker))
        let elapsed = ContinuousClock.now - start
        #expect(error != nil)
        #expect(elapsed < .seconds(5))
        // Two requests per connection (v3, then v0), with reconnects backing off from 100 ms.
        #expect(broker.requestCount(apiKey: 18) < 60, "ApiVersions requests: \(broker.requestCount(apiKey: 18))")
        #expect(error?.description.contains("UNSUPPORTED_VERSION") == true, "\(String(describing: error))")
    }

    // MARK: Connections

    @Test(.timeLimit(.minutes(1)))
    func acceptThenCloseBacksOff() async throws {
        let broker = try HostileBroker(admit: { _ in false }) { _ in .close }
        defer { broker.stop() }
        let start = ContinuousClock.now
        let error = Self.failure(try await Self.send(broker))
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .notConnected, "\(String(describing: error))")
        #expect(elapsed < .seconds(5))
        // Backoff from 100 ms to 1 s over maxBlock (2 s) allows about 6 attempts.
        #expect(broker.connectionCount < 40, "connections: \(broker.connectionCount)")
        #expect(broker.connectionCount >= 2, "connections: \(broker.connectionCount)")
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
        await #expect(throws: KafkaProducerError.self) {
            _ = try await producer.send(ProducerRecord(topic: "t", key: nil, value: [1]))
        }
        await producer.close(timeout: .seconds(1))
        #expect(cluster.acceptedConnectionCount(broker: 1) < 40, "\(cluster.acceptedConnectionCount(broker: 1))")
    }

    // MARK: Produce responses

    @Test(.timeLimit(.minutes(1)))
    func unknownCorrelationIDIsRetried() async throws {
        let broker = try Self.broker(produce: { request in
            let results = request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1, baseOffset: 42) }
            let correlation = request.connection == 1 ? request.correlationID &+ 1000 : request.correlationID
            return .respond(produceV3(correlation, results: results))
        })
        defer { broker.stop() }
        let result = try await Self.send(broker)
        #expect(try result.get().offset == 42)
        #expect(broker.connectionCount >= 2)
    }

    @Test(.timeLimit(.minutes(1)))
    func resultForOtherPartitionIsNotAcknowledgement() async throws {
        let broker = try Self.broker(produce: { request in
            .respond(produceV3(request.correlationID,
                               results: [HostileProduceResult(topic: "t", partition: 5),
                                         HostileProduceResult(topic: "other", partition: 0)]))
        })
        defer { broker.stop() }
        let error = Self.failure(try await Self.send(broker))
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(error?.mayHavePersisted == true)
        #expect(error?.description.contains("no result") == true, "\(String(describing: error))")
    }

    @Test(.timeLimit(.minutes(1)))
    func emptyProduceResponseIsNotAcknowledgement() async throws {
        let broker = try Self.broker(produce: { request in .respond(produceV3(request.correlationID, results: [])) })
        defer { broker.stop() }
        let error = Self.failure(try await Self.send(broker))
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(error?.mayHavePersisted == true)
    }

    @Test(.timeLimit(.minutes(1)), arguments: [
        int32Bytes(Int32.min), int32Bytes(Int32.max), int32Bytes(-1),
        int32Bytes(12) + [UInt8](repeating: 0xff, count: 12),
        int32Bytes(6) + [0, 0, 0],
    ])
    func malformedProduceResponseFailsConnection(bytes: [UInt8]) async throws {
        let broker = try Self.broker(produce: { _ in .raw(bytes) })
        defer { broker.stop() }
        let error = Self.failure(try await Self.send(broker))
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(error?.mayHavePersisted == true)
        #expect(broker.connectionCount < 40)
    }

    @Test(.timeLimit(.minutes(1)))
    func garbageCorrelatedResponseFails() async throws {
        let broker = try Self.broker(produce: { request in
            .respond(int32Bytes(request.correlationID) + [0xde, 0xad, 0xbe, 0xef, 0x00, 0x01])
        })
        defer { broker.stop() }
        let error = Self.failure(try await Self.send(broker))
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(error?.description.contains("invalid Produce v3 response") == true, "\(String(describing: error))")
    }

    @Test(.timeLimit(.minutes(1)))
    func lateResponseIsDiscarded() async throws {
        let broker = try Self.broker(produce: { request in
            if request.connection == 1 { usleep(1_500_000) }
            let results = request.produced.map { HostileProduceResult(topic: $0.0, partition: $0.1, baseOffset: 7) }
            return .respond(produceV3(request.correlationID, results: results))
        })
        defer { broker.stop() }
        let result = try await Self.send(broker) { $0.deliveryTimeout = .seconds(4) }
        #expect(try result.get().offset == 7)
        #expect(broker.requestCount(apiKey: 0) >= 2)
    }

    @Test(.timeLimit(.minutes(1)))
    func unknownErrorCodeFailsRecord() async throws {
        let broker = try Self.broker(produce: { request in
            .respond(produceV3(request.correlationID,
                               results: [HostileProduceResult(topic: "t", partition: 0, error: 9999)]))
        })
        defer { broker.stop() }
        let error = Self.failure(try await Self.send(broker))
        #expect(error?.code == .brokerError)
        #expect(error?.description.contains("9999") == true, "\(String(describing: error))")
        #expect(broker.requestCount(apiKey: 0) == 1)
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
        for index in 0..<3 {
            _ = try await producer.send(ProducerRecord(topic: "t", key: nil, value: [UInt8(index)]))
        }
        await producer.close(timeout: .seconds(1))
    }
}

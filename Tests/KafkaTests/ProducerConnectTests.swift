import FakeKafka
@testable import Kafka
import SocketTransport
import Testing
import TestSupport

/// A broker whose connect cannot complete must not stall the sender thread: records for other
/// brokers keep flowing while the connect is pending, and connectTimeout is enforced by the loop.
@Suite("Producer connects without blocking", .serialized)
struct ProducerConnectTests {
    /// Listens with backlog 0 and fills the accept queue with connections that are never accepted. Linux
    /// then drops further SYNs to the port, so a new connect stays in progress until it times
    /// out. The returned clients must stay open for the queue to stay full.
    static func stalledListener(port: Int = 0) throws -> (listener: ListeningSocket, queued: [StreamSocket]) {
        let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: port), backlog: 0)
        var queued: [StreamSocket] = []
        for _ in 0..<16 {
            do {
                queued.append(try StreamSocket.connect(to: listener.endpoint, timeout: .milliseconds(200)))
            } catch {
                return (listener, queued)
            }
        }
        Issue.record("16 connects succeeded without any accept; the queue never filled")
        return (listener, queued)
    }

    @Test(.timeLimit(.minutes(1)))
    func pendingConnectDoesNotStallOtherBroker() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("split", partitions: 2, leaders: [1, 2])
        // Metadata keeps naming broker 2 at its port, where a stalled listener now takes its place.
        let stalledPort = try cluster.port(ofBroker: 2)
        try cluster.refuseConnections(broker: 2)
        var (stalled, queued) = try Self.stalledListener(port: stalledPort)
        #expect(queued.count >= 1)

        var configuration = testConfiguration(cluster)
        configuration.bootstrapServers = ["127.0.0.1:\(try cluster.port(ofBroker: 1))"]
        // A long connect timeout keeps broker 2's connect pending for the whole first phase.
        configuration.connectTimeout = .seconds(30)
        configuration.deliveryTimeout = .seconds(50)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)

        // Partition 1 is led by broker 2, so this record makes the sender connect there.
        let waiting = try await producer.enqueue(record("split", 0, partition: 1))
        try await Task.sleep(for: .milliseconds(300))

        let start = ContinuousClock.now
        for index in 1...20 {
            let metadata = try await producer.send(record("split", index, partition: 0))
            #expect(metadata.partition == 0)
        }
        let elapsed = ContinuousClock.now - start
        // A sender blocked in connect would send these only after connectTimeout (30 s). The bound
        // is loose because async tests share two cooperative threads with blocking tests that
        // run in parallel, and such a test has held up resumptions for 10 s in a full run.
        #expect(elapsed < .seconds(15), "20 records to the healthy broker took \(elapsed)")
        #expect(try cluster.records(topic: "split", partition: 0).count == 20)
        #expect(try cluster.records(topic: "split", partition: 1).isEmpty)

        // Broker 2 comes back on its port: the pending connect completes (the kernel retransmits
        // its SYN) or times out and is retried, and the waiting record is delivered.
        stalled.close()
        queued = []
        try cluster.acceptConnections(broker: 2)
        let result = await waiting.result()
        guard case .success(let metadata) = result else {
            Issue.record("record for broker 2 failed after it came back: \(result)")
            await producer.close(timeout: .seconds(1))
            return
        }
        #expect(metadata.partition == 1)
        #expect(try cluster.records(topic: "split", partition: 1).count == 1)
        await producer.close(timeout: .seconds(2))
        _ = stalled
    }

    @Test(.timeLimit(.minutes(1)))
    func connectTimeoutEndsPendingConnect() async throws {
        var (stalled, queued) = try Self.stalledListener()
        #expect(queued.count >= 1)
        let socketsBefore = clientSocketCount(toPorts: [stalled.port])

        var configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:\(stalled.port)"])
        configuration.connectTimeout = .milliseconds(300)
        configuration.maxBlock = .seconds(2)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        let start = ContinuousClock.now
        let error = await #expect(throws: KafkaProducerError.self) {
            try await producer.send(record("nowhere", 0, partition: 0))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .notConnected, "\(String(describing: error))")
        let expected = "connect to 127.0.0.1:\(stalled.port) timed out after 300 ms"
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(4), "send waited \(elapsed)")
        await producer.close(timeout: .seconds(1))

        // Every pending connect was closed, so only the queued clients still have a socket to the
        // port. This counts by port because suites running in parallel open descriptors too.
        let closedAll = try waitUntil(timeout: .seconds(5)) {
            clientSocketCount(toPorts: [stalled.port]) == socketsBefore
        }
        let socketsAfter = clientSocketCount(toPorts: [stalled.port])
        #expect(closedAll, "sockets to the port: \(socketsBefore) before, \(socketsAfter) after close")
        queued = []
        stalled.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func stalledBootstrapServerIsSkipped() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
        defer { cluster.shutdown() }
        try cluster.createTopic("skip", partitions: 2, leaders: [2, 3])
        // Connects to broker 1's port, the first bootstrap server, stay pending.
        let stalledPort = try cluster.port(ofBroker: 1)
        try cluster.refuseConnections(broker: 1)
        var (stalled, queued) = try Self.stalledListener(port: stalledPort)
        #expect(queued.count >= 1)

        var configuration = testConfiguration(cluster)
        #expect(configuration.bootstrapServers.first == "127.0.0.1:\(stalledPort)")
        configuration.connectTimeout = .seconds(10)
        configuration.deliveryTimeout = .seconds(30)
        configuration.maxBlock = .seconds(20)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)

        let start = ContinuousClock.now
        let first = try await producer.send(record("skip", 0, partition: 0))
        let elapsed = ContinuousClock.now - start
        #expect(first.partition == 0)
        // Waiting for the stalled connect would take connectTimeout (10 s).
        #expect(elapsed < .seconds(3), "first record took \(elapsed)")
        let second = try await producer.send(record("skip", 1, partition: 1))
        #expect(second.partition == 1)
        #expect(try cluster.records(topic: "skip", partition: 0).count == 1)
        #expect(try cluster.records(topic: "skip", partition: 1).count == 1)
        await producer.close(timeout: .seconds(1))
        queued = []
        stalled.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func refusedBootstrapServerIsSkipped() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
        defer { cluster.shutdown() }
        try cluster.createTopic("skip", partitions: 1, leaders: [3])
        try cluster.refuseConnections(broker: 1)
        try cluster.refuseConnections(broker: 2)

        var configuration = testConfiguration(cluster)
        configuration.connectTimeout = .seconds(10)
        // A producer that waited out the reconnect backoff of each refused server would take
        // more than a second per server.
        configuration.retryBackoff = .seconds(1)
        configuration.retryBackoffMaximum = .seconds(1)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        let start = ContinuousClock.now
        _ = try await producer.send(record("skip", 0, partition: 0))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .milliseconds(1500), "first record took \(elapsed)")
        await producer.close(timeout: .seconds(1))
    }
}

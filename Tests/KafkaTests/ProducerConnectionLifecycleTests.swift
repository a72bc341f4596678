import FakeKafka
import Foundation
@testable import Kafka
import SocketTransport
import Testing

/// Connection lifecycle against brokers that stop responding, move or leave the metadata.
@Suite("Producer connection lifecycle", .serialized)
struct ProducerConnectionLifecycleTests {
    @Test(.timeLimit(.minutes(1)))
    func unansweredApiVersionsReconnects() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("silent", partitions: 1)
        cluster.startBlackhole(broker: 1)

        var configuration = testConfiguration(cluster)
        configuration.requestTimeout = .milliseconds(400)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        // enqueue waits for metadata, which only comes once the blackhole ends below.
        async let delivered = producer.send(record("silent", 0, partition: 0))

        // The first ApiVersions gets no response. After requestTimeout the producer closes the
        // connection, connects again and sends ApiVersions on the new connection.
        let reconnected = try await waitUntilAsync(timeout: .seconds(5)) {
            cluster.requests(apiKey: .apiVersions).count >= 2
        }
        #expect(reconnected, "ApiVersions requests: \(cluster.requests(apiKey: .apiVersions).count)")
        #expect(cluster.acceptedConnectionCount(broker: 1) >= 2)
        cluster.stopBlackhole(broker: 1)

        let metadata = try await delivered
        #expect(metadata.partition == 0)
        #expect(try cluster.records(topic: "silent", partition: 0).count == 1)
        await producer.close(timeout: .seconds(1))
    }

    @Test(.timeLimit(.minutes(1)))
    func movedBrokerGetsNewConnection() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("moving", partitions: 1, leaders: [2])
        let port = try cluster.port(ofBroker: 2)
        let scripted = ProducerResolverTests.ScriptedResolver(delays: ["moved.dualstream.test": .zero])

        var configuration = testConfiguration(cluster)
        configuration.bootstrapServers = ["127.0.0.1:\(try cluster.port(ofBroker: 1))"]
        configuration.resolver = scripted.resolver
        configuration.metadataMaxAge = .milliseconds(200)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        _ = try await producer.send(record("moving", 0, partition: 0))
        #expect(clientSocketCount(toPorts: [port]) == 1)
        let acceptedBefore = cluster.acceptedConnectionCount(broker: 2)

        // Broker 2 is now advertised under a name. The next metadata refresh closes the idle
        // connection to 127.0.0.1, and the next record opens one to the name's address.
        cluster.advertise(broker: 2, host: "moved.dualstream.test")
        let oldClosed = try await waitUntilAsync(timeout: .seconds(5)) { clientSocketCount(toPorts: [port]) == 0 }
        #expect(oldClosed, "sockets to broker 2: \(clientSocketCount(toPorts: [port]))")
        _ = try await producer.send(record("moving", 1, partition: 0))
        #expect(scripted.hosts.contains("moved.dualstream.test"), "lookups: \(scripted.hosts)")
        #expect(cluster.acceptedConnectionCount(broker: 2) == acceptedBefore + 1)
        #expect(clientSocketCount(toPorts: [port]) == 1)
        #expect(try cluster.records(topic: "moving", partition: 0).count == 2)
        await producer.close(timeout: .seconds(1))
    }

    @Test(.timeLimit(.minutes(1)))
    func removedBrokerConnectionCloses() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("leaving", partitions: 2, leaders: [1, 2])
        let port = try cluster.port(ofBroker: 2)

        var configuration = testConfiguration(cluster)
        configuration.bootstrapServers = ["127.0.0.1:\(try cluster.port(ofBroker: 1))"]
        configuration.metadataMaxAge = .milliseconds(200)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        _ = try await producer.send(record("leaving", 0, partition: 0))
        _ = try await producer.send(record("leaving", 1, partition: 1))
        #expect(clientSocketCount(toPorts: [port]) == 1)

        // A Produce held by broker 2 is in flight when the broker leaves the metadata: the
        // connection stays until its response arrives, then closes.
        cluster.inject(FakeKafkaFault(.delay(.milliseconds(1500)), apiKey: .produce, broker: 2))
        let inFlight = try await producer.enqueue(record("leaving", 2, partition: 1))
        let sent = await cluster.waitForRequests(count: 2, apiKey: .produce, broker: 2, timeout: .seconds(5))
        #expect(sent)
        try cluster.moveLeader(topic: "leaving", partition: 1, to: 1)
        cluster.listInMetadata(broker: 2, false)
        let metadataBefore = cluster.requestCount(apiKey: .metadata)
        let refreshed = try await waitUntilAsync(timeout: .seconds(1)) {
            cluster.requestCount(apiKey: .metadata) >= metadataBefore + 2
        }
        #expect(refreshed)
        #expect(clientSocketCount(toPorts: [port]) == 1, "closed with a request in flight")

        let result = await inFlight.result()
        if case .failure(let error) = result {
            Issue.record("in-flight record failed when its broker left the metadata: \(error)")
        }
        let closed = try await waitUntilAsync(timeout: .seconds(5)) { clientSocketCount(toPorts: [port]) == 0 }
        #expect(closed, "sockets to broker 2: \(clientSocketCount(toPorts: [port]))")
        _ = try await producer.send(record("leaving", 3, partition: 1))
        #expect(clientSocketCount(toPorts: [port]) == 0)
        await producer.close(timeout: .seconds(1))
    }
}

/// Polls `condition` every 20 ms until it is true or `timeout` passes, and returns its last value.
func waitUntilAsync(timeout: Duration, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try condition()
}

import FakeKafka
import Foundation
@testable import Kafka
import SocketTransport
import Synchronization
import Testing

/// Broker host names are resolved on the producer's resolver threads, so a slow lookup for one
/// broker never holds up the sender thread. The names end in `.dualstream.test` (a reserved
/// top-level domain) and only the injected resolver below ever sees them: no DNS query is sent.
@Suite("Producer resolves names off the sender thread", .serialized)
struct ProducerResolverTests {
    /// A resolver that maps each name in `delays` to 127.0.0.1 after its delay and records every
    /// call. Other names fail with resolveFailed.
    final class ScriptedResolver: Sendable {
        let delays: [String: Duration]
        let failures: Set<String>
        private let calls = Mutex<[String]>([])

        init(delays: [String: Duration], failures: Set<String> = []) {
            self.delays = delays
            self.failures = failures
        }

        var hosts: [String] { calls.withLock { $0 } }

        var resolver: NameResolver {
            NameResolver { host, port throws(TransportError) in
                self.calls.withLock { $0.append(host) }
                if self.failures.contains(host) {
                    throw TransportError(.resolveFailed, "no such host in the test's table")
                }
                guard let delay = self.delays[host] else {
                    throw TransportError(.resolveFailed, "resolve \(host):\(port) failed: unexpected name")
                }
                if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.seconds)
                    + Double(delay.components.attoseconds) / 1e18) }
                return try SocketAddress.resolveWithoutLookup(.tcp(host: "127.0.0.1", port: port)) ?? []
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func slowLookupDoesNotDelayOtherBroker() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("names", partitions: 2, leaders: [1, 2])
        cluster.advertise(broker: 1, host: "a.dualstream.test")
        cluster.advertise(broker: 2, host: "b.dualstream.test")
        let scripted = ScriptedResolver(delays: ["a.dualstream.test": .zero, "b.dualstream.test": .seconds(2)])

        var configuration = testConfiguration(cluster)
        configuration.bootstrapServers = ["127.0.0.1:\(try cluster.port(ofBroker: 1))"]
        configuration.resolver = scripted.resolver
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)

        // Partition 1 is led by broker B, whose lookup takes 2 s.
        let start = ContinuousClock.now
        let waiting = try await producer.enqueue(record("names", 0, partition: 1))
        for index in 1...20 {
            let metadata = try await producer.send(record("names", index, partition: 0))
            #expect(metadata.partition == 0)
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .milliseconds(1500), "20 records to broker A took \(elapsed)")
        #expect(try cluster.records(topic: "names", partition: 0).count == 20)

        let result = await waiting.result()
        let waited = ContinuousClock.now - start
        if case .failure(let error) = result {
            Issue.record("record for broker B failed: \(error)")
        }
        #expect(waited >= .seconds(2), "broker B's record was delivered after \(waited)")
        #expect(try cluster.records(topic: "names", partition: 1).count == 1)
        #expect(scripted.hosts.contains("a.dualstream.test"))
        #expect(scripted.hosts.contains("b.dualstream.test"))
        await producer.close(timeout: .seconds(2))
    }

    @Test(.timeLimit(.minutes(1)))
    func failedLookupNamesHost() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("names", partitions: 2, leaders: [1, 2])
        cluster.advertise(broker: 2, host: "missing.dualstream.test")
        let scripted = ScriptedResolver(delays: [:], failures: ["missing.dualstream.test"])

        var configuration = testConfiguration(cluster)
        configuration.bootstrapServers = ["127.0.0.1:\(try cluster.port(ofBroker: 1))"]
        configuration.resolver = scripted.resolver
        configuration.deliveryTimeout = .milliseconds(1500)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)

        let failing = try await producer.enqueue(record("names", 0, partition: 1))
        let delivered = try await producer.send(record("names", 1, partition: 0))
        #expect(delivered.partition == 0)
        let result = await failing.result()
        guard case .failure(let error) = result else {
            Issue.record("record for the unresolvable broker succeeded: \(result)")
            await producer.close(timeout: .seconds(1))
            return
        }
        let expected = "resolve missing.dualstream.test failed: no such host in the test's table"
        #expect(error.description.contains(expected), "\(error)")
        // The failed lookup is retried with the reconnect backoff, not in a loop.
        let lookups = scripted.hosts.filter { $0 == "missing.dualstream.test" }.count
        #expect(lookups >= 2, "lookups: \(lookups)")
        #expect(lookups <= 20, "lookups: \(lookups)")
        await producer.close(timeout: .seconds(1))
    }

    @Test(.timeLimit(.minutes(1)))
    func lookupTimeoutFailsConnect() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        defer { cluster.shutdown() }
        try cluster.createTopic("names", partitions: 2, leaders: [1, 2])
        cluster.advertise(broker: 2, host: "stuck.dualstream.test")
        let scripted = ScriptedResolver(delays: ["stuck.dualstream.test": .seconds(3)])

        var configuration = testConfiguration(cluster)
        configuration.bootstrapServers = ["127.0.0.1:\(try cluster.port(ofBroker: 1))"]
        configuration.resolver = scripted.resolver
        configuration.connectTimeout = .milliseconds(400)
        configuration.deliveryTimeout = .milliseconds(1500)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)

        let result = await (try await producer.enqueue(record("names", 0, partition: 1))).result()
        guard case .failure(let error) = result else {
            Issue.record("record for the stuck broker succeeded: \(result)")
            await producer.close(timeout: .seconds(1))
            return
        }
        #expect(error.description.contains("resolve stuck.dualstream.test timed out after connectTimeout"),
                "\(error)")
        #expect(threadCount(named: ProducerSender.resolverThreadName) > 0)
        await producer.close(timeout: .seconds(1))

        // A thread inside the 3 s lookup ends when the lookup returns; idle ones end at close.
        let deadline = ContinuousClock.now + .seconds(8)
        while threadCount(named: ProducerSender.resolverThreadName) > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(threadCount(named: ProducerSender.resolverThreadName) == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func numericBrokersStartNoResolverThread() async throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("names", partitions: 1)
        let scripted = ScriptedResolver(delays: [:])
        var configuration = testConfiguration(cluster)
        configuration.bootstrapServers = ["localhost:\(try cluster.port(ofBroker: 1))"]
        configuration.resolver = scripted.resolver
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        _ = try await producer.send(record("names", 0, partition: 0))
        #expect(scripted.hosts.isEmpty, "\(scripted.hosts)")
        #expect(threadCount(named: ProducerSender.resolverThreadName) == 0)
        await producer.close(timeout: .seconds(1))
    }
}

/// Threads of this process named `name`.
func threadCount(named name: String) -> Int {
    threadCPUTicks(named: name).count
}

import DualStreamLogging
import Synchronization

/// A fake Kafka cluster on loopback for tests: N brokers, each listening on its own port on
/// 127.0.0.1, serving ApiVersions, Metadata, InitProducerId and Produce.
///
/// It validates what a client sends (framing, CRC-32C, sizes, idempotent sequences), stores the
/// records it accepts, logs every request, and injects faults on request. Each broker runs an
/// accept thread and one thread per connection. `shutdown()` (also run on deinit) closes every
/// socket and joins every thread.
///
/// ```swift
/// let cluster = try FakeKafkaCluster(configuration: .init(brokerCount: 3))
/// try cluster.createTopic("events", partitions: 6)
/// // point a producer at cluster.bootstrapServers, send, then:
/// let records = try cluster.records(topic: "events", partition: 0)
/// ```
public final class FakeKafkaCluster: Sendable {
    let core: ClusterCore
    private let brokers: [BrokerServer]
    private let isShutDown = Atomic<Bool>(false)

    /// Starts the brokers. Throws when a broker cannot listen or the configuration is invalid.
    public init(
        configuration: FakeKafkaConfiguration = FakeKafkaConfiguration(), logger: Logger = .silent
    )
        throws(FakeKafkaError)
    {
        guard (1...64).contains(configuration.brokerCount) else {
            throw .invalidArgument("brokerCount must be 1 to 64, not \(configuration.brokerCount)")
        }
        var settings = configuration
        settings.produceVersions = Self.clamp(settings.produceVersions, to: 3...12)
        settings.metadataVersions = Self.clamp(settings.metadataVersions, to: 1...12)
        settings.initProducerIdVersions = Self.clamp(settings.initProducerIdVersions, to: 0...5)
        settings.apiVersionsVersions = Self.clamp(settings.apiVersionsVersions, to: 0...4)
        let core = ClusterCore(
            state: ClusterState(configuration: settings, brokerPorts: []), logger: logger)
        var started: [BrokerServer] = []
        for nodeID in 1...Int32(settings.brokerCount) {
            do {
                started.append(try BrokerServer(nodeID: nodeID, core: core))
            } catch {
                core.stopping.store(true, ordering: .releasing)
                for broker in started { broker.join() }
                throw error
            }
        }
        let ports = started.map { Int32($0.port) }
        core.state.withLock { $0.brokerPorts = ports }
        self.core = core
        self.brokers = started
        logger.debug("fake Kafka cluster started", metadata: ["fake.ports": "\(ports)"])
    }

    deinit {
        shutdown()
    }

    private static func clamp(
        _ range: ClosedRange<Int16>, to limits: ClosedRange<Int16>
    ) -> ClosedRange<Int16> {
        range.clamped(to: limits)
    }

    /// Closes every listener and connection and joins every thread. Idempotent.
    public func shutdown() {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        core.stopping.store(true, ordering: .releasing)
        for broker in brokers { broker.join() }
        core.logger.debug("fake Kafka cluster stopped")
    }

    // MARK: Addresses

    /// Node ids, 1 through the broker count.
    public var brokerIDs: [Int32] { brokers.map(\.nodeID) }

    /// "127.0.0.1:PORT" of every broker, for a producer's bootstrap servers.
    public var bootstrapServers: [String] { brokers.map { "127.0.0.1:\($0.port)" } }

    /// Returns the port of broker `nodeID`.
    public func port(ofBroker nodeID: Int32) throws(FakeKafkaError) -> Int {
        try broker(nodeID).port
    }

    func broker(_ nodeID: Int32) throws(FakeKafkaError) -> BrokerServer {
        guard nodeID >= 1, Int(nodeID) <= brokers.count else {
            throw .unknownBroker(nodeID, count: brokers.count)
        }
        return brokers[Int(nodeID) - 1]
    }

    // MARK: Topics and leaders

    /// Creates a topic. Without `leaders` (one node id per partition, -1 for none), partition p
    /// is led by broker (p mod N) + 1. `maxMessageBytes` overrides the configuration's default.
    public func createTopic(
        _ name: String, partitions: Int32, maxMessageBytes: Int? = nil, leaders: [Int32]? = nil
    ) throws(FakeKafkaError) {
        try core.state.withLock { state throws(FakeKafkaError) in
            try state.createTopic(
                name, partitions: partitions, maxMessageBytes: maxMessageBytes, leaders: leaders)
        }
    }

    /// Moves a partition's leadership to `broker` and increments its leader epoch. Metadata
    /// shows the new leader at once; the old leader rejects Produce with NOT_LEADER_OR_FOLLOWER.
    /// `broker` -1 leaves the partition without a leader (LEADER_NOT_AVAILABLE in Metadata).
    public func moveLeader(topic: String, partition: Int32, to broker: Int32) throws(FakeKafkaError) {
        try core.state.withLock { state throws(FakeKafkaError) in
            try state.moveLeader(topic: topic, partition: partition, to: broker)
        }
    }

    /// Moves the partition's log start offset forward to `offset` and removes the batches that end
    /// before it, as Kafka's DeleteRecords or retention does. Produce responses carry the new log
    /// start offset. Producer state is kept: inject UNKNOWN_PRODUCER_ID to imitate a broker that
    /// dropped it with the removed batches.
    public func deleteRecords(topic: String, partition: Int32, before offset: Int64) throws(FakeKafkaError) {
        try core.state.withLock { state throws(FakeKafkaError) in
            try state.deleteRecords(topic: topic, partition: partition, before: offset)
        }
    }

    /// Returns the leader's node id (-1 for none) and the leader epoch of a partition.
    public func leader(
        topic: String, partition: Int32
    ) throws(FakeKafkaError) -> (broker: Int32, epoch: Int32) {
        let state = try core.state.withLock { state throws(FakeKafkaError) in
            try state.partitionState(topic: topic, partition: partition)
        }
        return (state.leader, state.leaderEpoch)
    }

    /// Partition count of a topic, or nil when it does not exist.
    public func partitionCount(topic: String) -> Int? {
        core.state.withLock { $0.topics[topic]?.partitions.count }
    }
}

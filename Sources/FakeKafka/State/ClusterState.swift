/// One partition: its leader, replicas and log.
struct PartitionState {
    /// Node id of the leader, or -1 when the partition has none.
    var leader: Int32
    var leaderEpoch: Int32 = 0
    var replicas: [Int32]
    var batches: [FakeKafkaBatch] = []
    var logEndOffset: Int64 = 0
    /// Offset of the first record kept; `FakeKafkaCluster.deleteRecords` moves it forward.
    var logStartOffset: Int64 = 0
}

struct TopicState {
    var name: String
    /// 16 random bytes, never all zero.
    var topicID: [UInt8]
    var maxMessageBytes: Int
    var partitions: [PartitionState]
}

/// The whole state of the fake cluster, guarded by one lock in `FakeKafkaCluster`. It contains no
/// sockets, so request handling can be tested as plain values.
struct ClusterState {
    var configuration: FakeKafkaConfiguration
    /// Port of each broker, indexed by node id - 1.
    var brokerPorts: [Int32]
    /// Topic names in creation order, for Metadata requests that ask for all topics.
    var topicOrder: [String] = []
    var topics: [String: TopicState] = [:]
    var producers: ProducerStateTable
    var faults: [FakeKafkaFault] = []
    var requestLog: [FakeKafkaRequest] = []
    /// Brokers that read requests but send no response.
    var blackholedBrokers: Set<Int32> = []
    /// Partition ids that Metadata lists for a topic in place of 0 to N-1, in this order.
    var metadataPartitionIDs: [String: [Int32]] = [:]
    /// Malformed input and connection failures, in order: what was wrong and what the fake did.
    var problems: [String] = []
    /// Connections accepted by each broker since the cluster started.
    var acceptedConnections: [Int32: Int] = [:]
    /// Host that Metadata names for a broker instead of 127.0.0.1.
    var advertisedHosts: [Int32: String] = [:]
    /// Brokers left out of the broker list of Metadata responses; they keep serving.
    var unlistedBrokers: Set<Int32> = []

    init(configuration: FakeKafkaConfiguration, brokerPorts: [Int32]) {
        self.configuration = configuration
        self.brokerPorts = brokerPorts
        self.producers = ProducerStateTable(firstProducerID: configuration.firstProducerID)
    }

    var brokerIDs: [Int32] { (1...Int32(brokerPorts.count)).map { $0 } }

    var endpoints: [BrokerEndpoint] {
        brokerPorts.enumerated().compactMap {
            let nodeID = Int32($0.offset + 1)
            guard !unlistedBrokers.contains(nodeID) else { return nil }
            let host = advertisedHosts[nodeID] ?? "127.0.0.1"
            return BrokerEndpoint(nodeID: nodeID, host: host, port: $0.element)
        }
    }

    func endpoint(of broker: Int32) -> BrokerEndpoint? {
        guard broker >= 1, Int(broker) <= brokerPorts.count else { return nil }
        return BrokerEndpoint(
            nodeID: broker, host: advertisedHosts[broker] ?? "127.0.0.1", port: brokerPorts[Int(broker) - 1])
    }

    /// Creates a topic. Without `leaders`, partition p is led by broker (p mod N) + 1, which
    /// spreads leadership over the brokers. Replicas are the leader and the next brokers, up to 3.
    mutating func createTopic(
        _ name: String, partitions: Int32, maxMessageBytes: Int?, leaders: [Int32]?
    ) throws(FakeKafkaError) {
        guard topics[name] == nil else { throw .topicExists(name) }
        guard partitions > 0 else {
            throw .invalidArgument("topic \"\(name)\" needs at least one partition, not \(partitions)")
        }
        guard !name.isEmpty, name.utf8.count <= 249 else {
            throw .invalidArgument("topic name must have 1 to 249 bytes, not \(name.utf8.count)")
        }
        let brokerCount = Int32(brokerPorts.count)
        if let leaders {
            guard leaders.count == Int(partitions) else {
                throw .invalidArgument(
                    "topic \"\(name)\" has \(partitions) partitions but \(leaders.count) leaders")
            }
            for leader in leaders where leader != -1 && (leader < 1 || leader > brokerCount) {
                throw .unknownBroker(leader, count: Int(brokerCount))
            }
        }
        var partitionStates: [PartitionState] = []
        for index in 0..<partitions {
            let leader = leaders?[Int(index)] ?? (index % brokerCount) + 1
            let first = leader == -1 ? (index % brokerCount) + 1 : leader
            let replicas = (0..<min(brokerCount, 3)).map { (first - 1 + $0) % brokerCount + 1 }
            partitionStates.append(PartitionState(leader: leader, replicas: replicas))
        }
        var topicID = (0..<16).map { _ in UInt8.random(in: 0...255) }
        topicID[0] |= 1
        topics[name] = TopicState(
            name: name, topicID: topicID,
            maxMessageBytes: maxMessageBytes ?? configuration.defaultMaxMessageBytes,
            partitions: partitionStates)
        topicOrder.append(name)
    }

    /// Moves leadership of a partition and increments its leader epoch. `broker` -1 leaves the
    /// partition without a leader.
    mutating func moveLeader(topic: String, partition: Int32, to broker: Int32) throws(FakeKafkaError) {
        guard var state = topics[topic] else { throw .unknownTopic(topic) }
        guard partition >= 0, Int(partition) < state.partitions.count else {
            throw .unknownPartition(topic, partition, count: state.partitions.count)
        }
        guard broker == -1 || endpoint(of: broker) != nil else {
            throw .unknownBroker(broker, count: brokerPorts.count)
        }
        state.partitions[Int(partition)].leader = broker
        state.partitions[Int(partition)].leaderEpoch += 1
        topics[topic] = state
    }

    /// Moves the log start offset forward to `offset` (at most the log end offset) and removes the
    /// batches that end before it, as Kafka's DeleteRecords or retention does.
    mutating func deleteRecords(topic: String, partition: Int32, before offset: Int64) throws(FakeKafkaError) {
        guard var state = topics[topic] else { throw .unknownTopic(topic) }
        guard partition >= 0, Int(partition) < state.partitions.count else {
            throw .unknownPartition(topic, partition, count: state.partitions.count)
        }
        var partitionState = state.partitions[Int(partition)]
        let start = min(max(offset, partitionState.logStartOffset), partitionState.logEndOffset)
        partitionState.logStartOffset = start
        partitionState.batches.removeAll { batch in
            guard let base = batch.baseOffset else { return false }
            return base + Int64(batch.recordCount ?? 0) <= start
        }
        state.partitions[Int(partition)] = partitionState
        topics[topic] = state
    }

    func partitionState(topic: String, partition: Int32) throws(FakeKafkaError) -> PartitionState {
        guard let state = topics[topic] else { throw .unknownTopic(topic) }
        guard partition >= 0, Int(partition) < state.partitions.count else {
            throw .unknownPartition(topic, partition, count: state.partitions.count)
        }
        return state.partitions[Int(partition)]
    }

    /// Finds the first fault matching a request and consumes one use of it. Returns nil when no
    /// fault applies (none matches, or the matching one is still skipping requests).
    mutating func takeFault(
        apiKey: Int16, context: ConnectionContext, partitions: [(topic: String, partition: Int32)]?
    ) -> FakeKafkaFault? {
        for index in faults.indices {
            let fault = faults[index]
            if let key = fault.apiKey, key.rawValue != apiKey { continue }
            if let only = fault.broker, only != context.broker { continue }
            if let number = fault.requestNumberOnConnection, number != context.sequence { continue }
            if fault.hasPartitionFilter {
                // Requests without partitions (Metadata for all topics, ApiVersions) never match
                // a fault that names a topic or partition.
                guard let partitions,
                    partitions.contains(where: { fault.covers(topic: $0.topic, partition: $0.partition) })
                else { continue }
            }
            if fault.skip > 0 {
                faults[index].skip -= 1
                return nil
            }
            faults[index].count -= 1
            if faults[index].count <= 0 {
                faults.remove(at: index)
            }
            return fault
        }
        return nil
    }
}

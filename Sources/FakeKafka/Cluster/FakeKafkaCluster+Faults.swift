extension FakeKafkaCluster {
    /// Adds a fault applied to the next matching requests (see `FakeKafkaFault`).
    public func inject(_ fault: FakeKafkaFault) {
        core.state.withLock { $0.faults.append(fault) }
    }

    /// Removes every fault not yet used up.
    public func removeAllFaults() {
        core.state.withLock { $0.faults.removeAll() }
    }

    /// Faults not yet used up, in the order they apply.
    public var pendingFaults: [FakeKafkaFault] {
        core.state.withLock { $0.faults }
    }

    /// Stops responding to every request on `broker` (nil = every broker): requests are read and
    /// logged but get no response, and connections stay open, like a network that drops packets.
    public func startBlackhole(broker: Int32? = nil) {
        let targets = broker.map { [$0] } ?? brokerIDs
        core.state.withLock { $0.blackholedBrokers.formUnion(targets) }
    }

    /// Responds to requests again. Requests read during the blackhole never get a response.
    public func stopBlackhole(broker: Int32? = nil) {
        let targets = broker.map { [$0] } ?? brokerIDs
        core.state.withLock { $0.blackholedBrokers.subtract(targets) }
    }

    /// Names `host` (nil: 127.0.0.1) as the address of `broker` in Metadata from now on, with the
    /// broker's own port. The broker still listens on 127.0.0.1 only, so a client reaches it under
    /// another name only through a resolver that maps that name to 127.0.0.1.
    public func advertise(broker: Int32, host: String?) {
        core.state.withLock { $0.advertisedHosts[broker] = host }
    }

    /// Leaves `broker` out of the broker list of Metadata responses (or lists it again when
    /// `listed` is true). The broker keeps serving the connections it has and accepting new ones.
    public func listInMetadata(broker: Int32, _ listed: Bool) {
        core.state.withLock { state in
            if listed {
                state.unlistedBrokers.remove(broker)
            } else {
                state.unlistedBrokers.insert(broker)
            }
        }
    }

    /// Closes a broker's listener, so new connections are refused (ECONNREFUSED). Accepted
    /// connections keep working; connections still in the listen backlog are reset by the
    /// kernel. Waits until the listener is closed.
    public func refuseConnections(broker nodeID: Int32) throws(FakeKafkaError) {
        guard try broker(nodeID).setListening(false) else {
            throw .invalidArgument("broker \(nodeID) did not close its listener within 2 seconds")
        }
    }

    /// Reopens a broker's listener on the same port. Waits until it listens again.
    public func acceptConnections(broker nodeID: Int32) throws(FakeKafkaError) {
        guard try broker(nodeID).setListening(true) else {
            throw .invalidArgument(
                "broker \(nodeID) could not listen on its port again within 2 seconds; "
                    + "another process may hold it")
        }
    }

    /// Resets every open connection of `broker` (nil = every broker) with SO_LINGER 0 and close,
    /// so the client sees ECONNRESET. Returns the number of connections reset. Each connection
    /// thread resets its socket within 20 ms of this call.
    @discardableResult
    public func resetConnections(broker nodeID: Int32? = nil) throws(FakeKafkaError) -> Int {
        if let nodeID {
            return try broker(nodeID).resetConnections()
        }
        var total = 0
        for id in brokerIDs { total += try broker(id).resetConnections() }
        return total
    }

    /// Makes Metadata list the topic's partitions with these ids, in this order, so a test can
    /// send a repeated id or leave a gap. Ids outside the topic are left out, and `nil` restores
    /// the normal list (0 to N-1). Produce is unaffected.
    public func setMetadataPartitionIDs(topic: String, _ ids: [Int32]?) {
        core.state.withLock { $0.metadataPartitionIDs[topic] = ids }
    }
}

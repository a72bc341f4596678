import KafkaWire
import SocketTransport

extension ProducerSender {
    // MARK: Connecting

    /// Starts a non-blocking connect to `endpoint` for `nodeID` unless a connection exists, a
    /// connect runs or the reconnect backoff runs. Returns the connection once it is connected
    /// (ready or negotiating), nil otherwise. A host name is first resolved on a resolver thread
    /// (`applyResolutions`). The connect completes in `continueConnect` when the poller reports
    /// the descriptor, or fails in `checkConnectDeadlines`.
    @discardableResult
    func connectIfNeeded(
        nodeID: Int32, endpoint: Endpoint, now: ContinuousClock.Instant, deferred: inout DeferredCompletions
    ) -> BrokerConnection? {
        let connection: BrokerConnection
        if let existing = connections[nodeID], existing.endpoint == endpoint {
            connection = existing
        } else {
            if let stale = connections[nodeID] {
                fail(stale, reason: "broker \(nodeID) moved to \(endpoint)", ambiguous: true, now: now,
                     deferred: &deferred)
                connectionsByToken.removeValue(forKey: stale.token)
            }
            connection = BrokerConnection(
                nodeID: nodeID, endpoint: endpoint, token: makeToken(),
                backoff: Backoff(initial: configuration.retryBackoff, maximum: configuration.retryBackoffMaximum))
            connections[nodeID] = connection
            connectionsByToken[connection.token] = connection
        }
        if connection.socket != nil { return connection }
        if connection.pendingConnect != nil { return nil }
        if let reconnectAt = connection.reconnectAt, reconnectAt > now { return nil }
        do throws(TransportError) {
            if let addresses = try SocketAddress.resolveWithoutLookup(endpoint) {
                try startConnect(connection, addresses: addresses, now: now)
            } else if case .tcp(let host, let port) = endpoint {
                let ticket = resolverPool.submit(host: host, port: port)
                let deadline = now + configuration.connectTimeout
                connection.beginResolving(ticket: ticket, now: now, deadline: deadline)
                logger.debug("kafka resolve started",
                             metadata: ["kafka.node": "\(nodeID)", "kafka.host": "\(host)"])
            }
        } catch {
            connectFailed(connection, error: error, now: now)
        }
        return nil
    }

    /// Starts the non-blocking connect to resolved addresses and registers it with the poller.
    private func startConnect(
        _ connection: BrokerConnection, addresses: [SocketAddress], now: ContinuousClock.Instant
    ) throws(TransportError) {
        let pending = try StreamSocket.startConnect(to: connection.endpoint, addresses: addresses)
        connection.beginConnecting(pending, now: now, deadline: now + configuration.connectTimeout)
        try shared.poller.register(fileDescriptor: pending.fileDescriptor, token: connection.token,
                                   interest: .writable)
        logger.debug("kafka connect started", metadata: [
            "kafka.node": "\(connection.nodeID)", "kafka.endpoint": "\(connection.endpoint)",
        ])
    }

    /// Starts the connects whose host names the resolver threads resolved, and fails those whose
    /// lookup failed. A result for a connection that gave up or closed meanwhile is dropped.
    func applyResolutions(now: ContinuousClock.Instant) {
        for completion in resolverPool.takeCompleted() {
            guard let connection = connections.values.first(where: { $0.resolveTicket == completion.ticket })
            else { continue }
            connection.finishResolving()
            switch completion.result {
            case .success(let addresses):
                do throws(TransportError) {
                    try startConnect(connection, addresses: addresses, now: now)
                } catch {
                    connectFailed(connection, error: error, now: now)
                }
            case .failure(let error):
                // The system resolver's message names the host, but an injected one may not.
                var failure = error
                if !error.description.contains(completion.host) {
                    let message = "resolve \(completion.host) failed: \(error)"
                    failure = TransportError(error.code, message, errno: error.errno)
                }
                connectFailed(connection, error: failure, now: now)
            }
        }
    }

    /// Completes a pending connect after the poller reported its descriptor. A connected socket
    /// is registered for reading and ApiVersions is sent on it. When the address failed and the
    /// next one is being tried, that address gets its own connect deadline.
    func continueConnect(
        _ connection: BrokerConnection, now: ContinuousClock.Instant, deferred: inout DeferredCompletions
    ) {
        guard let pending = connection.pendingConnect else { return }
        let attempt = pending.attempt
        // A failed address closes its descriptor and the next one may reuse the number, so the
        // descriptor is deregistered first and the current one registered again below.
        shared.poller.deregister(fileDescriptor: pending.fileDescriptor)
        do throws(TransportError) {
            guard let socket = try pending.finishConnect() else {
                if pending.attempt != attempt {
                    connection.connectDeadline = now + configuration.connectTimeout
                }
                try shared.poller.register(fileDescriptor: pending.fileDescriptor, token: connection.token,
                                           interest: .writable)
                return
            }
            connection.attach(socket)
            try shared.poller.register(fileDescriptor: socket.fileDescriptor, token: connection.token,
                                       interest: .readable)
        } catch {
            connectFailed(connection, error: error, now: now)
            return
        }
        logger.debug("kafka connection opened", metadata: [
            "kafka.node": "\(connection.nodeID)", "kafka.endpoint": "\(connection.endpoint)",
        ])
        sendApiVersions(on: connection, version: APIKey.apiVersions.supportedVersions.upperBound, now: now,
                        deferred: &deferred)
    }

    /// Applies finished lookups, fails lookups that passed connectTimeout, and gives up on
    /// addresses whose connect passed connectTimeout, moving to the next address of the endpoint
    /// or failing the connect when none is left.
    func checkConnectDeadlines(now: ContinuousClock.Instant) {
        applyResolutions(now: now)
        if !retiring.isEmpty {
            closeIdleRetiredConnections()
        }
        for connection in Array(connections.values) {
            if let ticket = connection.resolveTicket, let deadline = connection.connectDeadline,
               deadline <= now {
                resolverPool.cancel(ticket)
                guard case .tcp(let host, _) = connection.endpoint else { continue }
                let error = TransportError(
                    .connectTimedOut,
                    "resolve \(host) timed out after connectTimeout \(configuration.connectTimeout)")
                connectFailed(connection, error: error, now: now)
                continue
            }
            guard let pending = connection.pendingConnect, let deadline = connection.connectDeadline,
                  deadline <= now
            else { continue }
            shared.poller.deregister(fileDescriptor: pending.fileDescriptor)
            do throws(TransportError) {
                try pending.timeOut(after: configuration.connectTimeout)
                connection.connectDeadline = now + configuration.connectTimeout
                try shared.poller.register(fileDescriptor: pending.fileDescriptor, token: connection.token,
                                           interest: .writable)
            } catch {
                connectFailed(connection, error: error, now: now)
            }
        }
    }

    /// Closes what a failed connect opened and schedules the next attempt with backoff. Nothing
    /// is in flight on a connection that never connected, so no batch is affected here.
    func connectFailed(_ connection: BrokerConnection, error: TransportError, now: ContinuousClock.Instant) {
        if let descriptor = connection.registeredDescriptor {
            shared.poller.deregister(fileDescriptor: descriptor)
        }
        if let ticket = connection.resolveTicket {
            resolverPool.cancel(ticket)
        }
        _ = connection.disconnect()
        connection.reconnectAt = now + connection.reconnectBackoff.next(using: &random)
        logger.debug("kafka connect failed", metadata: ["kafka.node": "\(connection.nodeID)", "error": "\(error)"])
        shared.state.withLock { state in
            state.metadata.requestRefresh()
            state.lastConnectionError = "\(error)"
        }
    }

    /// Returns the ready connection with the fewest requests in flight, for Metadata or
    /// InitProducerId, or starts a connect and returns `nil` when none is ready.
    ///
    /// Candidates are the known brokers by node id, then the bootstrap servers. A candidate in
    /// its reconnect backoff is skipped, so a failed connect moves on to the next one at once.
    /// While a connect to a candidate is pending, a connect to the next one starts after
    /// `connectAttemptDelay`, so a broker that drops SYNs costs that delay, not connectTimeout.
    func anyReadyConnection(now: ContinuousClock.Instant, deferred: inout DeferredCompletions) -> BrokerConnection? {
        var ready: BrokerConnection?
        var lastStart: ContinuousClock.Instant?
        for connection in connections.values {
            if connection.isReady {
                guard connection.inFlight.count < maxInFlight else { continue }
                if ready.map({ connection.inFlight.count < $0.inFlight.count }) ?? true { ready = connection }
            } else if connection.isOpenOrConnecting, let started = connection.connectStartedAt {
                lastStart = lastStart.map { max($0, started) } ?? started
            }
        }
        if let ready { return ready }
        if connections.values.contains(where: \.isReady) { return nil }
        if let lastStart, now < lastStart + Self.connectAttemptDelay { return nil }
        let brokers = shared.state.withLock { $0.metadata.brokers }
        var candidates = brokers.sorted { $0.key < $1.key }.map { (nodeID: $0.key, endpoint: Endpoint.tcp(
            host: $0.value.host, port: $0.value.port)) }
        for (index, endpoint) in bootstrap.enumerated() {
            candidates.append((Int32(-1 - index), endpoint))
        }
        // A bootstrap server is often a known broker too, and one connect to an address is enough.
        let busy = Set(connections.values.filter(\.isOpenOrConnecting).map(\.endpoint))
        for candidate in candidates where !busy.contains(candidate.endpoint) {
            connectIfNeeded(nodeID: candidate.nodeID, endpoint: candidate.endpoint, now: now,
                            deferred: &deferred)
            if connections[candidate.nodeID]?.isOpenOrConnecting == true { return nil }
        }
        return nil
    }

    /// Wait before a connect to a further broker starts while earlier ones are pending: 250 ms,
    /// the default Connection Attempt Delay that RFC 8305 (Happy Eyeballs v2), section 5, recommends.
    static let connectAttemptDelay: Duration = .milliseconds(250)
}

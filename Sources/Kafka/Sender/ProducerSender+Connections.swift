import KafkaWire
import SocketTransport

extension ProducerSender {
    // MARK: Sending

    func send(
        _ chunks: [[UInt8]], kind: BrokerConnection.RequestKind, correlationID: Int32, on connection: BrokerConnection,
        expectsResponse: Bool = true, now: ContinuousClock.Instant, deferred: inout DeferredCompletions
    ) {
        let request = BrokerConnection.InFlightRequest(
            correlationID: correlationID, kind: kind, deadline: now + configuration.requestTimeout)
        connection.enqueue(chunks, request: request, expectsResponse: expectsResponse)
        writePending(on: connection, now: now, deferred: &deferred)
    }

    func sendApiVersions(
        on connection: BrokerConnection, version: Int16, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions
    ) {
        let id = connection.makeCorrelationID()
        do {
            let bytes = try ApiVersionsExchange.request(version: version, correlationID: id,
                                                        clientID: configuration.clientID)
            connection.phase = .negotiating(version: version)
            send([bytes], kind: .apiVersions(version: version), correlationID: id, on: connection, now: now,
                 deferred: &deferred)
        } catch {
            fail(connection, reason: "encoding ApiVersions failed: \(error)", ambiguous: false, now: now,
                 deferred: &deferred)
        }
    }

    func sendMetadata(topics: [String], now: ContinuousClock.Instant, deferred: inout DeferredCompletions) {
        guard let connection = anyReadyConnection(now: now, deferred: &deferred),
              let version = connection.metadataVersion
        else { return }
        let id = connection.makeCorrelationID()
        do {
            let bytes = try MetadataExchange.request(version: version, correlationID: id,
                                                     clientID: configuration.clientID, topics: topics)
            shared.state.withLock { $0.metadata.markRequestSent(now: now) }
            logger.trace("kafka metadata request", metadata: ["kafka.node": "\(connection.nodeID)"])
            send([bytes], kind: .metadata(version: version), correlationID: id, on: connection, now: now,
                 deferred: &deferred)
        } catch {
            logger.warning("kafka metadata request could not be encoded", metadata: ["error": "\(error)"])
        }
    }

    func sendInitProducerID(now: ContinuousClock.Instant, deferred: inout DeferredCompletions) {
        guard let connection = anyReadyConnection(now: now, deferred: &deferred) else { return }
        guard let version = connection.initProducerIDVersion else {
            shared.state.withLock { state in
                idempotenceUnavailable("broker \(connection.nodeID) does not support InitProducerId", code: nil,
                                       state: &state, deferred: &deferred)
            }
            return
        }
        let id = connection.makeCorrelationID()
        do {
            let bumping = shared.state.withLock { $0.idempotence.bumpFrom }
            let bytes = try InitProducerIDExchange.request(version: version, correlationID: id,
                                                           clientID: configuration.clientID, bumping: bumping)
            shared.state.withLock { $0.idempotence.markRequesting() }
            send([bytes], kind: .initProducerID(version: version), correlationID: id, on: connection, now: now,
                 deferred: &deferred)
        } catch {
            logger.warning("kafka InitProducerId could not be encoded", metadata: ["error": "\(error)"])
        }
    }

    func sendProduce(
        nodeID: Int32, batches: [ProducerBatch], now: ContinuousClock.Instant, deferred: inout DeferredCompletions
    ) {
        guard let connection = connections[nodeID], let version = connection.produceVersion else {
            shared.state.withLock { state in
                for batch in batches { retryOrFail(batch, state: &state, now: now, deferred: &deferred,
                                                   cause: "no connection to broker \(nodeID)", ambiguous: false) }
            }
            return
        }
        for batch in batches { batch.attempts += 1 }
        let id = connection.makeCorrelationID()
        let timeout = Int32(clamping: configuration.requestTimeout.components.seconds * 1000
            + configuration.requestTimeout.components.attoseconds / 1_000_000_000_000_000)
        do {
            let chunks = try ProduceExchange.request(
                version: version, correlationID: id, clientID: configuration.clientID,
                acks: configuration.acks.wireValue, timeoutMs: timeout, batches: batches)
            logger.trace("kafka produce request", metadata: [
                "kafka.node": "\(nodeID)", "kafka.batches": "\(batches.count)",
                "kafka.records": "\(batches.reduce(0) { $0 + Int($1.recordCount) })",
                "kafka.bytes": "\(chunks.reduce(0) { $0 + $1.count })",
                "kafka.in_flight": "\(connection.inFlightCount)",
            ])
            send(chunks, kind: .produce(version: version, batches: batches), correlationID: id, on: connection,
                 expectsResponse: configuration.acks != .none, now: now, deferred: &deferred)
        } catch {
            shared.state.withLock { state in
                for batch in batches {
                    state.finish(batch, outcome: .failed(.protocolError("encoding Produce failed: \(error)")),
                                 wasInFlight: true, into: &deferred)
                }
            }
        }
    }

    /// Writes queued bytes; completes acks=0 batches once written; updates the poll interest.
    func writePending(
        on connection: BrokerConnection, now: ContinuousClock.Instant, deferred: inout DeferredCompletions
    ) {
        guard let socket = connection.socket else { return }
        do {
            let written = try connection.flushWrites()
            if !written.isEmpty {
                shared.state.withLock { state in
                    for batch in written {
                        state.finish(batch, outcome: .succeeded(baseOffset: -1, logAppendTime: -1), wasInFlight: true,
                                     into: &deferred)
                    }
                }
            }
            let wantsWritable = connection.pendingWriteBytes > 0
            if wantsWritable != connection.wantsWritable {
                try shared.poller.modify(fileDescriptor: socket.fileDescriptor, token: connection.token,
                                         interest: connection.interest)
                connection.setWantsWritable(wantsWritable)
            }
        } catch {
            fail(connection, reason: "write to broker \(connection.nodeID) failed: \(error)", ambiguous: true,
                 now: now, deferred: &deferred)
        }
    }

    // MARK: Failures

    /// Closes the connection; in-flight batches are retried or failed, other requests redone later.
    func fail(
        _ connection: BrokerConnection, reason: String, ambiguous: Bool, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions
    ) {
        if let descriptor = connection.registeredDescriptor {
            shared.poller.deregister(fileDescriptor: descriptor)
        }
        if let ticket = connection.resolveTicket {
            resolverPool.cancel(ticket)
        }
        let (requests, unwritten) = connection.disconnect()
        connection.reconnectAt = now + connection.reconnectBackoff.next(using: &random)
        logger.debug("kafka connection closed", metadata: ["kafka.node": "\(connection.nodeID)", "reason": "\(reason)"])
        shared.state.withLock { state in
            state.metadata.requestRefresh()
            state.lastConnectionError = reason
            for request in requests {
                switch request.kind {
                case .produce(_, let batches):
                    for batch in batches {
                        retryOrFail(batch, state: &state, now: now, deferred: &deferred, cause: reason,
                                    ambiguous: ambiguous)
                    }
                case .metadata:
                    state.metadata.markRequestFailed()
                case .initProducerID:
                    state.idempotence.requestFailed(retryAt: now + configuration.retryBackoff)
                case .apiVersions:
                    break
                }
            }
            for batch in unwritten {
                retryOrFail(batch, state: &state, now: now, deferred: &deferred, cause: reason, ambiguous: ambiguous)
            }
        }
    }

    /// Requeues an in-flight batch with backoff, or fails it once its delivery timeout passed.
    func retryOrFail(
        _ batch: ProducerBatch, state: inout ProducerState, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions, cause: String, ambiguous: Bool
    ) {
        if ambiguous { batch.mayHavePersisted = true }
        let deadline = batch.createdAt + configuration.deliveryTimeout
        if deadline <= now || state.isClosing && state.closeDeadline.map({ $0 <= now }) ?? true {
            let error = KafkaProducerError.timedOut(
                "delivery timed out: \(batch.recordCount) records for \(batch.topic)-\(batch.partition) not "
                    + "acknowledged within deliveryTimeout \(configuration.deliveryTimeout); last error: \(cause)",
                mayHavePersisted: batch.mayHavePersisted)
            state.finish(batch, outcome: .failed(error), wasInFlight: true, into: &deferred)
            requestBumpAfterFailure(of: batch, state: &state)
            return
        }
        batch.lastFailure = cause
        let backoff = RetryBackoff(initial: configuration.retryBackoff, maximum: configuration.retryBackoffMaximum)
        let retryAt = backoff.retryTime(afterAttempts: batch.attempts, now: now, deadline: deadline, using: &random)
        state.accumulator.requeue(batch, retryAt: retryAt)
        // The sender sleeps until plannedWake, which the current plan may have set past retryAt.
        _ = state.needsWake(by: retryAt)
    }

    /// Closes connections whose oldest request passed requestTimeout, or that carry a batch whose
    /// delivery timeout passed, because a late response can no longer be used.
    func checkInFlightTimeouts(now: ContinuousClock.Instant, deferred: inout DeferredCompletions) {
        for connection in Array(connections.values) + retiring.values where connection.hasInFlight {
            if let deadline = connection.oldestDeadline, deadline <= now {
                fail(connection, reason: "request timed out after requestTimeout \(configuration.requestTimeout)",
                     ambiguous: true, now: now, deferred: &deferred)
                continue
            }
            let expired = connection.inFlightRequests.contains { request in
                request.produceBatches.contains { $0.createdAt + configuration.deliveryTimeout <= now }
            }
            if expired {
                fail(connection, reason: "no response from broker \(connection.nodeID) within deliveryTimeout",
                     ambiguous: true, now: now, deferred: &deferred)
            }
        }
    }

    // MARK: Retiring

    /// Takes connections out of use when new Metadata lists their broker at another address, or
    /// no longer lists it. A connection with requests in flight or bytes to write keeps running
    /// until they finish or fail, and `closeIdleRetiredConnections` closes it then. The others
    /// close now. The next request for a moved broker opens a connection to its new address.
    func retireStaleConnections(brokers: [Int32: MetadataCache.Broker]) {
        // An empty list keeps the cached brokers (see MetadataCache.update), so nothing is stale.
        guard !brokers.isEmpty else { return }
        for (nodeID, connection) in connections where nodeID >= 0 {
            let listed = brokers[nodeID].map { Endpoint.tcp(host: $0.host, port: $0.port) }
            guard listed != connection.endpoint else { continue }
            connections.removeValue(forKey: nodeID)
            logger.debug("kafka connection retired", metadata: [
                "kafka.node": "\(nodeID)", "kafka.endpoint": "\(connection.endpoint)",
                "reason": listed.map { "broker moved to \($0)" } ?? "broker left the metadata",
            ])
            retiring[connection.token] = connection
        }
        closeIdleRetiredConnections()
    }

    /// Closes retired connections that have nothing in flight and nothing left to write.
    func closeIdleRetiredConnections() {
        for (token, connection) in retiring
        where !connection.hasInFlight && connection.pendingWriteBytes == 0 {
            if let descriptor = connection.registeredDescriptor {
                shared.poller.deregister(fileDescriptor: descriptor)
            }
            if let ticket = connection.resolveTicket {
                resolverPool.cancel(ticket)
            }
            _ = connection.disconnect()
            retiring.removeValue(forKey: token)
            connectionsByToken.removeValue(forKey: token)
            logger.debug("kafka connection closed", metadata: [
                "kafka.node": "\(connection.nodeID)", "reason": "retired with no request in flight",
            ])
        }
    }
}

import KafkaWire
import SocketTransport

extension ProducerSender {
    // MARK: Events

    func handle(_ event: Poller.Event, on connection: BrokerConnection, deferred: inout DeferredCompletions) {
        let now = ContinuousClock.now
        if connection.pendingConnect != nil {
            continueConnect(connection, now: now, deferred: &deferred)
            return
        }
        if event.writable {
            writePending(on: connection, now: now, deferred: &deferred)
        }
        if event.readable || event.hangup || event.error {
            readAvailable(on: connection, now: now, deferred: &deferred)
        }
    }

    private func readAvailable(on connection: BrokerConnection, now: ContinuousClock.Instant,
                               deferred: inout DeferredCompletions) {
        while let socket = connection.socket {
            let result: StreamSocket.ReadResult
            do {
                result = try readChunk.withUnsafeMutableBytes { buffer throws(TransportError) in
                    try socket.read(into: buffer)
                }
            } catch {
                fail(connection, reason: "read from broker \(connection.nodeID) failed: \(error)", ambiguous: true,
                     now: now, deferred: &deferred)
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .closed:
                // A bootstrap connection's node id is negative, so the address identifies the broker.
                let reason = "broker \(connection.nodeID) at \(connection.endpoint) closed the connection"
                fail(connection, reason: reason, ambiguous: true, now: now, deferred: &deferred)
                return
            case .bytes(let count):
                connection.frames.append(readChunk[0..<count])
                do {
                    while connection.socket != nil, let frame = try connection.frames.nextFrame() {
                        handleResponse(frame, on: connection, now: now, deferred: &deferred)
                    }
                } catch {
                    fail(connection, reason: "invalid frame from broker \(connection.nodeID): \(error)",
                         ambiguous: true, now: now, deferred: &deferred)
                    return
                }
            }
        }
    }

    private func handleResponse(
        _ frame: [UInt8], on connection: BrokerConnection, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions
    ) {
        guard let request = connection.popInFlight() else {
            fail(connection, reason: "response from broker \(connection.nodeID) with no request in flight",
                 ambiguous: true, now: now, deferred: &deferred)
            return
        }
        let (api, version): (APIKey, Int16) = switch request.kind {
        case .apiVersions(let version): (.apiVersions, version)
        case .metadata(let version): (.metadata, version)
        case .initProducerID(let version): (.initProducerID, version)
        case .produce(let version, _): (.produce, version)
        }
        do {
            // Responses come in request order on a connection, so the correlation id is checked
            // against the oldest request before the body is used.
            let correlationID = try ResponseHeader.peekCorrelationId(frame: frame)
            guard correlationID == request.correlationID else {
                // Put the request back so `fail` retries its batches.
                connection.requeueFront(request)
                fail(connection, reason: "broker \(connection.nodeID) sent correlation id \(correlationID), "
                     + "expected \(request.correlationID)", ambiguous: true, now: now, deferred: &deferred)
                return
            }
            switch request.kind {
            case .apiVersions(let version):
                let (_, outcome) = try ApiVersionsExchange.decode(frame: frame, version: version)
                handleApiVersions(outcome, on: connection, now: now, deferred: &deferred)
            case .metadata(let version):
                let (_, response) = try MetadataExchange.decode(frame: frame, version: version)
                handleMetadata(response, from: connection, now: now, deferred: &deferred)
            case .initProducerID(let version):
                let (_, response) = try InitProducerIDExchange.decode(frame: frame, version: version)
                handleInitProducerID(response, version: version, now: now, deferred: &deferred)
            case .produce(let version, let batches):
                let (_, response) = try ProduceExchange.decode(frame: frame, version: version)
                handleProduce(response, batches: batches, node: connection.nodeID, now: now, deferred: &deferred)
            }
        } catch {
            connection.requeueFront(request)
            fail(connection, reason: "invalid \(api.name) v\(version) response from broker "
                 + "\(connection.nodeID): \(error)", ambiguous: true, now: now, deferred: &deferred)
        }
    }

    // MARK: ApiVersions, Metadata, InitProducerId

    private func handleApiVersions(
        _ outcome: ApiVersionsExchange.Outcome, on connection: BrokerConnection, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions
    ) {
        switch outcome {
        case .retry(let version):
            logger.debug("kafka ApiVersions retried at a lower version",
                         metadata: ["kafka.node": "\(connection.nodeID)", "kafka.version": "\(version)"])
            sendApiVersions(on: connection, version: version, now: now, deferred: &deferred)
        case .failed(let code):
            fail(connection, reason: "ApiVersions failed: \(code)", ambiguous: false, now: now, deferred: &deferred)
        case .versions(let versions):
            connection.versions = versions
            connection.produceVersion = ApiVersionsExchange.choose(.produce, from: versions)
            connection.metadataVersion = ApiVersionsExchange.choose(.metadata, from: versions)
            connection.initProducerIDVersion = ApiVersionsExchange.choose(.initProducerID, from: versions)
            connection.phase = .ready
            connection.reconnectBackoff.reset()
            if connection.produceVersion == nil && warningLimiter.admit() != nil {
                logger.warning("kafka broker supports no Produce version from 3 to 12", metadata: [
                    "kafka.node": "\(connection.nodeID)",
                    "kafka.versions": "\(versions[APIKey.produce.rawValue].map { "\($0)" } ?? "none")",
                ])
            }
        }
    }

    private func handleMetadata(
        _ response: MetadataExchange.Response, from connection: BrokerConnection, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions
    ) {
        shared.state.withLock { state in
            state.metadata.update(brokers: response.brokers, topics: response.topics,
                                  invalid: response.invalidTopics, now: now)
            state.resumeMetadataWaiters(into: &deferred)
        }
        for (topic, reason) in response.invalidTopics.sorted(by: { $0.key < $1.key }) {
            guard let suppressed = warningLimiter.admit() else { break }
            logger.warning("kafka metadata for a topic ignored", metadata: [
                "kafka.topic": "\(topic)", "kafka.node": "\(connection.nodeID)", "reason": "\(reason)",
                "kafka.suppressed": "\(suppressed)",
            ])
        }
        logger.trace("kafka metadata updated", metadata: ["kafka.brokers": "\(response.brokers.count)"])
        retireStaleConnections(brokers: response.brokers)
        adoptBootstrapConnections(brokers: response.brokers)
    }

    /// Gives a bootstrap connection the node id of the broker at the same address, so each broker
    /// has one connection. Idle bootstrap connections that match no broker are closed.
    private func adoptBootstrapConnections(brokers: [Int32: MetadataCache.Broker]) {
        for (nodeID, connection) in connections where nodeID < 0 {
            let match = brokers.first { _, broker in
                Endpoint.tcp(host: broker.host, port: broker.port) == connection.endpoint
            }
            if let (brokerID, _) = match, connections[brokerID] == nil {
                connections.removeValue(forKey: nodeID)
                connection.nodeID = brokerID
                connections[brokerID] = connection
            } else if !connection.hasInFlight {
                if let descriptor = connection.registeredDescriptor {
                    shared.poller.deregister(fileDescriptor: descriptor)
                }
                _ = connection.disconnect()
                connections.removeValue(forKey: nodeID)
                connectionsByToken.removeValue(forKey: connection.token)
            }
        }
    }

    // MARK: Produce

    private func handleProduce(
        _ response: ProduceExchange.Response, batches: [ProducerBatch], node: Int32, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions
    ) {
        shared.state.withLock { state in
            var pending = batches
            for result in response.partitions {
                guard let index = pending.firstIndex(where: {
                    $0.partition == result.partition && $0.topic == result.topic
                }) else { continue }
                let batch = pending.remove(at: index)
                apply(result, to: batch, response: response, state: &state, now: now, deferred: &deferred)
            }
            for batch in pending {
                retryOrFail(batch, state: &state, now: now, deferred: &deferred,
                            cause: "broker \(node) returned no result for \(batch.topic)-\(batch.partition)",
                            ambiguous: true)
            }
        }
    }

    private func apply(
        _ result: ProduceExchange.PartitionResult, to batch: ProducerBatch, response: ProduceExchange.Response,
        state: inout ProducerState, now: ContinuousClock.Instant, deferred: inout DeferredCompletions
    ) {
        let code = result.errorCode
        if code == .none || code == .duplicateSequenceNumber {
            let offset = code == .none ? result.baseOffset : -1
            state.accumulator.recordAcknowledged(batch, baseOffset: offset)
            state.finish(batch, outcome: .succeeded(baseOffset: offset, logAppendTime: result.logAppendTime),
                         wasInFlight: true, into: &deferred)
            return
        }
        logger.trace("kafka produce error", metadata: [
            "kafka.topic": "\(batch.topic)", "kafka.partition": "\(batch.partition)", "error": "\(code)",
        ])
        if code == .messageTooLarge || code == .recordListTooLarge {
            if let parts = state.accumulator.replaceWithSplit(batch, now: now) {
                state.removeFromFlushWaiters(batch.id, replacements: parts.map(\.id), into: &deferred)
                return
            }
            let error = KafkaProducerError.recordRejectedAsTooLarge(
                recordSize: batch.byteCount - ProducerBatch.headerSize, batchSize: batch.byteCount, code: code,
                topic: batch.topic, partition: batch.partition, mayHavePersisted: batch.mayHavePersisted)
            state.finish(batch, outcome: .failed(error), wasInFlight: true, into: &deferred)
            requestBumpAfterFailure(of: batch, state: &state)
            return
        }
        if code.needsMetadataRefresh {
            var hinted = false
            if let leader = result.currentLeader {
                hinted = state.metadata.applyLeaderHint(
                    topic: batch.topic, partition: batch.partition, leaderID: leader.id, leaderEpoch: leader.epoch,
                    endpoint: response.nodeEndpoints[leader.id])
            }
            if !hinted { state.metadata.invalidateLeader(topic: batch.topic, partition: batch.partition) }
            state.metadata.requestRefresh()
        }
        var retriable = code.isRetriable
        if code == .outOfOrderSequenceNumber || code == .unknownProducerId || code == .invalidProducerEpoch {
            retriable = handleSequenceError(code, batch: batch, logStartOffset: result.logStartOffset, state: &state)
        }
        if retriable {
            retryOrFail(batch, state: &state, now: now, deferred: &deferred, cause: "\(code)",
                        ambiguous: code == .notEnoughReplicasAfterAppend || code == .requestTimedOut)
            return
        }
        let error = KafkaProducerError.broker(
            code, topic: batch.topic, partition: batch.partition, message: result.errorMessage,
            earlierAttemptUncertain: batch.mayHavePersisted)
        state.finish(batch, outcome: .failed(error), wasInFlight: true, into: &deferred)
        requestBumpAfterFailure(of: batch, state: &state)
    }

    func hasEarlierUnresolvedBatch(_ batch: ProducerBatch, state: ProducerState) -> Bool {
        guard batch.baseSequence >= 0 else { return false }
        return state.accumulator.incomplete.values.contains { other in
            other !== batch && other.partition == batch.partition && other.topic == batch.topic
                && other.baseSequence >= 0 && other.producerID == batch.producerID
                && other.producerEpoch == batch.producerEpoch
                && SequenceNumber.precedes(other.baseSequence, batch.baseSequence)
        }
    }
}

import DualStreamLogging
import KafkaWire

extension ProducerSender {
    /// Applies an InitProducerId response: a producer id or a bumped epoch, a retry with backoff
    /// for a retriable error, a fall-back to a new producer id when the bump was rejected, or
    /// ``idempotenceUnavailable(_:code:state:deferred:)`` for any other error.
    ///
    /// NOTE: Kafka's transaction coordinator (TransactionCoordinator.handleInitProducerId) gives
    /// every request without a transactional id a new producer id with epoch 0, so against Kafka a
    /// bump request yields a new id, which is accepted like a bump. The Java producer instead bumps the epoch of an
    /// idempotent producer locally, without a request.
    func handleInitProducerID(
        _ response: InitProducerIDExchange.Response, version: Int16, now: ContinuousClock.Instant,
        deferred: inout DeferredCompletions
    ) {
        let code = response.errorCode
        let bumpFrom = shared.state.withLock { state -> (producerID: Int64, epoch: Int16)? in
            let bumpFrom = state.idempotence.bumpFrom
            if !code.isError {
                let reset = state.idempotence.receive(producerID: response.producerID, epoch: response.producerEpoch)
                state.accumulator.restartSequences(for: reset)
                initProducerIDFailures = 0
            } else if bumpFrom != nil && Self.rejectsBump(code) {
                state.idempotence.fallBackToNewProducerID()
            } else if code.isRetriable {
                initProducerIDFailures += 1
                let backoff = RetryBackoff(initial: configuration.retryBackoff,
                                           maximum: configuration.retryBackoffMaximum)
                state.idempotence.requestFailed(
                    retryAt: now + backoff.delay(afterAttempts: initProducerIDFailures, using: &random))
            } else {
                idempotenceUnavailable("InitProducerId v\(version) failed with \(code)", code: code,
                                       state: &state, deferred: &deferred)
            }
            return bumpFrom
        }
        if !code.isError {
            var metadata: Logger.Metadata = [
                "kafka.producer_id": "\(response.producerID)", "kafka.epoch": "\(response.producerEpoch)",
            ]
            if let bumpFrom {
                metadata["kafka.previous_producer_id"] = "\(bumpFrom.producerID)"
                metadata["kafka.previous_epoch"] = "\(bumpFrom.epoch)"
            }
            logger.debug(bumpFrom == nil ? "kafka producer id assigned" : "kafka producer epoch bumped",
                         metadata: metadata)
        } else if code.isRetriable || bumpFrom != nil && Self.rejectsBump(code) {
            logger.debug("kafka InitProducerId retried", metadata: ["error": "\(code)"])
        }
    }

    /// Errors with which a broker rejects the producer id and epoch of a bump request; a new
    /// producer id is requested instead.
    private static func rejectsBump(_ code: KafkaErrorCode) -> Bool {
        code == .producerFenced || code == .invalidProducerEpoch || code == .unknownProducerId
            || code == .unsupportedVersion
    }

    /// Handles brokers that cannot provide a producer id. Idempotence left at its default is turned
    /// off with one warning, as the Java producer does for an unset `enable.idempotence`. Required
    /// idempotence fails every queued and later record with an error naming `cause`.
    func idempotenceUnavailable(
        _ cause: String, code: KafkaErrorCode?, state: inout ProducerState, deferred: inout DeferredCompletions
    ) {
        if configuration.requiresIdempotence {
            let message = "idempotence unavailable: \(cause); enableIdempotence = true requires it, so no "
                + "record is sent: grant the IdempotentWrite permission, use brokers that support it, or set "
                + "enableIdempotence = false"
            let error = code.map { KafkaProducerError(.brokerError($0), message, mayHavePersisted: false) }
                ?? KafkaProducerError.unsupportedVersion(message)
            state.idempotence.fail(error)
            failQueuedForIdempotence(state: &state, deferred: &deferred)
        } else {
            state.idempotence.disable()
        }
        guard !idempotenceWarningLogged else { return }
        idempotenceWarningLogged = true
        logger.warning(
            configuration.requiresIdempotence
                ? "kafka idempotence unavailable: every record fails"
                : "kafka idempotence unavailable: continuing without it, as enableIdempotence was not set",
            metadata: ["error": "\(cause)"])
    }

    /// Fails every queued batch with the error of required idempotence that is unavailable.
    func failQueuedForIdempotence(state: inout ProducerState, deferred: inout DeferredCompletions) {
        guard let error = state.idempotence.unavailableError, state.accumulator.hasQueuedBatches else { return }
        for batch in state.accumulator.removeQueued(where: { _ in true }) {
            let failure = KafkaProducerError(error.reason, error.message, mayHavePersisted: batch.mayHavePersisted)
            state.finish(batch, outcome: .failed(failure), wasInFlight: false, into: &deferred)
        }
    }

    /// Decides whether a batch rejected with OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID or
    /// INVALID_PRODUCER_EPOCH is retried, as the Java producer does since KIP-360.
    ///
    /// A batch behind an earlier failed batch of its partition, or of a partition already waiting
    /// for an epoch bump, is retried: it is re-sent in order, with a new sequence after a bump.
    /// Otherwise the partition's sequence on the broker is unknown, so an epoch bump is requested.
    /// The batch that got OUT_OF_ORDER_SEQUENCE_NUMBER then fails, because records before it may be
    /// lost, and so does one that got UNKNOWN_PRODUCER_ID although the log still starts at or
    /// before the last acknowledged record. UNKNOWN_PRODUCER_ID with a log start offset past that
    /// record means retention removed the producer's state, so the batch is retried under the new
    /// epoch, as it is after INVALID_PRODUCER_EPOCH. Without a log start offset (-1, sent by a
    /// broker that lost the partition meanwhile) the batch is retried as it is, as the Java
    /// producer does.
    func handleSequenceError(
        _ code: KafkaErrorCode, batch: ProducerBatch, logStartOffset: Int64, state: inout ProducerState
    ) -> Bool {
        guard state.idempotence.isEnabled, batch.baseSequence >= 0 else { return false }
        if state.idempotence.isAwaitingBump(topic: batch.topic, partition: batch.partition) { return true }
        if code == .outOfOrderSequenceNumber && hasEarlierUnresolvedBatch(batch, state: state) { return true }
        if code == .unknownProducerId && logStartOffset < 0 { return true }
        state.idempotence.requestEpochBump(topic: batch.topic, partition: batch.partition)
        logger.debug("kafka producer epoch bump requested", metadata: [
            "kafka.topic": "\(batch.topic)", "kafka.partition": "\(batch.partition)", "error": "\(code)",
        ])
        switch code {
        case .unknownProducerId:
            return logStartOffset > state.accumulator.lastAckedOffset(topic: batch.topic, partition: batch.partition)
        case .invalidProducerEpoch:
            return true
        default:
            return false
        }
    }

    /// Requests an epoch bump after a batch with a sequence failed for good: the broker either
    /// never wrote its range, which leaves a gap before the next batch, or may have written it.
    /// Either way the partition's later batches are re-sequenced from 0 under the new epoch.
    func requestBumpAfterFailure(of batch: ProducerBatch, state: inout ProducerState) {
        guard batch.baseSequence >= 0, state.idempotence.isEnabled else { return }
        state.idempotence.requestEpochBump(topic: batch.topic, partition: batch.partition)
    }
}

import KafkaWire

/// Everything callers and the sender thread share, guarded by one `Mutex` in ``KafkaProducer``.
struct ProducerState {
    typealias WaitContinuation = UnsafeContinuation<Result<Void, KafkaProducerError>, Never>

    struct MetadataWaiter {
        var deadline: ContinuousClock.Instant
        var continuation: WaitContinuation
    }

    struct FlushWaiter {
        var remaining: Set<UInt64>
        var deadline: ContinuousClock.Instant
        var timeout: Duration
        var continuation: WaitContinuation
    }

    var accumulator: RecordAccumulator
    var buffer: BufferAccounting
    var metadata: MetadataCache
    var idempotence: IdempotenceState
    var metadataWaiters: [String: [MetadataWaiter]] = [:]
    var flushWaiters: [UInt64: FlushWaiter] = [:]
    var nextWaiterID: UInt64 = 0
    /// Set by `close`: no new records, linger ignored, and everything left fails at the deadline.
    var closeDeadline: ContinuousClock.Instant?
    var closeWaiters: [UnsafeContinuation<Void, Never>] = []
    /// Set when the producer is released without `close`: the sender stops at once.
    var abandoned = false
    /// When the sender thread will next look at the accumulator without being woken; `nil` while
    /// it is running and will look again before it sleeps.
    var plannedWake: ContinuousClock.Instant?
    var senderExited = false
    /// The last connect or connection failure, reported when no broker was ever reachable.
    var lastConnectionError: String?

    init(configuration: KafkaProducerConfiguration) {
        accumulator = RecordAccumulator(batchSize: configuration.batchSize,
                                        maxRequestSize: configuration.maxRequestSize,
                                        linger: configuration.linger)
        buffer = BufferAccounting(limit: configuration.bufferMemory, maxBlock: configuration.maxBlock)
        metadata = MetadataCache(maxAge: configuration.metadataMaxAge, retryBackoff: configuration.retryBackoff)
        idempotence = IdempotenceState(enabled: configuration.startsIdempotent)
    }

    var isClosing: Bool { closeDeadline != nil || abandoned }

    /// Linger is ignored while a flush or close waits.
    var isFlushing: Bool { !flushWaiters.isEmpty || closeDeadline != nil }

    /// Whether the sender must be woken to handle something due at `deadline`.
    mutating func needsWake(by deadline: ContinuousClock.Instant) -> Bool {
        guard let planned = plannedWake, deadline < planned else { return false }
        plannedWake = deadline
        return true
    }

    mutating func makeWaiterID() -> UInt64 {
        nextWaiterID += 1
        return nextWaiterID
    }
}

/// Work found under the state lock that must run after it is released: resuming continuations
/// and completing delivery handles, so no caller code runs while the lock is held.
struct DeferredCompletions {
    var batches: [(BatchCompletion, BatchCompletion.State)] = []
    var resumeSuccess: [ProducerState.WaitContinuation] = []
    var resumeFailure: [(ProducerState.WaitContinuation, KafkaProducerError)] = []

    var isEmpty: Bool { batches.isEmpty && resumeSuccess.isEmpty && resumeFailure.isEmpty }

    mutating func run() {
        for (completion, outcome) in batches {
            completion.complete(outcome)
        }
        for continuation in resumeSuccess {
            continuation.resume(returning: .success(()))
        }
        for (continuation, error) in resumeFailure {
            continuation.resume(returning: .failure(error))
        }
        self = DeferredCompletions()
    }
}

extension ProducerState {
    /// Records the final outcome of a batch: frees its buffer bytes, updates flush waiters, and
    /// queues the handle completion.
    mutating func finish(
        _ batch: ProducerBatch, outcome: BatchCompletion.State, wasInFlight: Bool,
        into deferred: inout DeferredCompletions
    ) {
        let bytes = accumulator.complete(batch, wasInFlight: wasInFlight)
        deferred.resumeSuccess.append(contentsOf: buffer.release(bytes))
        deferred.batches.append((batch.completion, outcome))
        removeFromFlushWaiters(batch.id, replacements: [], into: &deferred)
    }

    mutating func removeFromFlushWaiters(
        _ batchID: UInt64, replacements: [UInt64], into deferred: inout DeferredCompletions
    ) {
        guard !flushWaiters.isEmpty else { return }
        for id in Array(flushWaiters.keys) {
            guard var waiter = flushWaiters[id], waiter.remaining.remove(batchID) != nil else { continue }
            waiter.remaining.formUnion(replacements)
            if waiter.remaining.isEmpty {
                flushWaiters.removeValue(forKey: id)
                deferred.resumeSuccess.append(waiter.continuation)
            } else {
                flushWaiters[id] = waiter
            }
        }
    }

    /// Fails waiters whose deadline passed; returns the earliest deadline still pending.
    mutating func expireWaiters(
        now: ContinuousClock.Instant, into deferred: inout DeferredCompletions
    ) -> ContinuousClock.Instant? {
        var next: ContinuousClock.Instant? = nil
        func consider(_ deadline: ContinuousClock.Instant) {
            next = next.map { min($0, deadline) } ?? deadline
        }
        for continuation in buffer.expire(now: now) {
            deferred.resumeFailure.append((continuation, .bufferFull(limit: buffer.limit, waited: buffer.maxBlock)))
        }
        if let deadline = buffer.nextDeadline { consider(deadline) }
        for topic in Array(metadataWaiters.keys) {
            var pending = [MetadataWaiter]()
            for waiter in metadataWaiters[topic]! {
                if waiter.deadline <= now {
                    let error: KafkaProducerError = metadata.lastUpdate == nil
                        ? .notConnected(waited: buffer.maxBlock, lastError: lastConnectionError)
                        : .unknownTopic(topic, waited: buffer.maxBlock,
                                        errorCode: metadata.topics[topic]?.errorCode ?? 0,
                                        problem: metadata.invalidTopics[topic])
                    deferred.resumeFailure.append((waiter.continuation, error))
                } else {
                    pending.append(waiter)
                    consider(waiter.deadline)
                }
            }
            metadataWaiters[topic] = pending.isEmpty ? nil : pending
        }
        for (id, waiter) in flushWaiters {
            if waiter.deadline <= now {
                flushWaiters.removeValue(forKey: id)
                let error = KafkaProducerError.timedOut(
                    "flush timed out after \(waiter.timeout) with \(waiter.remaining.count) batches not yet "
                        + "acknowledged; they stay queued until delivered or deliveryTimeout passes",
                    mayHavePersisted: true)
                deferred.resumeFailure.append((waiter.continuation, error))
            } else {
                consider(waiter.deadline)
            }
        }
        return next
    }

    /// Resumes the waiters of topics whose partition count is now known.
    mutating func resumeMetadataWaiters(into deferred: inout DeferredCompletions) {
        for topic in Array(metadataWaiters.keys) where metadata.partitionCount(of: topic) != nil {
            for waiter in metadataWaiters.removeValue(forKey: topic) ?? [] {
                deferred.resumeSuccess.append(waiter.continuation)
            }
        }
    }
}

// The state is only reached through the producer's Mutex. Batches it refers to are appended
// to under that lock only, and the sender reads a batch's bytes only after draining sealed it.
extension ProducerState: @unchecked Sendable {}
extension ProducerBatch: @unchecked Sendable {}
extension DeferredCompletions: Sendable {}

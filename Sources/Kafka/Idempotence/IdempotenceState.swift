/// Producer id and epoch of an idempotent producer (InitProducerId, key 22).
///
/// Sequences per partition live with each partition's queue in ``RecordAccumulator``; this value
/// holds what is shared: whether idempotence is on, and the producer id once the broker gave one.
struct IdempotenceState {
    enum Phase: Equatable {
        /// Idempotence is off, by configuration or because no broker supports InitProducerId.
        case disabled
        /// A producer id is needed before any Produce request is sent.
        case needsProducerID
        case requesting
        case ready(producerID: Int64, epoch: Int16)
    }

    private(set) var phase: Phase
    /// Incremented each time a new producer id is obtained, so stale batches can be detected.
    private(set) var generation = 0
    var retryAt: ContinuousClock.Instant?

    init(enabled: Bool) {
        phase = enabled ? .needsProducerID : .disabled
    }

    var isEnabled: Bool { phase != .disabled }

    var producerID: Int64 {
        if case .ready(let id, _) = phase { return id }
        return -1
    }

    var producerEpoch: Int16 {
        if case .ready(_, let epoch) = phase { return epoch }
        return -1
    }

    /// Produce requests may be sent: idempotence off, or a producer id obtained.
    var canProduce: Bool {
        switch phase {
        case .disabled, .ready: true
        case .needsProducerID, .requesting: false
        }
    }

    func needsRequest(now: ContinuousClock.Instant) -> Bool {
        guard phase == .needsProducerID else { return false }
        return retryAt.map { $0 <= now } ?? true
    }

    mutating func markRequesting() {
        phase = .requesting
    }

    mutating func receive(producerID: Int64, epoch: Int16) {
        phase = .ready(producerID: producerID, epoch: epoch)
        generation += 1
        retryAt = nil
    }

    mutating func requestFailed(retryAt: ContinuousClock.Instant) {
        if phase == .requesting { phase = .needsProducerID }
        self.retryAt = retryAt
    }

    /// Disables idempotence when the broker does not support InitProducerId.
    mutating func disable() {
        phase = .disabled
    }

    /// Drops the producer id after a sequence error whose cause cannot be repaired, so a new one
    /// (with sequences from 0) is requested.
    mutating func reset() {
        guard phase != .disabled else { return }
        phase = .needsProducerID
    }
}

/// Producer id and epoch of an idempotent producer (InitProducerId, key 22), and the epoch bump
/// that repairs a partition whose broker-side sequence is no longer known.
///
/// Sequences per partition live with each partition's queue in ``RecordAccumulator``; this value
/// contains what is shared: whether idempotence is on, the producer id and epoch once the broker gave
/// them, and the partitions whose sequences must restart under a bumped epoch.
struct IdempotenceState {
    struct Partition: Hashable {
        var topic: String
        var partition: Int32
    }

    enum Phase: Equatable {
        /// Idempotence is off, by configuration or because it was only the default and the
        /// brokers cannot provide a producer id.
        case disabled
        /// A producer id is needed before any Produce request is sent.
        case needsProducerID
        case requesting
        case ready(producerID: Int64, epoch: Int16)
        /// Idempotence was requested explicitly and the brokers cannot provide a producer id:
        /// every record fails with this error.
        case failed(KafkaProducerError)
    }

    private(set) var phase: Phase
    var retryAt: ContinuousClock.Instant?
    /// Partitions whose sequences restart at 0 under the next epoch. The bump waits until none of
    /// them has a batch in flight, so every response under the old epoch has been seen.
    private(set) var partitionsToReset: Set<Partition> = []
    /// Producer id and epoch that the pending InitProducerId requests a bump of; `nil` requests a
    /// new producer id.
    private(set) var bumpFrom: (producerID: Int64, epoch: Int16)?
    /// Partitions the InitProducerId request in progress resets; later requests wait for a next bump.
    private var bumping: Set<Partition> = []

    init(enabled: Bool) {
        phase = enabled ? .needsProducerID : .disabled
    }

    var isEnabled: Bool {
        switch phase {
        case .disabled, .failed: false
        case .needsProducerID, .requesting, .ready: true
        }
    }

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
        case .needsProducerID, .requesting, .failed: false
        }
    }

    /// The error every record fails with, when idempotence was required and is unavailable.
    var unavailableError: KafkaProducerError? {
        if case .failed(let error) = phase { return error }
        return nil
    }

    func needsRequest(now: ContinuousClock.Instant) -> Bool {
        guard phase == .needsProducerID else { return false }
        return retryAt.map { $0 <= now } ?? true
    }

    /// Whether batches of the partition must wait: its sequences restart at the next epoch.
    func isAwaitingBump(topic: String, partition: Int32) -> Bool {
        !partitionsToReset.isEmpty && partitionsToReset.contains(Partition(topic: topic, partition: partition))
    }

    mutating func markRequesting() {
        phase = .requesting
    }

    /// Stores the producer id and epoch from InitProducerId; returns the partitions whose
    /// sequences must now restart at 0.
    @discardableResult
    mutating func receive(producerID: Int64, epoch: Int16) -> Set<Partition> {
        phase = .ready(producerID: producerID, epoch: epoch)
        retryAt = nil
        bumpFrom = nil
        let reset = bumping
        partitionsToReset.subtract(bumping)
        bumping = []
        return reset
    }

    mutating func requestFailed(retryAt: ContinuousClock.Instant) {
        if phase == .requesting { phase = .needsProducerID }
        self.retryAt = retryAt
    }

    /// Gives up the bump of the current epoch, after the broker fenced or rejected it, and
    /// requests a new producer id instead.
    mutating func fallBackToNewProducerID() {
        bumpFrom = nil
        if phase == .requesting { phase = .needsProducerID }
        retryAt = nil
    }

    /// Turns idempotence off: it was only the default and the brokers cannot provide a producer id.
    mutating func disable() {
        phase = .disabled
        partitionsToReset = []
        bumping = []
        bumpFrom = nil
    }

    /// Fails every record from now on: idempotence was required and the brokers cannot provide it.
    mutating func fail(_ error: KafkaProducerError) {
        phase = .failed(error)
        partitionsToReset = []
        bumping = []
        bumpFrom = nil
    }

    /// Requests an epoch bump for a partition whose sequence on the broker is unknown: after
    /// OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID, or after a batch with a sequence failed
    /// or expired. The sender calls ``startBump()`` once those partitions have no batch in flight.
    mutating func requestEpochBump(topic: String, partition: Int32) {
        guard isEnabled else { return }
        partitionsToReset.insert(Partition(topic: topic, partition: partition))
    }

    /// Starts the pending epoch bump; the caller checks first that no partition to reset has a
    /// batch in flight. An epoch at `Int16.max` cannot be bumped, so a new producer id is
    /// requested, as the Java producer does.
    mutating func startBump() {
        guard !partitionsToReset.isEmpty, case .ready(let producerID, let epoch) = phase else { return }
        bumpFrom = epoch < Int16.max ? (producerID, epoch) : nil
        bumping = partitionsToReset
        phase = .needsProducerID
        retryAt = nil
    }
}

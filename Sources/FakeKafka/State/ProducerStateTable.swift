/// Producer ids handed out by InitProducerId, and per (producer id, partition) the epoch and the
/// last five batches' sequence ranges, the window a Kafka broker keeps to recognise retries
/// (ProducerStateEntry.NUM_BATCHES_TO_RETAIN is 5).
struct ProducerStateTable {
    static let windowSize = 5

    struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
        var producerID: Int64
    }

    struct CachedBatch {
        var firstSequence: Int32
        var lastSequence: Int32
        var baseOffset: Int64
    }

    struct Entry {
        var epoch: Int16
        var window: [CachedBatch] = []
    }

    enum Verdict {
        case append
        case duplicate(baseOffset: Int64)
        case reject(code: Int16, message: String)
    }

    private(set) var nextProducerID: Int64
    /// Epoch most recently issued for each producer id.
    private(set) var issuedEpochs: [Int64: Int16] = [:]
    private var entries: [PartitionKey: Entry] = [:]

    init(firstProducerID: Int64) {
        nextProducerID = firstProducerID
    }

    /// Allocates a new producer id with epoch 0. Kafka does the same for every InitProducerId
    /// request without a transactional id, whatever ProducerId and ProducerEpoch it carries
    /// (TransactionCoordinator.handleInitProducerId).
    mutating func allocate() -> (id: Int64, epoch: Int16) {
        let id = nextProducerID
        nextProducerID += 1
        issuedEpochs[id] = 0
        return (id, 0)
    }

    /// Bumps the epoch of an issued producer id, as Kafka's transaction coordinator does for
    /// InitProducerId v3+ naming a producer id and epoch of a transactional id. An epoch other
    /// than the current one is fenced with `fencedCode`, and an unknown id gets
    /// UNKNOWN_PRODUCER_ID. An epoch that cannot grow (Int16.max - 1 or more) gets a new producer
    /// id. Batches of an older epoch are then rejected on each partition that saw the new one.
    mutating func bump(
        producerID: Int64, epoch: Int16, fencedCode: Int16
    ) -> (errorCode: Int16, id: Int64, epoch: Int16) {
        guard let current = issuedEpochs[producerID] else {
            return (FakeKafkaErrorCode.unknownProducerId, -1, -1)
        }
        guard epoch == current else { return (fencedCode, -1, -1) }
        guard current < Int16.max - 1 else {
            let (id, newEpoch) = allocate()
            return (FakeKafkaErrorCode.none, id, newEpoch)
        }
        issuedEpochs[producerID] = current + 1
        return (FakeKafkaErrorCode.none, producerID, current + 1)
    }

    /// Computes the last sequence of a batch: BaseSequence + count - 1, wrapping past Int32.max to 0.
    static func lastSequence(first: Int32, count: Int32) -> Int32 {
        let last = Int64(first) + Int64(count) - 1
        return Int32(truncatingIfNeeded: last > Int64(Int32.max) ? last - Int64(Int32.max) - 1 : last)
    }

    /// Checks a batch against the producer's state on a partition, the way ProducerAppendInfo
    /// does: an older epoch is fenced, an exact repeat of a cached sequence range is a duplicate,
    /// a new epoch must start at sequence 0, and otherwise the batch must follow the last one.
    /// A producer id that InitProducerId never issued gets UNKNOWN_PRODUCER_ID, which Kafka does
    /// not check; the fake does, to catch a producer that invents ids.
    func check(
        _ key: PartitionKey, epoch: Int16, firstSequence: Int32, count: Int32, requireFirstSequenceZero: Bool
    ) -> Verdict {
        // Epochs above the issued one are accepted: an idempotent Java producer bumps its epoch
        // itself after an unresolved sequence, without asking the broker.
        guard issuedEpochs[key.producerID] != nil else {
            return .reject(
                code: FakeKafkaErrorCode.unknownProducerId,
                message: "producer id \(key.producerID) was never issued by InitProducerId")
        }
        let lastSequence = Self.lastSequence(first: firstSequence, count: count)
        guard let entry = entries[key] else {
            if requireFirstSequenceZero && firstSequence != 0 {
                return .reject(
                    code: FakeKafkaErrorCode.outOfOrderSequenceNumber,
                    message: "first batch of producer \(key.producerID) on \(key.topic)-\(key.partition) has "
                        + "BaseSequence \(firstSequence); expected 0")
            }
            return .append
        }
        if epoch < entry.epoch {
            return .reject(
                code: FakeKafkaErrorCode.invalidProducerEpoch,
                message: "producer epoch \(epoch) is older than the current epoch \(entry.epoch)")
        }
        if epoch > entry.epoch {
            if firstSequence != 0 {
                return .reject(
                    code: FakeKafkaErrorCode.outOfOrderSequenceNumber,
                    message: "new epoch \(epoch) of producer \(key.producerID) starts at BaseSequence "
                        + "\(firstSequence); expected 0")
            }
            return .append
        }
        if let cached = entry.window.first(where: {
            $0.firstSequence == firstSequence && $0.lastSequence == lastSequence
        }) {
            return .duplicate(baseOffset: cached.baseOffset)
        }
        let previous = entry.window.last?.lastSequence ?? -1
        let expected = previous == Int32.max ? 0 : previous + 1
        guard firstSequence == expected else {
            return .reject(
                code: FakeKafkaErrorCode.outOfOrderSequenceNumber,
                message: "producer \(key.producerID) on \(key.topic)-\(key.partition) sent BaseSequence "
                    + "\(firstSequence) after last sequence \(previous); expected \(expected)")
        }
        return .append
    }

    /// Records an appended batch, keeping the newest `windowSize` batches.
    mutating func record(
        _ key: PartitionKey, epoch: Int16, firstSequence: Int32, count: Int32, baseOffset: Int64
    ) {
        var entry = entries[key] ?? Entry(epoch: epoch)
        if epoch != entry.epoch {
            entry = Entry(epoch: epoch)
        }
        entry.window.append(
            CachedBatch(
                firstSequence: firstSequence,
                lastSequence: Self.lastSequence(first: firstSequence, count: count),
                baseOffset: baseOffset))
        if entry.window.count > Self.windowSize {
            entry.window.removeFirst(entry.window.count - Self.windowSize)
        }
        entries[key] = entry
    }
}

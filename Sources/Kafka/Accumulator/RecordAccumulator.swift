import KafkaWire

/// Batches waiting to be sent, one queue per partition, and the logic that decides which are
/// ready and groups them into one Produce request per leader broker.
///
/// Only the last batch of a queue takes appends. A batch is ready when it is full, when another
/// batch queued behind it, when its linger expired, or during flush and close. A value type with no
/// I/O, driven by the sender under the producer's state lock.
struct RecordAccumulator {
    struct PartitionQueue {
        var batches = FIFOQueue<ProducerBatch>()
        /// Batches of this partition in Produce requests that have no response yet.
        var inFlight = 0
        /// Next base sequence when idempotent.
        var nextSequence: Int32 = 0
        /// Producer id and epoch `nextSequence` belongs to; -1 until the first batch is sequenced
        /// and after an epoch bump resets the partition.
        var producerID: Int64 = -1
        var producerEpoch: Int16 = -1
        /// Offset of the last record acknowledged with an offset, -1 before the first.
        var lastAckedOffset: Int64 = -1
    }

    struct TopicQueues {
        var partitions: [PartitionQueue] = []
        /// Partition that keyless records go to until its batch is sent.
        var stickyPartition: Int32?
        /// When a record was last appended, for dropping idle topics from Metadata requests.
        var lastAppend: ContinuousClock.Instant?
        /// Per leader node, the index of its partition the next drain visits first: the first
        /// one a full request left behind, else the one after the last partition sent. Every
        /// partition gets its turn, so batches grow evenly instead of the low partitions going
        /// out in every request.
        var drainStart: [Int32: Int] = [:]
    }

    struct AppendResult {
        var batch: ProducerBatch
        var index: Int32
        /// A new batch was opened: the sender must learn its linger deadline.
        var openedBatch: Bool
        /// A batch became full (ready to send at once).
        var filledBatch: Bool
    }

    /// Fixed bytes of a Produce request besides the batches: size, header, transactional id, acks,
    /// timeout, topic count, with room for a 255-byte client id.
    static let requestOverhead = 4 + 10 + 2 + 255 + 2 + 2 + 4 + 4 + 8
    /// Bytes per topic and per partition entry of a Produce request (name up to 249 bytes).
    static let topicOverhead = 2 + 249 + 4 + 1
    static let partitionOverhead = 4 + 4 + 1

    let batchSize: Int
    let maxRequestSize: Int
    let linger: Duration
    private(set) var topics: [String: TopicQueues] = [:]
    private var nextBatchID: UInt64 = 1
    /// Every batch that has no final result yet (queued or in flight), by id.
    private(set) var incomplete: [UInt64: ProducerBatch] = [:]
    private var randomSource = SystemRandomNumberGenerator()
    /// Topic the next drain visits first: the first one that a full request left a batch behind
    /// in. Without it, dictionary order would let one topic fill every request to a shared leader.
    private var drainFirstTopic: String?

    init(batchSize: Int, maxRequestSize: Int, linger: Duration) {
        self.batchSize = batchSize
        self.maxRequestSize = maxRequestSize
        self.linger = linger
    }

    /// Largest encoded record accepted, and which setting limits it.
    var recordLimit: (bytes: Int, setting: String) {
        let byRequest = maxRequestSize - Self.requestOverhead - Self.topicOverhead - Self.partitionOverhead
            - ProducerBatch.headerSize
        let byBatch = batchSize - ProducerBatch.headerSize
        return byBatch <= byRequest ? (byBatch, "batchSize") : (byRequest, "maxRequestSize")
    }

    // MARK: Partitioning

    /// The partition of a record without an explicit one.
    mutating func choosePartition(
        topic: String, key: [UInt8]?, partitionCount: Int32, partitioner: KafkaPartitioner,
        hasLeader: (Int32) -> Bool
    ) -> Int32 {
        switch partitioner.kind {
        case .custom(let choose):
            return choose(topic, key, partitionCount)
        case .default:
            if let key {
                return Int32(Murmur2.partition(forKey: key, partitionCount: Int(partitionCount)))
            }
            return stickyPartition(topic: topic, partitionCount: partitionCount, hasLeader: hasLeader)
        }
    }

    private mutating func stickyPartition(
        topic: String, partitionCount: Int32, hasLeader: (Int32) -> Bool
    ) -> Int32 {
        if let sticky = topics[topic]?.stickyPartition, sticky < partitionCount {
            return sticky
        }
        let available = (0..<partitionCount).filter(hasLeader)
        let choice: Int32
        if available.isEmpty {
            choice = Int32.random(in: 0..<partitionCount, using: &randomSource)
        } else {
            choice = available.randomElement(using: &randomSource)!
        }
        topics[topic, default: TopicQueues()].stickyPartition = choice
        return choice
    }

    // MARK: Appending

    /// Appends an encoded record to the partition's open batch, opening a new one when needed.
    mutating func append(
        topic: String, partition: Int32, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader],
        timestamp: Int64, reservedBytes: Int, now: ContinuousClock.Instant
    ) -> AppendResult {
        var topicQueues = topics.removeValue(forKey: topic) ?? TopicQueues()
        let index = Int(partition)
        if topicQueues.partitions.count <= index {
            topicQueues.partitions.append(
                contentsOf: repeatElement(PartitionQueue(), count: index + 1 - topicQueues.partitions.count))
        }
        defer { topics[topic] = topicQueues }
        topicQueues.lastAppend = now
        var filled = false
        if let open = topicQueues.partitions[index].batches.last, !open.isSealed {
            if let recordIndex = open.tryAppend(key: key, value: value, headers: headers, timestamp: timestamp,
                                                limit: batchSize) {
                open.reservedBytes += reservedBytes
                if open.byteCount >= batchSize - 32 {
                    open.close()
                    filled = true
                    if topicQueues.stickyPartition == partition { topicQueues.stickyPartition = nil }
                }
                return AppendResult(batch: open, index: recordIndex, openedBatch: false, filledBatch: filled)
            }
            open.close()
            filled = true
            if topicQueues.stickyPartition == partition { topicQueues.stickyPartition = nil }
        }
        let batch = ProducerBatch(topic: topic, partition: partition, id: nextBatchID, createdAt: now,
                                  capacity: min(batchSize, 16_384))
        nextBatchID += 1
        let recordIndex = batch.tryAppend(key: key, value: value, headers: headers, timestamp: timestamp,
                                          limit: batchSize)!
        batch.reservedBytes = reservedBytes
        topicQueues.partitions[index].batches.append(batch)
        incomplete[batch.id] = batch
        return AppendResult(batch: batch, index: recordIndex, openedBatch: true, filledBatch: filled)
    }

    // MARK: Draining

    struct DrainResult {
        /// Batches per leader node, at most one per partition, within maxRequestSize per node.
        var requests: [Int32: [ProducerBatch]] = [:]
        /// Earliest time a batch not drained now becomes ready (linger or retry backoff).
        var nextReadyTime: ContinuousClock.Instant?
        /// Some queued partition has no known leader.
        var needsMetadata = false
    }

    /// Takes the ready batches whose leader can take a request now, assigning sequences with
    /// idempotence. `canSend` returns whether a node's connection has room for another request.
    mutating func drain(
        now: ContinuousClock.Instant, metadata: MetadataCache, flushing: Bool,
        idempotence: IdempotenceState, canSend: (Int32) -> Bool
    ) -> DrainResult {
        var result = DrainResult()
        var requestBytes: [Int32: Int] = [:]
        var blockedNodes = Set<Int32>()
        var topicOrder = Array(topics.keys)
        if let first = drainFirstTopic, let position = topicOrder.firstIndex(of: first), position > 0 {
            topicOrder = Array(topicOrder[position...] + topicOrder[..<position])
        }
        drainFirstTopic = nil
        for topic in topicOrder {
            guard var topicQueues = topics.removeValue(forKey: topic) else { continue }
            defer { topics[topic] = topicQueues }
            var nextStart: [Int32: Int] = [:]
            var leftBehind: [Int32: Int] = [:]
            // Each leader's partitions are visited from that leader's start, wrapping around: the
            // first pass takes those at or after it, the second those before it.
            for pass in 0..<2 {
                for index in topicQueues.partitions.indices {
                    guard let batch = topicQueues.partitions[index].batches.first else { continue }
                    let partition = Int32(index)
                    guard let leader = metadata.leader(topic: topic, partition: partition) else {
                        result.needsMetadata = true
                        continue
                    }
                    let atOrAfterStart = index >= topicQueues.drainStart[leader, default: 0]
                    guard atOrAfterStart == (pass == 0) else { continue }
                    let queue = topicQueues.partitions[index]
                    if let retryAt = batch.retryAt, retryAt > now {
                        result.nextReadyTime = Self.earlier(result.nextReadyTime, retryAt)
                        continue
                    }
                    // Per-partition order: a retried batch waits until the earlier ones have responses,
                    // and with idempotence at most 5 batches of a partition are in flight.
                    if batch.attempts > 0 && queue.inFlight > 0 { continue }
                    if idempotence.isEnabled {
                        if queue.inFlight >= 5 || idempotence.isAwaitingBump(topic: topic, partition: partition) {
                            continue
                        }
                        // A partition moves to a new producer id or epoch only once its batches under
                        // the old one have responses, so its sequences stay in order on the broker.
                        if queue.inFlight > 0 && !Self.continuesSequence(batch, queue: queue)
                            && (queue.producerID != idempotence.producerID
                                || queue.producerEpoch != idempotence.producerEpoch)
                        {
                            continue
                        }
                    }
                    let lingerDeadline = batch.createdAt + linger
                    let ready = batch.isSealed || queue.batches.count > 1 || flushing || lingerDeadline <= now
                    if !ready {
                        result.nextReadyTime = Self.earlier(result.nextReadyTime, lingerDeadline)
                        continue
                    }
                    if blockedNodes.contains(leader) { continue }
                    guard canSend(leader) else {
                        blockedNodes.insert(leader)
                        continue
                    }
                    let used = requestBytes[leader] ?? Self.requestOverhead
                    let added = batch.byteCount + Self.topicOverhead + Self.partitionOverhead
                    if used + added > maxRequestSize && used > Self.requestOverhead {
                        // The batch is ready but this request is full. It goes in the next request, which the
                        // sender sends at once if the connection has room, instead of after the next response.
                        result.nextReadyTime = now
                        if leftBehind[leader] == nil { leftBehind[leader] = index }
                        continue
                    }
                    requestBytes[leader] = used + added
                    nextStart[leader] = index + 1
                    _ = topicQueues.partitions[index].batches.popFirst()
                    topicQueues.partitions[index].inFlight += 1
                    prepareForSend(batch, queue: &topicQueues.partitions[index], idempotence: idempotence)
                    if topicQueues.stickyPartition == partition { topicQueues.stickyPartition = nil }
                    result.requests[leader, default: []].append(batch)
                    // A request carries one batch per partition, so a further batch of this partition
                    // goes in the next request: ask the sender to look again at once.
                    if !topicQueues.partitions[index].batches.isEmpty {
                        result.nextReadyTime = now
                    }
                }
            }
            topicQueues.drainStart.merge(nextStart) { _, next in next }
            topicQueues.drainStart.merge(leftBehind) { _, behind in behind }
            if !leftBehind.isEmpty && drainFirstTopic == nil {
                drainFirstTopic = topic
            }
        }
        return result
    }

    private func prepareForSend(_ batch: ProducerBatch, queue: inout PartitionQueue, idempotence: IdempotenceState) {
        guard idempotence.isEnabled else {
            if !batch.headerWritten { batch.seal(producerID: -1, producerEpoch: -1, baseSequence: -1) }
            return
        }
        if Self.continuesSequence(batch, queue: queue) {
            // A retry or a split part keeps the producer id, epoch and sequence range it was given.
            if !batch.headerWritten {
                batch.seal(producerID: batch.producerID, producerEpoch: batch.producerEpoch,
                           baseSequence: batch.baseSequence)
            }
            return
        }
        let producerID = idempotence.producerID
        let epoch = idempotence.producerEpoch
        if queue.producerID != producerID || queue.producerEpoch != epoch {
            queue.producerID = producerID
            queue.producerEpoch = epoch
            queue.nextSequence = 0
        }
        let sequence = queue.nextSequence
        queue.nextSequence = SequenceNumber.adding(batch.recordCount, to: sequence)
        if !batch.headerWritten {
            batch.seal(producerID: producerID, producerEpoch: epoch, baseSequence: sequence)
        } else {
            batch.rewriteProducerFields(producerID: producerID, producerEpoch: epoch, baseSequence: sequence)
        }
    }

    /// Whether the batch already has a sequence under the partition's current producer id and
    /// epoch, so it is re-sent with that sequence.
    private static func continuesSequence(_ batch: ProducerBatch, queue: PartitionQueue) -> Bool {
        batch.baseSequence >= 0 && batch.producerID == queue.producerID && batch.producerEpoch == queue.producerEpoch
            && queue.producerID >= 0
    }

    /// Restarts the sequences of the partitions after an epoch bump: their queued batches, retries
    /// included, get new sequences from 0 under the new epoch, in queue order.
    mutating func restartSequences(for partitions: Set<IdempotenceState.Partition>) {
        for entry in partitions {
            guard var topicQueues = topics.removeValue(forKey: entry.topic) else { continue }
            let index = Int(entry.partition)
            if index < topicQueues.partitions.count {
                topicQueues.partitions[index].producerID = -1
                topicQueues.partitions[index].producerEpoch = -1
                topicQueues.partitions[index].nextSequence = 0
            }
            topics[entry.topic] = topicQueues
        }
    }

    /// Records the offset of the last record of an acknowledged batch.
    mutating func recordAcknowledged(_ batch: ProducerBatch, baseOffset: Int64) {
        guard baseOffset >= 0, var topicQueues = topics.removeValue(forKey: batch.topic) else { return }
        let index = Int(batch.partition)
        if index < topicQueues.partitions.count {
            let last = baseOffset + Int64(batch.recordCount) - 1
            topicQueues.partitions[index].lastAckedOffset = max(topicQueues.partitions[index].lastAckedOffset, last)
        }
        topics[batch.topic] = topicQueues
    }

    func lastAckedOffset(topic: String, partition: Int32) -> Int64 {
        guard let queues = topics[topic], partition >= 0, Int(partition) < queues.partitions.count else { return -1 }
        return queues.partitions[Int(partition)].lastAckedOffset
    }

    /// Batches of the partition in Produce requests without a response yet.
    func inFlightCount(topic: String, partition: Int32) -> Int {
        guard let queues = topics[topic], partition >= 0, Int(partition) < queues.partitions.count else { return 0 }
        return queues.partitions[Int(partition)].inFlight
    }

    private static func earlier(
        _ lhs: ContinuousClock.Instant?, _ rhs: ContinuousClock.Instant
    ) -> ContinuousClock.Instant {
        guard let lhs else { return rhs }
        return min(lhs, rhs)
    }

    // MARK: Completion and retry

    /// Forgets a batch that reached its final result; returns its reserved buffer bytes.
    mutating func complete(_ batch: ProducerBatch, wasInFlight: Bool) -> Int {
        guard incomplete.removeValue(forKey: batch.id) != nil else { return 0 }
        if wasInFlight { adjustInFlight(batch, by: -1) }
        return batch.reservedBytes
    }

    /// Puts a batch back for another attempt after `retryAt`, ahead of later batches of its
    /// partition and after retried batches with lower sequences.
    mutating func requeue(_ batch: ProducerBatch, retryAt: ContinuousClock.Instant) {
        adjustInFlight(batch, by: -1)
        batch.retryAt = retryAt
        guard var topicQueues = topics.removeValue(forKey: batch.topic) else { return }
        defer { topics[batch.topic] = topicQueues }
        let index = Int(batch.partition)
        var position = 0
        for queued in topicQueues.partitions[index].batches.elements {
            guard queued.attempts > 0, queued.baseSequence >= 0, batch.baseSequence >= 0,
                  SequenceNumber.precedes(queued.baseSequence, batch.baseSequence)
            else { break }
            position += 1
        }
        topicQueues.partitions[index].batches.insert(batch, at: position)
    }

    /// Replaces an in-flight batch by its parts after MESSAGE_TOO_LARGE; they go first in the queue.
    ///
    /// The broker's limit is not in the response, so each part carries at most half the rejected
    /// batch's record bytes (and at most `batchSize` bytes), packed by size in order. A part
    /// rejected again is split again, until a part contains one record.
    mutating func replaceWithSplit(_ batch: ProducerBatch, now: ContinuousClock.Instant) -> [ProducerBatch]? {
        let halfRecords = (batch.byteCount - ProducerBatch.headerSize + 1) / 2
        let target = min(batchSize, ProducerBatch.headerSize + max(1, halfRecords))
        guard let parts = batch.split(targetSize: target, firstID: nextBatchID, now: now) else { return nil }
        nextBatchID += UInt64(parts.count)
        adjustInFlight(batch, by: -1)
        incomplete.removeValue(forKey: batch.id)
        var firstIndex: Int32 = 0
        var forwards = [(firstIndex: Int32, completion: BatchCompletion)]()
        for (offset, part) in parts.enumerated() {
            part.reservedBytes = offset == 0 ? batch.reservedBytes : 0
            forwards.append((firstIndex, part.completion))
            firstIndex += part.recordCount
            incomplete[part.id] = part
        }
        batch.completion.complete(.forwarded(forwards))
        guard var topicQueues = topics.removeValue(forKey: batch.topic) else { return parts }
        defer { topics[batch.topic] = topicQueues }
        for (offset, part) in parts.enumerated() {
            topicQueues.partitions[Int(batch.partition)].batches.insert(part, at: offset)
        }
        return parts
    }

    private mutating func adjustInFlight(_ batch: ProducerBatch, by delta: Int) {
        guard var topicQueues = topics.removeValue(forKey: batch.topic) else { return }
        let index = Int(batch.partition)
        if index < topicQueues.partitions.count {
            topicQueues.partitions[index].inFlight += delta
        }
        topics[batch.topic] = topicQueues
    }

    /// Removes queued (not in flight) batches for which `shouldRemove` is true.
    mutating func removeQueued(where shouldRemove: (ProducerBatch) -> Bool) -> [ProducerBatch] {
        var removed = [ProducerBatch]()
        for topic in Array(topics.keys) {
            guard var topicQueues = topics.removeValue(forKey: topic) else { continue }
            for index in topicQueues.partitions.indices {
                let matching = topicQueues.partitions[index].batches.removeAll(where: shouldRemove)
                for batch in matching { incomplete.removeValue(forKey: batch.id) }
                removed.append(contentsOf: matching)
            }
            topics[topic] = topicQueues
        }
        return removed
    }

    /// Oldest creation time of a queued batch, for the delivery timeout.
    var oldestQueuedCreation: ContinuousClock.Instant? {
        var oldest: ContinuousClock.Instant?
        for topicQueues in topics.values {
            for queue in topicQueues.partitions {
                if let first = queue.batches.first {
                    oldest = Self.earlier(oldest, first.createdAt)
                }
            }
        }
        return oldest
    }

    /// Whether the topic has no batch queued or in flight.
    func isIdle(topic: String) -> Bool {
        guard let queues = topics[topic] else { return true }
        return queues.partitions.allSatisfy { $0.batches.isEmpty && $0.inFlight == 0 }
    }

    func lastAppend(topic: String) -> ContinuousClock.Instant? {
        topics[topic]?.lastAppend
    }

    var hasQueuedBatches: Bool {
        topics.values.contains { $0.partitions.contains { !$0.batches.isEmpty } }
    }
}

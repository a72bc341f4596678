@testable import Kafka
import Synchronization
import Testing

@Suite struct AccumulatorTests {
    private func metadata(partitions: Int, leader: Int32 = 1) -> MetadataCache {
        var cache = MetadataCache(maxAge: .seconds(300), retryBackoff: .milliseconds(100))
        cache.update(brokers: [1: .init(host: "127.0.0.1", port: 1), 2: .init(host: "127.0.0.1", port: 2)],
                     topics: ["t": .init(errorCode: 0, leaders: Array(repeating: leader, count: partitions),
                                         leaderEpochs: Array(repeating: 0, count: partitions))],
                     now: .now)
        return cache
    }

    private func append(_ accumulator: inout RecordAccumulator, partition: Int32, bytes: Int,
                        now: ContinuousClock.Instant) -> RecordAccumulator.AppendResult {
        accumulator.append(topic: "t", partition: partition, key: nil, value: Array(repeating: 7, count: bytes),
                           headers: [], timestamp: 1_700_000_000_000, reservedBytes: bytes, now: now)
    }

    @Test func batchWaitsForLinger() {
        var accumulator = RecordAccumulator(batchSize: 10_000, maxRequestSize: 100_000, linger: .milliseconds(5))
        let start = ContinuousClock.now
        _ = append(&accumulator, partition: 0, bytes: 10, now: start)
        let early = accumulator.drain(now: start + .milliseconds(1), metadata: metadata(partitions: 1),
                                      flushing: false, idempotence: IdempotenceState(enabled: false)) { _ in true }
        #expect(early.requests.isEmpty)
        #expect(early.nextReadyTime == start + .milliseconds(5))
        let late = accumulator.drain(now: start + .milliseconds(5), metadata: metadata(partitions: 1),
                                     flushing: false, idempotence: IdempotenceState(enabled: false)) { _ in true }
        #expect(late.requests[1]?.count == 1)
    }

    @Test func fullBatchIsReadyBeforeLinger() {
        var accumulator = RecordAccumulator(batchSize: 1_000, maxRequestSize: 100_000, linger: .seconds(10))
        let now = ContinuousClock.now
        var opened = 0
        for _ in 0..<20 {
            if append(&accumulator, partition: 0, bytes: 100, now: now).openedBatch { opened += 1 }
        }
        #expect(opened >= 3)
        let drained = accumulator.drain(now: now, metadata: metadata(partitions: 1), flushing: false,
                                        idempotence: IdempotenceState(enabled: false)) { _ in true }
        // One batch per partition per request; the full one goes first, the open one keeps lingering.
        #expect(drained.requests[1]?.count == 1)
        #expect(drained.requests[1]!.first!.byteCount <= 1_000)
    }

    @Test func batchesForOneBrokerShareARequestUpToMaxRequestSize() {
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 10_000, linger: .zero)
        let now = ContinuousClock.now
        for partition in 0..<6 {
            _ = append(&accumulator, partition: Int32(partition), bytes: 3_000, now: now)
        }
        let cache = metadata(partitions: 6)
        let first = accumulator.drain(now: now, metadata: cache, flushing: false,
                                      idempotence: IdempotenceState(enabled: false)) { _ in true }
        let batches = first.requests[1] ?? []
        #expect(batches.count == 2, "two 3 KB batches fit under 10,000 bytes with request overhead, three do not")
        let total = batches.reduce(RecordAccumulator.requestOverhead) {
            $0 + $1.byteCount + RecordAccumulator.topicOverhead + RecordAccumulator.partitionOverhead
        }
        #expect(total <= 10_000)
    }

    @Test func drainsTakeTurnsAcrossPartitions() {
        // Each request has room for one 3 KB batch. Every partition always has a ready batch, so
        // a drain that always began at partition 0 would send partitions 0 and 1 only.
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 5_000, linger: .zero)
        let now = ContinuousClock.now
        let cache = metadata(partitions: 3)
        var sent: [Int32] = []
        for _ in 0..<6 {
            for partition in 0..<3 {
                _ = append(&accumulator, partition: Int32(partition), bytes: 3_000, now: now)
            }
            let drained = accumulator.drain(now: now, metadata: cache, flushing: false,
                                            idempotence: IdempotenceState(enabled: false)) { _ in true }
            let batches = drained.requests[1] ?? []
            #expect(batches.count == 1)
            sent += batches.map(\.partition)
            for batch in batches { _ = accumulator.complete(batch, wasInFlight: true) }
        }
        #expect(sent == [0, 1, 2, 0, 1, 2])
    }

    @Test func leftBehindPartitionGoesFirst() {
        // Partition 0's 3 KB batch fills the first request; partition 1 is left behind, partition
        // 2's 500-byte batch still fits. The next drain starts at partition 1.
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 5_000, linger: .zero)
        let now = ContinuousClock.now
        let cache = metadata(partitions: 3)
        _ = append(&accumulator, partition: 0, bytes: 3_000, now: now)
        _ = append(&accumulator, partition: 1, bytes: 3_000, now: now)
        _ = append(&accumulator, partition: 2, bytes: 500, now: now)
        let first = accumulator.drain(now: now, metadata: cache, flushing: false,
                                      idempotence: IdempotenceState(enabled: false)) { _ in true }
        #expect((first.requests[1] ?? []).map(\.partition) == [0, 2])
        _ = append(&accumulator, partition: 0, bytes: 3_000, now: now)
        let second = accumulator.drain(now: now, metadata: cache, flushing: false,
                                       idempotence: IdempotenceState(enabled: false)) { _ in true }
        #expect((second.requests[1] ?? []).map(\.partition) == [1])
    }

    @Test func partitionWithoutLeaderWaitsForMetadata() {
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 10_000, linger: .zero)
        let now = ContinuousClock.now
        _ = append(&accumulator, partition: 0, bytes: 10, now: now)
        var cache = metadata(partitions: 1)
        cache.invalidateLeader(topic: "t", partition: 0)
        let drained = accumulator.drain(now: now, metadata: cache, flushing: false,
                                        idempotence: IdempotenceState(enabled: false)) { _ in true }
        #expect(drained.requests.isEmpty)
        #expect(drained.needsMetadata)
    }

    @Test func retriedBatchGoesBeforeLaterOnes() {
        var accumulator = RecordAccumulator(batchSize: 200, maxRequestSize: 10_000, linger: .zero)
        var idempotence = IdempotenceState(enabled: true)
        idempotence.receive(producerID: 42, epoch: 0)
        let now = ContinuousClock.now
        let cache = metadata(partitions: 1)
        _ = append(&accumulator, partition: 0, bytes: 100, now: now)
        let first = accumulator.drain(now: now, metadata: cache, flushing: false,
                                      idempotence: idempotence) { _ in true }
        let sent = first.requests[1]![0]
        sent.attempts = 1
        let originalBytes = sent.bytes
        #expect(sent.baseSequence == 0)
        _ = append(&accumulator, partition: 0, bytes: 100, now: now)
        _ = append(&accumulator, partition: 0, bytes: 100, now: now)
        accumulator.requeue(sent, retryAt: now)
        let second = accumulator.drain(now: now, metadata: cache, flushing: false,
                                       idempotence: idempotence) { _ in true }
        let resent = second.requests[1]![0]
        #expect(resent === sent)
        #expect(resent.bytes == originalBytes, "a retry is re-sent byte for byte")
        resent.attempts = 2
        _ = accumulator.complete(resent, wasInFlight: true)
        let third = accumulator.drain(now: now, metadata: cache, flushing: false,
                                      idempotence: idempotence) { _ in true }
        #expect(third.requests[1]![0].baseSequence == 1)
    }

    @Test func newEpochWaitsForInFlightBatches() {
        var accumulator = RecordAccumulator(batchSize: 200, maxRequestSize: 10_000, linger: .zero)
        var idempotence = IdempotenceState(enabled: true)
        idempotence.receive(producerID: 42, epoch: 0)
        let now = ContinuousClock.now
        let cache = metadata(partitions: 1)
        _ = append(&accumulator, partition: 0, bytes: 100, now: now)
        let first = accumulator.drain(now: now, metadata: cache, flushing: false,
                                      idempotence: idempotence) { _ in true }
        let sent = first.requests[1]![0]
        #expect(sent.producerEpoch == 0)

        // Another partition's error bumped the epoch; this one's batch under epoch 0 is in flight.
        idempotence.receive(producerID: 42, epoch: 1)
        _ = append(&accumulator, partition: 0, bytes: 100, now: now)
        let beforeResponse = accumulator.drain(now: now, metadata: cache, flushing: false,
                                     idempotence: idempotence) { _ in true }
        #expect(beforeResponse.requests.isEmpty, "a new epoch starts only once epoch 0 batches have responses")
        _ = accumulator.complete(sent, wasInFlight: true)
        let next = accumulator.drain(now: now, metadata: cache, flushing: false,
                                     idempotence: idempotence) { _ in true }
        let moved = next.requests[1]![0]
        #expect(moved.producerEpoch == 1)
        #expect(moved.baseSequence == 0)
    }

    @Test func bumpResequencesQueuedRetries() {
        var accumulator = RecordAccumulator(batchSize: 200, maxRequestSize: 10_000, linger: .zero)
        var idempotence = IdempotenceState(enabled: true)
        idempotence.receive(producerID: 42, epoch: 0)
        let now = ContinuousClock.now
        let cache = metadata(partitions: 1)
        var sent = [ProducerBatch]()
        for _ in 0..<3 {
            _ = append(&accumulator, partition: 0, bytes: 100, now: now)
            let drained = accumulator.drain(now: now, metadata: cache, flushing: false,
                                            idempotence: idempotence) { _ in true }
            sent.append(drained.requests[1]![0])
        }
        #expect(sent.map(\.baseSequence) == [0, 1, 2])

        // The first batch failed for good; the two behind it come back and wait for the bump.
        _ = accumulator.complete(sent[0], wasInFlight: true)
        idempotence.requestEpochBump(topic: "t", partition: 0)
        for batch in sent[1...] {
            batch.attempts = 1
            accumulator.requeue(batch, retryAt: now)
        }
        let waiting = accumulator.drain(now: now, metadata: cache, flushing: false,
                                        idempotence: idempotence) { _ in true }
        #expect(waiting.requests.isEmpty)
        idempotence.startBump()
        #expect(idempotence.bumpFrom?.producerID == 42)
        #expect(idempotence.bumpFrom?.epoch == 0)
        let reset = idempotence.receive(producerID: 42, epoch: 1)
        #expect(reset == [IdempotenceState.Partition(topic: "t", partition: 0)])
        accumulator.restartSequences(for: reset)
        var resent = [ProducerBatch]()
        for _ in 0..<2 {
            let drained = accumulator.drain(now: now, metadata: cache, flushing: false,
                                            idempotence: idempotence) { _ in true }
            if let batch = drained.requests[1]?.first {
                resent.append(batch)
                _ = accumulator.complete(batch, wasInFlight: true)
            }
        }
        #expect(resent.map(\.id) == [sent[1].id, sent[2].id])
        #expect(resent.map(\.baseSequence) == [0, 1])
        #expect(resent.map(\.producerEpoch) == [1, 1])
    }

    @Test func splitKeepsRecordsAndOrder() throws {
        var accumulator = RecordAccumulator(batchSize: 10_000, maxRequestSize: 100_000, linger: .zero)
        let now = ContinuousClock.now
        for index in 0..<5 {
            _ = accumulator.append(topic: "t", partition: 0, key: [UInt8(index)], value: [UInt8(index), 9],
                                   headers: [KafkaHeader(key: "h", value: [1])], timestamp: 1_000 + Int64(index),
                                   reservedBytes: 20, now: now)
        }
        let drained = accumulator.drain(now: now, metadata: metadata(partitions: 1), flushing: true,
                                        idempotence: IdempotenceState(enabled: false)) { _ in true }
        let batch = drained.requests[1]![0]
        let split = accumulator.replaceWithSplit(batch, now: now)
        let parts = try #require(split)
        // Five 15-byte records: each part takes at most half the record bytes (38), so two records.
        #expect(parts.map(\.recordCount) == [2, 2, 1])
        #expect(parts[1].baseTimestamp == 1_002)
        #expect(parts[2].baseTimestamp == 1_004)
        let again = accumulator.drain(now: now, metadata: metadata(partitions: 1), flushing: true,
                                      idempotence: IdempotenceState(enabled: false)) { _ in true }
        #expect(again.requests[1]?.first === parts[0])
    }
}

@Suite struct SequenceNumberTests {
    @Test func wrapsPastInt32Max() {
        #expect(SequenceNumber.adding(5, to: Int32.max - 2) == 2)
        #expect(SequenceNumber.adding(1, to: Int32.max) == 0)
        #expect(SequenceNumber.adding(10, to: 0) == 10)
    }

    @Test func orderAcrossWrap() {
        #expect(SequenceNumber.precedes(Int32.max - 1, 3))
        #expect(!SequenceNumber.precedes(3, Int32.max - 1))
        #expect(SequenceNumber.precedes(0, 5))
        #expect(!SequenceNumber.precedes(5, 5))
    }
}

@Suite struct BufferAccountingTests {
    @Test func reserveFailsOnceLimitIsReached() {
        var buffer = BufferAccounting(limit: 100, maxBlock: .seconds(1))
        let first = buffer.tryReserve(80)
        let second = buffer.tryReserve(30)
        #expect(first)
        #expect(!second)
        #expect(buffer.used == 80)
        #expect(buffer.available == 20)
    }

    private final class SharedBuffer: Sendable {
        let buffer = Mutex(BufferAccounting(limit: 100, maxBlock: .seconds(10)))
        let resumed = Mutex<[String]>([])

        func wait(_ name: String, bytes: Int) -> Task<Void, Never> {
            Task {
                let result = await withUnsafeContinuation { continuation in
                    buffer.withLock {
                        $0.addWaiter(.init(bytes: bytes, deadline: .now + .seconds(10), continuation: continuation))
                    }
                }
                if case .success = result { resumed.withLock { $0.append(name) } }
            }
        }
    }

    @Test func waitersResumeInOrderWhenBytesReturn() async throws {
        let shared = SharedBuffer()
        #expect(shared.buffer.withLock { $0.tryReserve(100) })
        let first = shared.wait("first", bytes: 60)
        while shared.buffer.withLock({ !$0.hasWaiters }) { try await Task.sleep(for: .milliseconds(1)) }
        let second = shared.wait("second", bytes: 30)
        try await Task.sleep(for: .milliseconds(20))
        // 50 bytes back: not enough for the first waiter, and the second may not pass it.
        let none = shared.buffer.withLock { $0.release(50) }
        #expect(none.isEmpty)
        let both = shared.buffer.withLock { $0.release(50) }
        #expect(both.count == 2)
        for continuation in both { continuation.resume(returning: .success(())) }
        await first.value
        await second.value
        #expect(shared.resumed.withLock { $0 }.sorted() == ["first", "second"])
        #expect(shared.buffer.withLock { $0.used } == 90)
    }

    @Test func metadataRefreshAfterErrorWaitsOnlyRetryBackoff() {
        var cache = MetadataCache(maxAge: .seconds(300), retryBackoff: .milliseconds(100))
        let start = ContinuousClock.now
        cache.markRequestSent(now: start)
        cache.update(brokers: [:], topics: [:], now: start)
        #expect(cache.nextRefresh(now: start) == start + .seconds(300))
        cache.requestRefresh()
        #expect(cache.nextRefresh(now: start) == start + .milliseconds(100))
    }
}

@Suite struct RetryBackoffTests {
    @Test func doublesUpToMaximumWithJitter() {
        let backoff = RetryBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        let bases: [(attempts: Int, base: Duration)] = [
            (1, .milliseconds(100)), (2, .milliseconds(200)), (3, .milliseconds(400)),
            (4, .milliseconds(800)), (5, .seconds(1)), (30, .seconds(1)),
        ]
        for (attempts, base) in bases {
            for _ in 0..<50 {
                let delay = backoff.delay(afterAttempts: attempts, using: &generator)
                #expect(delay >= base * 0.8, "attempt \(attempts): \(delay)")
                #expect(delay <= base * 1.2, "attempt \(attempts): \(delay)")
            }
        }
    }

    @Test func retryNeverPassesDeliveryDeadline() {
        let backoff = RetryBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        let now = ContinuousClock.now
        let deadline = now + .milliseconds(50)
        let retryAt = backoff.retryTime(afterAttempts: 3, now: now, deadline: deadline, using: &generator)
        #expect(retryAt == deadline)
    }
}

@testable import Kafka
import Testing

/// Drains where every partition always has a ready batch but a request has room for only some of
/// them: each partition, of every topic, must still get its turn.
@Suite struct AccumulatorDrainFairnessTests {
    private func metadata(topics: [String], partitions: Int, leader: Int32 = 1) -> MetadataCache {
        var cache = MetadataCache(maxAge: .seconds(300), retryBackoff: .milliseconds(100))
        var entries: [String: MetadataCache.Topic] = [:]
        for topic in topics {
            entries[topic] = .init(
                errorCode: 0, leaders: Array(repeating: leader, count: partitions),
                leaderEpochs: Array(repeating: 0, count: partitions))
        }
        cache.update(brokers: [1: .init(host: "127.0.0.1", port: 1)], topics: entries, now: .now)
        return cache
    }

    private func metadata(leaders: [Int32]) -> MetadataCache {
        var cache = MetadataCache(maxAge: .seconds(300), retryBackoff: .milliseconds(100))
        cache.update(
            brokers: [1: .init(host: "127.0.0.1", port: 1), 2: .init(host: "127.0.0.1", port: 2)],
            topics: ["t": .init(errorCode: 0, leaders: leaders, leaderEpochs: leaders.map { _ in 0 })],
            now: .now)
        return cache
    }

    private func append(
        _ accumulator: inout RecordAccumulator, topic: String, partition: Int32, bytes: Int,
        now: ContinuousClock.Instant
    ) {
        _ = accumulator.append(
            topic: topic, partition: partition, key: nil, value: Array(repeating: 7, count: bytes),
            headers: [], timestamp: 1_700_000_000_000, reservedBytes: bytes, now: now)
    }

    @Test func drainsTakeTurnsAcrossTopics() {
        // Each request has room for one 3 KB batch and both topics always have a ready batch for
        // the same broker. A drain that always visited the topics in one order would send only
        // the first topic.
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 5_000, linger: .zero)
        let now = ContinuousClock.now
        let topics = ["alpha", "beta"]
        let cache = metadata(topics: topics, partitions: 1)
        var sent: [String: Int] = [:]
        for _ in 0..<6 {
            for topic in topics {
                append(&accumulator, topic: topic, partition: 0, bytes: 3_000, now: now)
            }
            let drained = accumulator.drain(
                now: now, metadata: cache, flushing: false,
                idempotence: IdempotenceState(enabled: false)) { _ in true }
            let batches = drained.requests[1] ?? []
            #expect(batches.count == 1)
            for batch in batches {
                sent[batch.topic, default: 0] += 1
                _ = accumulator.complete(batch, wasInFlight: true)
            }
        }
        #expect(sent["alpha"] == 3, "sent per topic: \(sent)")
        #expect(sent["beta"] == 3, "sent per topic: \(sent)")
    }

    @Test func everyPartitionSentWithLeadersOnTwoBrokers() {
        // Seven partitions led by broker 1 and two by broker 2, one 3 KB batch per request, and
        // every partition always has a ready batch. Each partition must get a turn, and a fair
        // share of its broker's turns.
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 5_000, linger: .zero)
        let now = ContinuousClock.now
        let leaders: [Int32] = [1, 1, 1, 1, 1, 1, 1, 2, 2]
        let cache = metadata(leaders: leaders)
        var sent = Array(repeating: 0, count: leaders.count)
        for _ in 0..<60 {
            for partition in leaders.indices {
                append(&accumulator, topic: "t", partition: Int32(partition), bytes: 3_000, now: now)
            }
            let drained = accumulator.drain(
                now: now, metadata: cache, flushing: false,
                idempotence: IdempotenceState(enabled: false)) { _ in true }
            #expect(drained.requests[1]?.count == 1)
            #expect(drained.requests[2]?.count == 1)
            for batch in drained.requests.values.joined() {
                sent[Int(batch.partition)] += 1
                _ = accumulator.complete(batch, wasInFlight: true)
            }
        }
        for partition in leaders.indices {
            #expect(sent[partition] > 0, "partition \(partition) never sent; sent per partition: \(sent)")
        }
        // Each leader keeps its own drain start, so broker 2's two partitions share its turns.
        // With one start per topic, its first partition won 52 of 60 against 8.
        #expect(sent[7] <= 2 * sent[8], "sent per partition: \(sent)")
        #expect(sent[8] <= 2 * sent[7], "sent per partition: \(sent)")
    }

    @Test func partitionCountShrinksAndGrowsBetweenDrains() {
        // The drain start points past the partitions that metadata later drops. Drains must not
        // index out of range, and must ask for metadata while a queued partition has no leader.
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 5_000, linger: .zero)
        let now = ContinuousClock.now
        for partition in 0..<6 {
            append(&accumulator, topic: "t", partition: Int32(partition), bytes: 3_000, now: now)
        }
        var sent: [Int32] = []
        for leaders: [Int32] in [[1, 1, 1, 1, 1, 1], [1, 1], [1, 1, 1, 1, 1, 1, 1, 1], [1]] {
            let cache = metadata(leaders: leaders)
            for partition in 0..<leaders.count {
                append(&accumulator, topic: "t", partition: Int32(partition), bytes: 3_000, now: now)
            }
            for _ in 0..<20 {
                let drained = accumulator.drain(
                    now: now, metadata: cache, flushing: false,
                    idempotence: IdempotenceState(enabled: true)) { _ in true }
                for batch in drained.requests.values.joined() {
                    #expect(Int(batch.partition) < leaders.count)
                    sent.append(batch.partition)
                    _ = accumulator.complete(batch, wasInFlight: true)
                }
            }
            let afterShrink = accumulator.drain(
                now: now, metadata: cache, flushing: false,
                idempotence: IdempotenceState(enabled: true)) { _ in true }
            let queuedBeyond = accumulator.topics["t"]!.partitions.indices.dropFirst(leaders.count)
                .contains { !accumulator.topics["t"]!.partitions[$0].batches.isEmpty }
            #expect(afterShrink.needsMetadata == queuedBeyond, "leaders: \(leaders)")
        }
        #expect(Set(sent) == Set(0..<8))
    }

    @Test func sequencesStayContiguousAcrossTopicsWithRetries() {
        // Two topics of two partitions on one broker, room for two 3 KB batches per request, and
        // every third batch sent comes back for a retry. Each partition's acknowledged batches
        // must carry contiguous sequences from 0, whichever topic a drain visits first.
        var accumulator = RecordAccumulator(batchSize: 4_000, maxRequestSize: 7_000, linger: .zero)
        var idempotence = IdempotenceState(enabled: true)
        idempotence.receive(producerID: 42, epoch: 0)
        let now = ContinuousClock.now
        let topics = ["alpha", "beta"]
        let cache = metadata(topics: topics, partitions: 2)
        var nextSequence: [String: Int32] = [:]
        var acknowledged: [String: Int] = [:]
        var sentCount = 0
        for round in 0..<150 {
            if round < 30 {
                for topic in topics {
                    for partition: Int32 in 0..<2 {
                        append(&accumulator, topic: topic, partition: partition, bytes: 3_000, now: now)
                    }
                }
            }
            let drained = accumulator.drain(
                now: now, metadata: cache, flushing: false, idempotence: idempotence) { _ in true }
            for batch in drained.requests.values.joined() {
                sentCount += 1
                let key = "\(batch.topic)-\(batch.partition)"
                if sentCount % 3 == 0 {
                    batch.attempts += 1
                    accumulator.requeue(batch, retryAt: now)
                    continue
                }
                #expect(batch.baseSequence == nextSequence[key, default: 0], "\(key) in round \(round)")
                nextSequence[key] = batch.baseSequence + batch.recordCount
                acknowledged[key, default: 0] += 1
                _ = accumulator.complete(batch, wasInFlight: true)
            }
        }
        for topic in topics {
            for partition in 0..<2 {
                #expect(acknowledged["\(topic)-\(partition)"] == 30, "acknowledged: \(acknowledged)")
            }
        }
    }
}

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
}

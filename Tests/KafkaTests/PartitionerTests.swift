@testable import Kafka
import Testing

@Suite struct PartitionerTests {
    private func partition(_ key: String, count: Int32) -> Int32 {
        var accumulator = RecordAccumulator(batchSize: 1_000_000, maxRequestSize: 1_048_576, linger: .zero)
        return accumulator.choosePartition(topic: "t", key: Array(key.utf8), partitionCount: count,
                                           partitioner: .default) { _ in true }
    }

    @Test func foobarOnTwelvePartitionsIsSix() {
        // murmur2("foobar") = -790332482; & 0x7fffffff = 1357151166; % 12 = 6. abs() would give 2.
        #expect(partition("foobar", count: 12) == 6)
    }

    @Test func javaPartitionsForKnownHashes() {
        // Hashes from Kafka's UtilsTest.testMurmur2, reduced the way BuiltInPartitioner does.
        let cases: [(String, Int32)] = [
            ("21", -973932308), ("foobar", -790332482), ("a-little-bit-long-string", -985981536),
            ("abc", 479470107),
        ]
        for (key, hash) in cases {
            let expected = Int32((Int64(hash) & 0x7fff_ffff) % 7)
            #expect(partition(key, count: 7) == expected, "key \(key)")
        }
    }

    @Test func emptyKeyIsHashedNotSticky() {
        let first = partition("", count: 1000)
        for _ in 0..<5 {
            let again = partition("", count: 1000)
            #expect(again == first)
        }
    }

    @Test func keylessRecordsStickUntilBatchIsDrained() {
        var accumulator = RecordAccumulator(batchSize: 1_000_000, maxRequestSize: 1_048_576, linger: .zero)
        let choose = {
            accumulator.choosePartition(topic: "t", key: nil, partitionCount: 50, partitioner: .default) { _ in true }
        }
        let first = choose()
        for _ in 0..<20 {
            let again = choose()
            #expect(again == first)
        }
        let now = ContinuousClock.now
        _ = accumulator.append(topic: "t", partition: first, key: nil, value: [1], headers: [], timestamp: 1,
                               reservedBytes: 10, now: now)
        var metadata = MetadataCache(maxAge: .seconds(300), retryBackoff: .milliseconds(100))
        metadata.update(brokers: [1: .init(host: "127.0.0.1", port: 1)],
                        topics: ["t": .init(errorCode: 0, leaders: Array(repeating: 1, count: 50),
                                            leaderEpochs: Array(repeating: 0, count: 50))], now: now)
        let drained = accumulator.drain(now: now, metadata: metadata, flushing: true,
                                        idempotence: IdempotenceState(enabled: false)) { _ in true }
        #expect(drained.requests[1]?.count == 1)
        // The sticky partition's batch left, so the next keyless record draws a new partition.
        #expect(accumulator.topics["t"]?.stickyPartition == nil)
        let next = choose()
        #expect(accumulator.topics["t"]?.stickyPartition == next)
    }

    @Test func customPartitionerIsUsed() {
        var accumulator = RecordAccumulator(batchSize: 1_000_000, maxRequestSize: 1_048_576, linger: .zero)
        let partitioner = KafkaPartitioner.custom { _, key, count in Int32(key?.count ?? 0) % count }
        let chosen = accumulator.choosePartition(topic: "t", key: [1, 2, 3], partitionCount: 5,
                                                 partitioner: partitioner) { _ in true }
        #expect(chosen == 3)
    }
}

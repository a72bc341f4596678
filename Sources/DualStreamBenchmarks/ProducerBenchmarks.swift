import Foundation
import Glibc
import DualStreamLogging
import Kafka

/// `dualstream-bench producer [mode] [options]`: the Kafka producer next to librdkafka.
///
/// Without a mode (or with `compare`) it runs this producer and librdkafka (confluent-kafka, through
/// `scripts/bench/librdkafka_producer.py`) one after the other, each in its own process, with the
/// same workload: 1,000 keys, acks=all, idempotence on, linger 5 ms, 6 partitions. Each run gets a
/// new Tansu broker with memory storage on a free loopback port (`--broker shared` keeps one) and a
/// fresh topic, and the client that goes first alternates from pair to pair. It prints each pair's
/// ratio, the medians, CPU seconds per million records of both clients and of Tansu, peak resident
/// memory, Produce request counts and sizes, then single-record latency with linger 0.
///
/// Modes used by `compare` and by the tests each print one JSON line. `swift-throughput` and
/// `swift-latency` need `--bootstrap` and `--topic`. `buffer-limit` enqueues 1 KiB records into a
/// broker that never responds to Produce until the 16 MiB buffer is full, then reports VmHWM and
/// VmRSS from /proc/self/status.
enum ProducerBenchmarks {
    struct Options {
        var mode = "compare"
        var bootstrap = ""
        var topic = ""
        var records = 1_000_000
        var size = 200
        var keys = 1_000
        var sizes = [200, 1_024]
        var latencyRecords = 2_000
        var script = "scripts/bench/librdkafka_producer.py"
        var bufferBytes = 16 * 1024 * 1024
        var maxBlockMilliseconds = 1_000
        var repeats = 3
        /// A new broker for every throughput run, so neither client meets a broker that already
        /// contains the other's records. `--broker shared` runs all on one broker.
        var brokerPerRun = true
        /// `batchSize` and `maxRequestSize` of our producer in `swift-throughput`, to see how the
        /// shape of Produce requests changes the broker's work. `compare` keeps the defaults.
        var batchBytes = 1_000_000
        var requestBytes = 1_048_576

        init(_ arguments: [String]) throws {
            var remaining = arguments[...]
            if let first = remaining.first, !first.hasPrefix("--") {
                mode = first
                remaining = remaining.dropFirst()
            }
            while let flag = remaining.popFirst() {
                guard let value = remaining.popFirst() else { throw BenchmarkError("\(flag) needs a value") }
                switch flag {
                case "--bootstrap": bootstrap = value
                case "--topic": topic = value
                case "--records": records = try Self.positive(value, flag)
                case "--size": size = try Self.positive(value, flag)
                case "--keys": keys = try Self.positive(value, flag)
                case "--sizes": sizes = try value.split(separator: ",").map { try Self.positive(String($0), flag) }
                case "--latency-records": latencyRecords = try Self.positive(value, flag)
                case "--script": script = value
                case "--buffer-bytes": bufferBytes = try Self.positive(value, flag)
                case "--max-block-ms": maxBlockMilliseconds = try Self.positive(value, flag)
                case "--batch-bytes": batchBytes = try Self.positive(value, flag)
                case "--request-bytes": requestBytes = try Self.positive(value, flag)
                case "--repeat": repeats = try Self.positive(value, flag)
                case "--broker":
                    guard value == "per-run" || value == "shared" else {
                        throw BenchmarkError("--broker must be per-run or shared, got \(value)")
                    }
                    brokerPerRun = value == "per-run"
                default: throw BenchmarkError("unknown option \(flag)")
                }
            }
        }

        static func positive(_ text: String, _ flag: String) throws -> Int {
            guard let value = Int(text), value > 0 else { throw BenchmarkError("\(flag) must be a positive integer") }
            return value
        }
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func run(arguments: [String]) async throws {
        let options = try Options(arguments)
        switch options.mode {
        case "compare":
            try await ProducerComparison(options: options).run()
        case "swift-throughput":
            try printJSON(await throughput(options))
        case "swift-latency":
            try printJSON(await latency(options))
        case "buffer-limit":
            try printJSON(await bufferLimit(options))
        default:
            print("usage: dualstream-bench producer [compare|swift-throughput|swift-latency|buffer-limit] "
                + "[--bootstrap HOST:PORT] [--topic NAME] [--records N] [--size BYTES] [--sizes 200,1024] "
                + "[--keys N] [--latency-records N] [--repeat N] [--broker per-run|shared] [--script PATH] "
                + "[--buffer-bytes N] [--max-block-ms N] [--batch-bytes N] [--request-bytes N]")
        }
    }

    static func printJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func keys(_ count: Int) -> [[UInt8]] {
        (0..<count).map { Array(String(format: "key-%04d", $0).utf8) }
    }

    static func randomValue(_ size: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    }

    static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    // MARK: Modes

    static func throughput(_ options: Options) async throws -> [String: Any] {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [options.bootstrap])
        configuration.linger = .milliseconds(5)
        configuration.acks = .all
        configuration.batchSize = options.batchBytes
        configuration.maxRequestSize = options.requestBytes
        let stats = ProduceRequestStats()
        let producer = try KafkaProducer(configuration: configuration, logger: stats.logger)
        let keys = keys(options.keys)
        let value = randomValue(options.size)
        // Warm-up: connect, fetch metadata and the producer id before the clock starts.
        _ = try await producer.send(ProducerRecord(topic: options.topic, key: keys[0], value: value))
        stats.reset()

        let cpuStart = cpuSeconds()
        let start = ContinuousClock.now
        var sampled = [DeliveryHandle]()
        sampled.reserveCapacity(options.records / 1_000 + 1)
        for index in 0..<options.records {
            let handle = try await producer.enqueue(
                ProducerRecord(topic: options.topic, key: keys[index % keys.count], value: value))
            if index % 1_000 == 999 || index == options.records - 1 { sampled.append(handle) }
        }
        try await producer.flush(timeout: .seconds(300))
        let elapsed = seconds(ContinuousClock.now - start)
        let cpu = cpuSeconds() - cpuStart
        let requestFields = ProduceRequestStats.fields(stats.snapshot, seconds: elapsed)
        var failed = 0
        for handle in sampled {
            if case .failure = await handle.result() { failed += 1 }
        }
        await producer.close(timeout: .seconds(5))
        let result: [String: Any] = [
            "client": "dualstream-swift", "records": options.records, "size": options.size,
            "sampled_failures": failed, "seconds": elapsed,
            "records_per_second": Double(options.records) / elapsed, "cpu_seconds": cpu,
            "cpu_seconds_per_million": cpu / Double(options.records) * 1_000_000,
            "peak_rss_mib": peakResidentMiB(),
        ]
        return result.merging(requestFields) { current, _ in current }
    }

    static func latency(_ options: Options) async throws -> [String: Any] {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [options.bootstrap])
        configuration.linger = .zero
        let producer = try KafkaProducer(configuration: configuration)
        let keys = keys(options.keys)
        let value = randomValue(options.size)
        _ = try await producer.send(ProducerRecord(topic: options.topic, key: keys[0], value: value))
        var samples = [Double]()
        samples.reserveCapacity(options.records)
        for index in 0..<options.records {
            let start = ContinuousClock.now
            _ = try await producer.send(ProducerRecord(topic: options.topic, key: keys[index % keys.count],
                                                       value: value))
            samples.append(seconds(ContinuousClock.now - start) * 1_000_000)
        }
        await producer.close(timeout: .seconds(5))
        samples.sort()
        return [
            "client": "dualstream-swift", "records": options.records, "size": options.size,
            "p50_us": samples[samples.count / 2],
            "p99_us": samples[min(samples.count - 1, samples.count * 99 / 100)],
        ]
    }

    static func bufferLimit(_ options: Options) async throws -> [String: Any] {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [options.bootstrap])
        configuration.bufferMemory = options.bufferBytes
        configuration.maxBlock = .milliseconds(options.maxBlockMilliseconds)
        configuration.requestTimeout = .seconds(120)
        configuration.deliveryTimeout = .seconds(120)
        let producer = try KafkaProducer(configuration: configuration)
        let value = randomValue(1_024)
        let key = Array("key".utf8)
        var enqueued = 0
        var failure: KafkaProducerError?
        var blocked = Duration.zero
        for _ in 0..<options.records {
            let start = ContinuousClock.now
            do {
                _ = try await producer.enqueue(ProducerRecord(topic: options.topic, key: key, value: value))
                enqueued += 1
            } catch {
                blocked = ContinuousClock.now - start
                failure = error
                break
            }
        }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func kib(_ field: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "") ?? -1
        }
        let hwm = kib("VmHWM")
        let rss = kib("VmRSS")
        await producer.close(timeout: .milliseconds(200))
        return [
            "enqueued": enqueued, "buffer_full": failure?.isBufferFull ?? false,
            "error": failure.map { "\($0)" } ?? "", "buffer_limit": failure?.bufferLimit ?? -1,
            "blocked_ms": seconds(blocked) * 1_000, "vm_hwm_kib": hwm, "vm_rss_kib": rss,
        ]
    }
}

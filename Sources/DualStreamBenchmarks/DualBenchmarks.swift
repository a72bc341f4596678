import DualStream
import Foundation
import Glibc
import Kafka
import Redis

/// `dualstream-bench dual [compare|run] [options]`: dual publishing next to Kafka-only publishing
/// and next to the same job written with confluent-kafka and redis-py.
///
/// `compare` (the default) runs `--rounds` rounds. Each round starts Tansu (memory storage) and
/// redis-server on free loopback ports with `scripts/start-services`, then runs three jobs one
/// after the other, each in its own process on its own topic of 6 partitions:
/// - `kafka`: our `KafkaProducer` alone, in batches of `--batch-size` enqueued together then
///   awaited, `--concurrency` batches in flight;
/// - `dual`: `DualPublisher.publishBatch` with the same batches and concurrency, timed until
///   Kafka acknowledged every event and Redis replied to every notification;
/// - `python`: `scripts/bench/dual_confluent_redispy.py`.
/// `run --job publisher` times `DualPublisher` without Redis, which separates the publisher's own
/// cost from the Redis side.
/// The input is the GH Archive sample repeated `--copies` times (copy k gets the id suffix -k).
/// Events are mapped before the clock starts, and every job uses acks=all, idempotence and a
/// 5 ms linger. The best round of each job is reported, with the ratios.
enum DualBenchmarks {
    struct Options {
        var mode = "compare"
        var job = "dual"
        var bootstrap = ""
        var redisURL = ""
        var topic = ""
        var input = ""
        var copies = 80
        var batchSize = 1_000
        var concurrency = 4
        var rounds = 3
        var partitions = 6
        /// `RedisConfiguration.spinBeforeWait` of the dual job, in microseconds; nil keeps the
        /// library's default.
        var redisSpinMicroseconds: Int?

        init(_ arguments: [String]) throws {
            var remaining = arguments[...]
            if let first = remaining.first, !first.hasPrefix("--") {
                mode = first
                remaining = remaining.dropFirst()
            }
            while let flag = remaining.popFirst() {
                guard let value = remaining.popFirst() else { throw BenchmarkError("\(flag) needs a value") }
                switch flag {
                case "--job": job = value
                case "--bootstrap": bootstrap = value
                case "--redis-url": redisURL = value
                case "--topic": topic = value
                case "--input": input = value
                case "--copies": copies = try Self.positive(value, flag)
                case "--batch-size": batchSize = try Self.positive(value, flag)
                case "--concurrency": concurrency = try Self.positive(value, flag)
                case "--rounds": rounds = try Self.positive(value, flag)
                case "--partitions": partitions = try Self.positive(value, flag)
                case "--redis-spin-us":
                    guard let microseconds = Int(value), (0...1_000).contains(microseconds) else {
                        throw BenchmarkError("--redis-spin-us needs microseconds from 0 to 1000, got \(value)")
                    }
                    redisSpinMicroseconds = microseconds
                default: throw BenchmarkError("unknown option \(flag)")
                }
            }
            if input.isEmpty {
                input = DualBenchmarks.packageRoot + "/../shared/data/gharchive-sample.jsonl"
            }
        }

        static func positive(_ text: String, _ flag: String) throws -> Int {
            guard let value = Int(text), value > 0 else {
                throw BenchmarkError("\(flag) must be a positive integer")
            }
            return value
        }
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The package root, from this file's path: `<root>/Sources/DualStreamBenchmarks/DualBenchmarks.swift`.
    static var packageRoot: String {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/")
    }

    static func run(arguments: [String]) async throws {
        let options = try Options(arguments)
        switch options.mode {
        case "compare":
            try await DualComparison(options: options).run()
        case "run":
            let result = try await measure(options)
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        default:
            print(
                "usage: dualstream-bench dual [compare|run] [--job kafka|dual] [--bootstrap HOST:PORT] "
                    + "[--redis-url URL] [--topic NAME] [--input FILE] [--copies N] [--batch-size N] "
                    + "[--concurrency N] [--rounds N] [--partitions N] [--redis-spin-us N]")
        }
    }

    /// Maps the sample to events once, then repeats them. Copies share their payload storage.
    static func loadEvents(_ options: Options) throws -> [Event] {
        let data = try Data(contentsOf: URL(fileURLWithPath: options.input))
        var base: [Event] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            let bytes = [UInt8](line)
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                let type = object["type"] as? String
            else { throw BenchmarkError("line without a type in \(options.input)") }
            let id: String
            let source: String
            if let repo = object["repo"] as? [String: Any], let name = repo["name"] as? String {
                id = object["id"] as? String ?? fnv1a64(bytes)
                source = name
            } else if let repository = object["repository"] as? [String: Any],
                let owner = repository["owner"] as? String, let name = repository["name"] as? String
            {
                id = fnv1a64(bytes)
                source = owner + "/" + name
            } else {
                throw BenchmarkError("line without repo or repository in \(options.input)")
            }
            base.append(Event(id: id, type: type, sourceType: "repo", sourceID: source, payload: bytes))
        }
        var events: [Event] = []
        events.reserveCapacity(base.count * options.copies)
        for copy in 0..<options.copies {
            for event in base {
                var repeated = event
                repeated.id = "\(event.id)-\(copy)"
                events.append(repeated)
            }
        }
        return events
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return "fnv1a64-" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Batches of `batchSize` consecutive events; task `t` of `concurrency` takes batches t, t+n, ….
    static func batches(_ count: Int, _ options: Options) -> [[Range<Int>]] {
        let all = stride(from: 0, to: count, by: options.batchSize).map {
            $0..<min(count, $0 + options.batchSize)
        }
        return (0..<options.concurrency).map { task in
            stride(from: task, to: all.count, by: options.concurrency).map { all[$0] }
        }
    }

    static func measure(_ options: Options) async throws -> [String: Any] {
        let events = try loadEvents(options)
        var kafka = KafkaProducerConfiguration(bootstrapServers: [options.bootstrap])
        kafka.linger = .milliseconds(5)
        kafka.acks = .all
        kafka.enableIdempotence = true
        let work = batches(events.count, options)
        switch options.job {
        case "kafka":
            return try await measureKafkaOnly(events, kafka, work, options)
        case "dual":
            return try await measureDual(events, kafka, work, options, redis: true)
        case "publisher":
            return try await measureDual(events, kafka, work, options, redis: false)
        default:
            throw BenchmarkError("unknown --job \(options.job): expected kafka, dual or publisher")
        }
    }

    static func measureKafkaOnly(
        _ events: [Event], _ kafka: KafkaProducerConfiguration, _ work: [[Range<Int>]], _ options: Options
    ) async throws -> [String: Any] {
        let producer = try KafkaProducer(configuration: kafka)
        let topic = options.topic
        func record(_ event: Event) -> ProducerRecord {
            ProducerRecord(
                topic: topic, key: Array(event.sourceID.utf8), value: event.payload,
                headers: [
                    KafkaHeader(key: "event-id", value: Array(event.id.utf8)),
                    KafkaHeader(key: "event-type", value: Array(event.type.utf8)),
                    KafkaHeader(key: "source-type", value: Array(event.sourceType.utf8)),
                ])
        }
        _ = try await producer.send(record(events[0]))
        let started = ContinuousClock.now
        let acknowledged = await withTaskGroup(of: Int.self) { group in
            for ranges in work {
                group.addTask {
                    var acknowledged = 0
                    for range in ranges {
                        var handles: [DeliveryHandle] = []
                        handles.reserveCapacity(range.count)
                        for index in range {
                            if let handle = try? await producer.enqueue(record(events[index])) {
                                handles.append(handle)
                            }
                        }
                        for handle in handles {
                            if case .success = await handle.result() { acknowledged += 1 }
                        }
                    }
                    return acknowledged
                }
            }
            return await group.reduce(0, +)
        }
        let elapsed = seconds(ContinuousClock.now - started)
        await producer.close(timeout: .seconds(30))
        return [
            "job": "kafka", "events": events.count, "acknowledged": acknowledged, "seconds": elapsed,
            "events_per_second": Double(acknowledged) / elapsed,
        ]
    }

    static func measureDual(
        _ events: [Event], _ kafka: KafkaProducerConfiguration, _ work: [[Range<Int>]], _ options: Options,
        redis: Bool
    ) async throws -> [String: Any] {
        var configuration = DualPublisherConfiguration(topic: options.topic)
        configuration.notificationQueueCapacity = events.count + 1
        var redisConfiguration = redis ? try RedisConfiguration(url: options.redisURL) : nil
        if let microseconds = options.redisSpinMicroseconds {
            redisConfiguration?.spinBeforeWait = .microseconds(microseconds)
        }
        let publisher = try DualPublisher(kafka: kafka, redis: redisConfiguration, configuration: configuration)
        _ = try await publisher.publish(events[0])
        while redis && publisher.statistics.redisSent + publisher.statistics.redisFailed < 1 {
            try await Task.sleep(for: .milliseconds(1))
        }
        let before = publisher.statistics
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for ranges in work {
                group.addTask {
                    for range in ranges {
                        _ = await publisher.publishBatch(Array(events[range]))
                    }
                }
            }
        }
        var statistics = publisher.statistics
        while redis
            && statistics.redisSent + statistics.redisFailed + statistics.redisDropped
                < statistics.kafkaAcknowledged
        {
            try await Task.sleep(for: .milliseconds(1))
            statistics = publisher.statistics
        }
        let elapsed = seconds(ContinuousClock.now - started)
        await publisher.close()
        let acknowledged = statistics.kafkaAcknowledged - before.kafkaAcknowledged
        return [
            "job": redis ? "dual" : "publisher", "events": events.count, "acknowledged": acknowledged,
            "notifications_sent": statistics.redisSent - before.redisSent,
            "notifications_failed": statistics.redisFailed, "notifications_dropped": statistics.redisDropped,
            "seconds": elapsed, "events_per_second": Double(acknowledged) / elapsed,
            "kafka_ack_p50_ms": (statistics.kafkaAckLatencyP50.map(seconds) ?? 0) * 1_000,
            "kafka_ack_p99_ms": (statistics.kafkaAckLatencyP99.map(seconds) ?? 0) * 1_000,
        ]
    }
}

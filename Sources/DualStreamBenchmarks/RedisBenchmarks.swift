import Glibc
import Redis
import RedisWire
import SocketTransport

/// `dualstream-bench redis`: our RedisClient against `redis-benchmark` on one redis-server,
/// side by side in one run.
///
/// Every request is PUBLISH of a 100-byte notification to a channel with no subscribers.
/// - Pipelined on one connection: batches of 64 through `RedisClient.pipeline`, from a task on
///   the client's executor and from one on the default executor, and through the typed
///   `RedisClient.publish(_:)` batch from a task on the client's executor, against
///   `redis-benchmark -P 64 -c 1`. Also 64 concurrent publishers coalesced by the client's
///   automatic pipelining.
/// - Sequential round trips: one PUBLISH awaited at a time, on both executors, and one at a
///   time on the blocking `RedisConnection`, against `redis-benchmark -P 1 -c 1`.
/// Each scenario runs `--rounds` times, alternating ours and theirs, and the median is reported.
enum RedisBenchmarks {
    struct Options {
        var pipelinedCount = 1_000_000
        var sequentialCount = 50_000
        var rounds = 3
        var redisServer = "redis-server"
        var redisBenchmark = "redis-benchmark"
        /// Runs only one of our scenarios, for a profiler: `pipelined`, `pipelined-default`,
        /// `publish-batch`, `sequential`, `sequential-default` or `sequential-connection`.
        var profileScenario: String?
        /// Pins redis-server to this CPU (through `taskset`). Start the benchmark itself under
        /// `taskset -c M` to pin both clients, which run in this process or are spawned by it.
        var serverCPU: Int?
        /// ``RedisConfiguration/spinBeforeWait`` of our clients, in microseconds; nil keeps the
        /// library's default.
        var spinMicroseconds: Int?
    }

    static let channel = "events:push:12345"
    /// A 100-byte JSON notification shaped like the ones DualPublisher sends.
    static let notification: String = {
        var text = #"{"event_id":"1234567890","source_type":"push","source_id":"12345","offset":42,"pad":""#
        while text.utf8.count < 98 { text += "x" }
        return text + #""}"#
    }()

    static func run(arguments: [String]) async throws {
        let options = try parse(arguments)
        precondition(notification.utf8.count == 100)
        let port = try freePort()
        let serverArguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no",
        ]
        let server =
            if let cpu = options.serverCPU {
                try BenchmarkProcess.spawn("taskset", ["-c", String(cpu), options.redisServer] + serverArguments)
            } else {
                try BenchmarkProcess.spawn(options.redisServer, serverArguments)
            }
        defer { server.terminate() }
        try waitForServer(port: port)

        print(
            "redis-server \(port) on 127.0.0.1, CPU: \(cpuModel()), "
                + "\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores"
        )
        print("payload: \(notification.utf8.count) bytes on channel \(channel)")
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.maxPendingCommands = 100_000
        configuration.commandTimeout = .seconds(30)
        if let microseconds = options.spinMicroseconds {
            configuration.spinBeforeWait = .microseconds(microseconds)
        }
        let spin = configuration.spinBeforeWait.components
        print("our clients: spinBeforeWait \(spin.seconds * 1_000_000 + spin.attoseconds / 1_000_000_000_000) µs")
        if options.profileScenario == "sequential-connection" {
            let rate = try publishOnConnection(configuration, count: options.sequentialCount)
            print("sequential-connection: \(format(rate)) requests/s")
            return
        }
        let client = RedisClient(configuration: configuration)
        _ = try await client.ping()

        let executor = client.executor
        if let scenario = options.profileScenario {
            let rate = try await runProfiled(scenario, client: client, options: options)
            print("\(scenario): \(format(rate)) requests/s")
            await client.close()
            return
        }
        var results = Samples()
        var pipelinedPeer: [PeerRun] = []
        var sequentialPeer: [PeerRun] = []
        let pipelinedCount = options.pipelinedCount
        let sequentialCount = options.sequentialCount
        for round in 1...options.rounds {
            try await results.measure("pipelined", count: pipelinedCount) {
                try await withTaskExecutorPreference(executor) {
                    try await publishPipelined(client, count: pipelinedCount, depth: 64)
                }
            }
            pipelinedPeer.append(try runRedisBenchmark(options, port: port, pipeline: 64, count: pipelinedCount))
            try await results.measure("pipelined-default", count: pipelinedCount) {
                try await publishPipelined(client, count: pipelinedCount, depth: 64)
            }
            try await results.measure("publish-batch", count: pipelinedCount) {
                try await withTaskExecutorPreference(executor) {
                    try await publishBatches(client, count: pipelinedCount, depth: 64)
                }
            }
            try await results.measure("concurrent", count: pipelinedCount) {
                try await publishConcurrently(client, count: pipelinedCount, tasks: 64, executor: executor)
            }
            try await results.measure("sequential", count: sequentialCount) {
                try await withTaskExecutorPreference(executor) {
                    try await publishSequentially(client, count: sequentialCount)
                }
            }
            sequentialPeer.append(try runRedisBenchmark(options, port: port, pipeline: 1, count: sequentialCount))
            try await results.measure("sequential-default", count: sequentialCount) {
                try await publishSequentially(client, count: sequentialCount)
            }
            try await results.measure("sequential-connection", count: sequentialCount) {
                try publishOnConnection(configuration, count: sequentialCount)
            }
            let line = results.rates.keys.sorted().map { "\($0) \(format(results.rates[$0]!.last!))" }.joined(
                separator: ", ")
            print(
                "round \(round): \(line); redis-benchmark -P 64 \(format(pipelinedPeer.last!.rate)), "
                    + "-P 1 \(format(sequentialPeer.last!.rate))")
        }
        await client.close()
        let ourPeak = peakResidentKilobytes()

        let peerPipelined = median(pipelinedPeer.map(\.rate))
        let peerSequential = median(sequentialPeer.map(\.rate))
        let peerPipelinedPeak = "\(pipelinedPeer.map(\.peakKilobytes).max() ?? 0) kB"
        let peerSequentialPeak = "\(sequentialPeer.map(\.peakKilobytes).max() ?? 0) kB"
        let peerPipelinedCPU = median(pipelinedPeer.map(\.cpuMicrosecondsPerRequest))
        let peerSequentialCPU = median(sequentialPeer.map(\.cpuMicrosecondsPerRequest))
        let pipelinedPeerRow = (rate: peerPipelined, peak: peerPipelinedPeak, cpu: peerPipelinedCPU)
        let sequentialPeerRow = (rate: peerSequential, peak: peerSequentialPeak, cpu: peerSequentialCPU)
        let rows = [
            (
                "pipeline(), 64 per batch, task on client executor (n=\(options.pipelinedCount))",
                "pipelined", pipelinedPeerRow
            ),
            ("pipeline(), 64 per batch, default executor", "pipelined-default", pipelinedPeerRow),
            ("publish(_:) batch of 64, task on client executor", "publish-batch", pipelinedPeerRow),
            (
                "publish() from 64 concurrent tasks on client executor, automatic pipelining", "concurrent",
                pipelinedPeerRow
            ),
            (
                "publish() awaited one at a time, task on client executor (n=\(options.sequentialCount))",
                "sequential", sequentialPeerRow
            ),
            ("publish() awaited one at a time, default executor", "sequential-default", sequentialPeerRow),
            ("RedisConnection.publish() one at a time, blocking", "sequential-connection", sequentialPeerRow),
        ]
        print("")
        print(
            "| ours | ours (req/s) | redis-benchmark (req/s) | ratio | our CPU (µs/req) "
                + "| redis-benchmark CPU (µs/req) | our peak RSS | redis-benchmark peak RSS |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for (title, key, peer) in rows {
            let ours = median(results.rates[key] ?? [0])
            let ourCPU = median(results.cpu[key] ?? [0])
            print(
                "| \(title) | \(format(ours)) | \(format(peer.rate)) | \(ratio(ours, peer.rate)) "
                    + "| \(formatMicroseconds(ourCPU)) | \(formatMicroseconds(peer.cpu)) "
                    + "| \(ourPeak) kB | \(peer.peak) |"
            )
        }
        // Other load on the machine moves both sides, so ratios within one round, which share
        // that load, are reported too.
        func roundRatios(_ key: String, _ peer: [PeerRun]) -> String {
            let ratios = zip(results.rates[key] ?? [], peer).map { $0 / $1.rate }
            return "median \(ratio(median(ratios), 1)), rounds "
                + ratios.map { ratio($0, 1) }.joined(separator: " ")
        }
        print("")
        print("per-round ratios, pipelined on client executor: \(roundRatios("pipelined", pipelinedPeer))")
        print(
            "per-round ratios, pipelined on default executor: "
                + roundRatios("pipelined-default", pipelinedPeer))
        print(
            "per-round ratios, publish batch on client executor: "
                + roundRatios("publish-batch", pipelinedPeer))
        print("per-round ratios, sequential on client executor: \(roundRatios("sequential", sequentialPeer))")
        print(
            "per-round ratios, sequential on default executor: "
                + roundRatios("sequential-default", sequentialPeer))
        print(
            "per-round ratios, sequential on RedisConnection: "
                + roundRatios("sequential-connection", sequentialPeer))
        print(
            "redis-benchmark rows: -P 64 -c 1 for the first four, -P 1 -c 1 for the last three; medians of "
                + "\(options.rounds) rounds. Our peak RSS is getrusage(RUSAGE_SELF).ru_maxrss "
                + "for the whole run, "
                + "redis-benchmark's the largest maximum resident set size of its runs. CPU is user plus "
                + "system time per request: getrusage(RUSAGE_SELF) around each of our runs, all threads; "
                + "/usr/bin/time for redis-benchmark.")
    }

    /// Rates and CPU time per request of our runs, by scenario.
    struct Samples {
        var rates: [String: [Double]] = [:]
        var cpu: [String: [Double]] = [:]

        /// Runs `body`, which returns requests per second for `count` requests, and records its
        /// rate and the process's CPU time per request.
        mutating func measure(_ key: String, count: Int, _ body: () async throws -> Double) async rethrows {
            let cpuStart = ProducerBenchmarks.cpuSeconds()
            let rate = try await body()
            let cpuSeconds = ProducerBenchmarks.cpuSeconds() - cpuStart
            rates[key, default: []].append(rate)
            cpu[key, default: []].append(cpuSeconds / Double(count) * 1_000_000)
        }
    }

    /// One run of redis-benchmark.
    struct PeerRun {
        var rate: Double
        var peakKilobytes: Int
        /// User plus system time per request; zero when `/usr/bin/time` is missing.
        var cpuMicrosecondsPerRequest: Double
    }

    // MARK: our client

    static let profileScenarios = [
        "pipelined", "pipelined-default", "publish-batch", "sequential", "sequential-default",
        "sequential-connection",
    ]

    static func runProfiled(
        _ scenario: String, client: RedisClient, options: Options
    ) async throws -> Double {
        let executor = client.executor
        switch scenario {
        case "pipelined":
            return try await withTaskExecutorPreference(executor) {
                try await publishPipelined(client, count: options.pipelinedCount, depth: 64)
            }
        case "pipelined-default":
            return try await publishPipelined(client, count: options.pipelinedCount, depth: 64)
        case "publish-batch":
            return try await withTaskExecutorPreference(executor) {
                try await publishBatches(client, count: options.pipelinedCount, depth: 64)
            }
        case "sequential":
            return try await withTaskExecutorPreference(executor) {
                try await publishSequentially(client, count: options.sequentialCount)
            }
        default:
            return try await publishSequentially(client, count: options.sequentialCount)
        }
    }

    static func publishPipelined(_ client: RedisClient, count: Int, depth: Int) async throws -> Double {
        let channelBytes = Array(channel.utf8)
        let payload = Array(notification.utf8)
        let batch = Array(repeating: [Array("PUBLISH".utf8), channelBytes, payload], count: depth)
        let started = ContinuousClock.now
        var sent = 0
        while sent < count {
            let size = min(depth, count - sent)
            let results = await client.pipeline(size == depth ? batch : Array(batch.prefix(size)))
            for result in results {
                _ = try result.get()
            }
            sent += size
        }
        return rate(count, since: started)
    }

    /// Publishes `count` notifications in batches of `depth` through `RedisClient.publish(_:)`,
    /// reusing one batch array as ``publishPipelined(_:count:depth:)`` does.
    static func publishBatches(_ client: RedisClient, count: Int, depth: Int) async throws -> Double {
        let batch = Array(
            repeating: (channel: Array(channel.utf8), message: Array(notification.utf8)), count: depth)
        let started = ContinuousClock.now
        var sent = 0
        while sent < count {
            let size = min(depth, count - sent)
            let results = await client.publish(size == depth ? batch : Array(batch.prefix(size)))
            for result in results {
                _ = try result.get()
            }
            sent += size
        }
        return rate(count, since: started)
    }

    static func publishConcurrently(
        _ client: RedisClient, count: Int, tasks: Int, executor: any TaskExecutor
    ) async throws -> Double {
        let channelBytes = Array(channel.utf8)
        let payload = Array(notification.utf8)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                let share = count / tasks + (task < count % tasks ? 1 : 0)
                group.addTask(executorPreference: executor) {
                    for _ in 0..<share {
                        _ = try await client.publish(channel: channelBytes, message: payload)
                    }
                }
            }
            try await group.waitForAll()
        }
        return rate(count, since: started)
    }

    static func publishSequentially(_ client: RedisClient, count: Int) async throws -> Double {
        let channelBytes = Array(channel.utf8)
        let payload = Array(notification.utf8)
        let started = ContinuousClock.now
        for _ in 0..<count {
            _ = try await client.publish(channel: channelBytes, message: payload)
        }
        return rate(count, since: started)
    }

    /// Publishes `count` times on a new `RedisConnection`, one round trip at a time. It blocks
    /// the calling thread, one thread of the cooperative pool, for the run; nothing else runs
    /// meanwhile.
    static func publishOnConnection(_ configuration: RedisConfiguration, count: Int) throws -> Double {
        let connection = RedisConnection(configuration: configuration)
        defer { connection.close() }
        let channelBytes = Array(channel.utf8)
        let payload = Array(notification.utf8)
        _ = try connection.send("PING")
        let started = ContinuousClock.now
        for _ in 0..<count {
            _ = try connection.publish(channel: channelBytes, message: payload)
        }
        return rate(count, since: started)
    }

    // MARK: redis-benchmark

    /// Runs `redis-benchmark -P <pipeline> -c 1 -n <count> -q PUBLISH channel payload` under
    /// `/usr/bin/time -v` when available, otherwise samples VmHWM from /proc while it runs.
    static func runRedisBenchmark(
        _ options: Options, port: Int, pipeline: Int, count: Int
    ) throws -> PeerRun {
        let benchmarkArguments = [
            "-h", "127.0.0.1", "-p", String(port), "-P", String(pipeline), "-c", "1", "-n", String(count),
            "-q",
            "PUBLISH", channel, notification,
        ]
        let useTime = access("/usr/bin/time", X_OK) == 0
        let process =
            useTime
            ? try BenchmarkProcess.spawn(
                "/usr/bin/time", ["-v", options.redisBenchmark] + benchmarkArguments)
            : try BenchmarkProcess.spawn(options.redisBenchmark, benchmarkArguments)
        var sampledPeak = 0
        while process.isRunning {
            if !useTime {
                sampledPeak = max(sampledPeak, statusKilobytes(pid: process.pid, field: "VmHWM:"))
            }
            usleep(2_000)
        }
        let output = process.output()
        process.removeOutput()
        guard let rate = parseRequestsPerSecond(output) else {
            throw BenchmarkError("redis-benchmark printed no requests per second: \(output.suffix(500))")
        }
        let peak = useTime ? parseMaximumResident(output) ?? 0 : sampledPeak
        let cpuSeconds = (parseSeconds(output, "User time (seconds):") ?? 0)
            + (parseSeconds(output, "System time (seconds):") ?? 0)
        return PeerRun(
            rate: rate, peakKilobytes: peak, cpuMicrosecondsPerRequest: cpuSeconds / Double(count) * 1_000_000)
    }

    /// Takes the number before the last "requests per second" in `redis-benchmark -q` output.
    static func parseRequestsPerSecond(_ output: String) -> Double? {
        // -q prints progress lines ending in \r, then the final "...: 123.45 requests per second".
        let lines = output.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
        for line in lines.reversed() {
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(of: "requests"), index > 0,
                index + 2 < words.count, words[index + 1] == "per", words[index + 2].hasPrefix("second")
            else { continue }
            return Double(words[index - 1])
        }
        return nil
    }

    /// Takes the seconds after `label` in `/usr/bin/time -v` output.
    static func parseSeconds(_ output: String, _ label: String) -> Double? {
        timeValue(output, label).flatMap { Double($0) }
    }

    static func parseMaximumResident(_ output: String) -> Int? {
        timeValue(output, "Maximum resident set size (kbytes):").flatMap { Int($0) }
    }

    /// Returns the trimmed text after the last colon of the first `/usr/bin/time -v` line that
    /// contains `label`.
    static func timeValue(_ output: String, _ label: String) -> String? {
        for line in output.split(separator: "\n") where line.contains(label) {
            return line.split(separator: ":").last.map { trimmed($0) }
        }
        return nil
    }

    // MARK: helpers

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() throws -> String {
                guard let next = iterator.next() else { throw BenchmarkError("\(argument) needs a value") }
                return next
            }
            func count() throws -> Int {
                let text = try value()
                guard let number = Int(text), number > 0 else {
                    throw BenchmarkError("\(argument) needs a positive integer, got \(text)")
                }
                return number
            }
            switch argument {
            case "--pipelined-count": options.pipelinedCount = try count()
            case "--sequential-count": options.sequentialCount = try count()
            case "--rounds": options.rounds = try count()
            case "--redis-server": options.redisServer = try value()
            case "--redis-benchmark": options.redisBenchmark = try value()
            case "--spin-us":
                let text = try value()
                guard let microseconds = Int(text), (0...1_000).contains(microseconds) else {
                    throw BenchmarkError("--spin-us needs microseconds from 0 to 1000, got \(text)")
                }
                options.spinMicroseconds = microseconds
            case "--server-cpu":
                let text = try value()
                guard let cpu = Int(text), cpu >= 0 else {
                    throw BenchmarkError("--server-cpu needs a CPU number (0 or more), got \(text)")
                }
                options.serverCPU = cpu
            case "--profile-pipelined": options.profileScenario = "pipelined"
            case "--profile":
                let scenario = try value()
                guard profileScenarios.contains(scenario) else {
                    throw BenchmarkError(
                        "--profile needs one of \(profileScenarios.joined(separator: ", ")), got \(scenario)")
                }
                options.profileScenario = scenario
            default:
                throw BenchmarkError(
                    "unknown option \(argument); options: --pipelined-count N (default 1000000), "
                        + "--sequential-count N (default 50000), --rounds N (default 3), "
                        + "--redis-server PATH, "
                        + "--redis-benchmark PATH, --server-cpu N (pins redis-server), --spin-us N (spinBeforeWait of our clients, default the library's), --profile SCENARIO (ours only, for a profiler: "
                        + profileScenarios.joined(separator: ", ") + "), "
                        + "--profile-pipelined (same as --profile pipelined)")
            }
        }
        return options
    }

    static func freePort() throws -> Int {
        let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        defer { listener.close() }
        return listener.port
    }

    static func waitForServer(port: Int) throws {
        for _ in 0..<500 {
            if let socket = try? StreamSocket.connect(
                to: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(1))
            {
                socket.close()
                return
            }
            usleep(10_000)
        }
        throw BenchmarkError("redis-server did not accept connections on 127.0.0.1:\(port) within 5 s")
    }

    static func rate(_ count: Int, since started: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(count) / seconds
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    static func format(_ value: Double) -> String {
        String(Int(value.rounded()))
    }

    /// Microseconds with one decimal.
    static func formatMicroseconds(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func ratio(_ ours: Double, _ theirs: Double) -> String {
        let hundredths = Int((ours / theirs * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)x"
    }

    static func peakResidentKilobytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }

    static func statusKilobytes(pid: pid_t, field: String) -> Int {
        guard let text = readFile("/proc/\(pid)/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            let digits = line.dropFirst(field.count).filter(\.isNumber)
            return Int(digits) ?? 0
        }
        return 0
    }

    static func cpuModel() -> String {
        guard let text = readFile("/proc/cpuinfo") else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map(trimmed) ?? "unknown"
        }
        return "unknown"
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process for the benchmark (posix_spawnp), with stdout and stderr in a temporary file.
final class BenchmarkProcess {
    let pid: pid_t
    private let outputPath: String
    private var exited = false

    private init(pid: pid_t, outputPath: String) {
        self.pid = pid
        self.outputPath = outputPath
    }

    static func spawn(_ executable: String, _ arguments: [String]) throws -> BenchmarkProcess {
        var template = Array("/tmp/dualstream-bench-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else { throw BenchmarkError("mkstemp failed: errno \(errno)") }
        Glibc.close(descriptor)
        let outputPath = String(
            decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // A spawned child inherits the signal mask of the spawning thread, and Swift's worker
        // threads block signals. Without this reset redis-server ignores the SIGTERM that stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] {
            sigaddset(&defaultSignals, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            unlink(outputPath)
            throw BenchmarkError(
                "starting \(executable) failed: \(String(cString: strerror(result))); "
                    + "install redis-server and redis-benchmark (Debian package redis-server)")
        }
        return BenchmarkProcess(pid: pid, outputPath: outputPath)
    }

    var isRunning: Bool {
        guard !exited else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exited = true
        }
        return !exited
    }

    func output() -> String {
        RedisBenchmarks.readFile(outputPath) ?? ""
    }

    func removeOutput() {
        unlink(outputPath)
    }

    func terminate() {
        if isRunning {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            exited = true
        }
        unlink(outputPath)
    }
}

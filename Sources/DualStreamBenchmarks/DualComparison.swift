import Foundation
import Glibc

/// The side-by-side run of `dualstream-bench dual compare`; see ``DualBenchmarks``.
struct DualComparison {
    let options: DualBenchmarks.Options

    func run() async throws {
        let root = DualBenchmarks.packageRoot
        printLine("machine: \(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        printLine(
            "input: \(options.input) x \(options.copies), batch \(options.batchSize), "
                + "concurrency \(options.concurrency), \(options.partitions) partitions, "
                + "\(options.rounds) rounds"
        )
        var results: [String: [[String: Any]]] = [:]
        for round in 1...options.rounds {
            let directory = NSTemporaryDirectory() + "dualstream-bench-\(getpid())-\(round)"
            let envFile = directory + "/services.env"
            try run("\(root)/scripts/start-services", ["start", envFile])
            defer { _ = try? run("\(root)/scripts/start-services", ["stop", envFile]) }
            let settings = try environment(envFile)
            let bootstrap = settings["DUALSTREAM_BROKERS"] ?? ""
            let redisURL = settings["DUALSTREAM_REDIS_URL"] ?? ""
            let tansu = settings["TANSU_BIN"] ?? "tansu"
            for job in ["kafka", "dual", "python"] {
                let topic = "bench-\(job)-\(round)"
                try run(
                    tansu,
                    [
                        "topic", "create", topic, "--partitions", "\(options.partitions)", "--broker",
                        "tcp://\(bootstrap)",
                    ])
                let common = [
                    "--bootstrap", bootstrap, "--redis-url", redisURL, "--topic", topic, "--input",
                    options.input,
                    "--copies", "\(options.copies)",
                ]
                let output: String
                if job == "python" {
                    output = try run(
                        "/usr/bin/env",
                        ["python3", "\(root)/scripts/bench/dual_confluent_redispy.py"] + common)
                } else {
                    output = try run(
                        CommandLine.arguments[0],
                        [
                            "dual", "run", "--job", job, "--batch-size", "\(options.batchSize)",
                            "--concurrency", "\(options.concurrency)",
                        ] + common + (options.redisSpinMicroseconds.map { ["--redis-spin-us", "\($0)"] } ?? []))
                }
                let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) ?? ""
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                else {
                    throw DualBenchmarks.BenchmarkError("\(job) printed no result: \(output)")
                }
                printLine("round \(round) \(job): \(String(decoding: Data(line.utf8), as: UTF8.self))")
                results[job, default: []].append(object)
            }
        }
        let best = results.mapValues { runs in
            runs.compactMap { $0["events_per_second"] as? Double }.max() ?? 0
        }
        let kafka = best["kafka"] ?? 0
        let dual = best["dual"] ?? 0
        let python = best["python"] ?? 0
        printLine(
            "best events/s: kafka only (our producer) \(Int(kafka)), dual (DualPublisher) \(Int(dual)), "
                + "confluent-kafka + redis-py \(Int(python))")
        printLine(String(format: "ratio dual / kafka only: %.2fx", dual / max(kafka, 1)))
        printLine(
            String(format: "ratio DualPublisher / confluent-kafka + redis-py: %.2fx", dual / max(python, 1)))
    }

    private func cpuModel() -> String {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") })
        return line.map {
            String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces)
        }
            ?? "unknown CPU"
    }

    private func environment(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// Runs a command to completion through `popen` and returns its standard output; throws on a
    /// non-zero exit. Foundation's `Process.waitUntilExit` never returned here when called from
    /// this async context, so the child is run and reaped with `popen` and `pclose` instead.
    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        let command = ([executable] + arguments).map(shellQuoted).joined(separator: " ")
        guard let pipe = popen(command, "r") else {
            throw DualBenchmarks.BenchmarkError("popen failed for \(command): errno \(errno)")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, pipe)
            if count == 0 { break }
            output.append(contentsOf: buffer[0..<count])
        }
        let status = pclose(pipe)
        let text = String(decoding: output, as: UTF8.self)
        guard status == 0 else {
            throw DualBenchmarks.BenchmarkError("\(command) exited with status \(status): \(text)")
        }
        return text
    }

    private func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Prints and flushes at once, so progress shows when the output is a pipe.
private func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

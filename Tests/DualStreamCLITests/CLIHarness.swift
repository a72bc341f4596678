import Foundation
import Glibc
import TestSupport
import Testing

/// Runs the built `dualstream` binary and the independent tools the tests check it with.
enum CLIHarness {
    /// The `dualstream` executable: `DUALSTREAM_BIN` when set (scripts/test points it at a release
    /// build, because the debug build parses JSON about 25 times slower and would make the
    /// throughput comparison measure the parser), else the one next to the test bundle.
    static func binary() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["DUALSTREAM_BIN"], !configured.isEmpty {
            try #require(
                FileManager.default.isExecutableFile(atPath: configured),
                "DUALSTREAM_BIN=\(configured) is not an executable file")
            return configured
        }
        let executable = try #require(
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
            "cannot read /proc/self/exe")
        let directory = (executable as NSString).deletingLastPathComponent
        let path = directory + "/dualstream"
        try #require(
            FileManager.default.isExecutableFile(atPath: path),
            "dualstream not found at \(path); build it first with swift build (scripts/test does)")
        return path
    }

    /// The GH Archive sample, or a failure naming where it was looked for.
    static func sampleFile() throws -> String {
        let directory = try #require(
            RepositoryPaths.sharedData,
            """
            shared data directory not found at \(RepositoryPaths.packageRoot)/../shared/data; \
            these tests publish the GH Archive sample gharchive-sample.jsonl from there
            """)
        let path = directory + "/gharchive-sample.jsonl"
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing")
        return path
    }

    static func sampleLines() throws -> [Data] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try sampleFile()))
        return data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { Data($0) }
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "dualstream-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes the sample `copies` times into one file and returns its path.
    static func repeatedSample(copies: Int, in directory: String) throws -> String {
        let sample = try Data(contentsOf: URL(fileURLWithPath: try sampleFile()))
        var data = Data(capacity: sample.count * copies)
        for _ in 0..<copies { data.append(sample) }
        let path = directory + "/sample-x\(copies).jsonl"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `dualstream` to completion; returns its termination and combined stdout and stderr.
    static func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws
        -> (termination: ChildProcess.Termination, output: String)
    {
        try ChildProcess.run(executable: try binary(), arguments: arguments, timeout: timeout)
    }

    /// The `--summary-json` line of a publish output.
    static func summary(in output: String) throws -> [String: Any] {
        let line = try #require(
            output.split(separator: "\n").last(where: { $0.hasPrefix(#"{"events":"#) }),
            "no JSON summary in the output:\n\(output)")
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: Any])
    }

    /// Reads every record of `topic` with kafka-python through scripts/read-topic.
    static func readTopic(bootstrap: String, topic: String, expect: Int, timeout: Int = 60) throws
        -> [KafkaRecord]
    {
        let script = RepositoryPaths.packageRoot + "/scripts/read-topic"
        let (termination, output) = try ChildProcess.run(
            executable: "python3",
            arguments: [
                script, "--bootstrap", bootstrap, "--topic", topic, "--expect", String(expect),
                "--timeout", String(timeout),
            ],
            timeout: .seconds(timeout + 30))
        #expect(termination == .exited(0), "read-topic failed: \(output.suffix(2_000))")
        return try output.split(separator: "\n").filter { $0.hasPrefix("{") }.map { line in
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try KafkaRecord(object)
        }
    }

    /// FNV-1a 64 of `bytes`, written here independently of the command's implementation.
    static func fnv1a64(_ bytes: Data) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211
        }
        return "fnv1a64-" + String(format: "%016llx", hash)
    }

    /// What an input line should map to under `--preset github`, derived with Foundation's parser.
    static func expectedGitHubEvent(_ line: Data) throws -> (id: String, type: String, source: String) {
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        let type = try #require(object["type"] as? String)
        if let repo = object["repo"] as? [String: Any] {
            return (try #require(object["id"] as? String), type, try #require(repo["name"] as? String))
        }
        let repository = try #require(object["repository"] as? [String: Any])
        let owner = try #require(repository["owner"] as? String)
        let name = try #require(repository["name"] as? String)
        #expect(object["id"] == nil)
        return (fnv1a64(line), type, owner + "/" + name)
    }
}

/// One record as kafka-python read it.
struct KafkaRecord {
    var partition: Int
    var offset: Int
    var key: Data?
    var value: Data?
    var headers: [String: Data]

    init(_ object: [String: Any]) throws {
        partition = try #require(object["partition"] as? Int)
        offset = try #require(object["offset"] as? Int)
        key = (object["key"] as? String).flatMap { Data(base64Encoded: $0) }
        value = (object["value"] as? String).flatMap { Data(base64Encoded: $0) }
        let encoded = object["headers"] as? [String: String] ?? [:]
        headers = encoded.compactMapValues { Data(base64Encoded: $0) }
    }

    func header(_ name: String) -> String? {
        headers[name].map { String(decoding: $0, as: UTF8.self) }
    }
}

import FakeKafka
import Foundation
import Testing
import TestSupport

/// Runs in a child process (`dualstream-bench producer buffer-limit`), because the resident size
/// of the test runner measures far more than the producer. The child reads VmHWM (peak) and
/// VmRSS from /proc/self/status after the buffer-full error.
@Suite("Producer memory bound", .serialized)
struct ProducerMemoryTests {
    @Test(.timeLimit(.minutes(2)))
    func fullBufferBlocksThenFailsUnder64MiB() async throws {
        let benchmark = RepositoryPaths.packageRoot + "/.build/debug/dualstream-bench"
        guard FileManager.default.isExecutableFile(atPath: benchmark) else {
            Issue.record("\(benchmark) is missing: run `swift build --product dualstream-bench` first")
            return
        }
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 1))
        defer { cluster.shutdown() }
        try cluster.createTopic("memory", partitions: 1)
        // The broker accepts connections and responds to every request but Produce, which it reads and drops.
        cluster.inject(FakeKafkaFault(.dropResponse(afterProcessing: false), apiKey: .produce, count: 1_000_000))

        let start = ContinuousClock.now
        let run = try ChildProcess.run(
            executable: benchmark,
            arguments: ["producer", "buffer-limit", "--bootstrap", cluster.bootstrapServers[0], "--topic", "memory",
                        "--records", "1000000", "--buffer-bytes", "\(16 * 1024 * 1024)", "--max-block-ms", "1000"],
            timeout: .seconds(90))
        let elapsed = ContinuousClock.now - start
        #expect(run.termination == .exited(0), "\(run.output)")
        let line = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(run.output)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        print("buffer-limit child: \(line)")
        let enqueued = try #require(result["enqueued"] as? Int)
        let hwm = try #require(result["vm_hwm_kib"] as? Int)
        let blocked = try #require(result["blocked_ms"] as? Double)
        #expect(result["buffer_full"] as? Bool == true, "\(result)")
        #expect(result["buffer_limit"] as? Int == 16 * 1024 * 1024)
        #expect((result["error"] as? String)?.contains("16777216") == true, "error names the limit: \(result)")
        #expect(enqueued > 10_000, "about 16 MiB of 1 KiB records: \(enqueued)")
        #expect(enqueued < 17_000, "about 16 MiB of 1 KiB records: \(enqueued)")
        #expect(blocked >= 900, "enqueue blocked for maxBlock before failing: \(blocked) ms")
        #expect(hwm > 0, "VmHWM read from /proc/self/status")
        #expect(hwm < 64 * 1024, "peak resident \(hwm) KiB")
        #expect(elapsed < .seconds(60))
    }
}

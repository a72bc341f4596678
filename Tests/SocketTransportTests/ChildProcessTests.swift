import Glibc
import TestSupport
import Testing

extension TransportSuite {
    /// Tests of TestSupport's process helpers, which have no test target of their own.
    @Suite struct ChildProcessTests {
        @Test func exitStatusIsReported() throws {
            let process = try ChildProcess.start(executable: "/bin/sh", arguments: ["-c", "exit 3"])
            #expect(process.wait() == .exited(3))
            #expect(!process.isRunning)
            #expect(!ProcessTable.exists(process.pid))
        }

        @Test func outputGoesToLogFile() throws {
            let directory = try TemporaryDirectory()
            let log = "\(directory.path)/child.log"
            let process = try ChildProcess.start(
                executable: "sh",
                arguments: ["-c", "echo out; echo err >&2; echo \"$DUALSTREAM_TEST_VALUE\""],
                environment: ["DUALSTREAM_TEST_VALUE": "from-environment"],
                outputPath: log
            )
            #expect(process.wait() == .exited(0))
            let text = try #require(ProcessTable.readText(log))
            #expect(text == "out\nerr\nfrom-environment\n")
        }

        @Test func terminateSendsSigterm() throws {
            let process = try ChildProcess.start(executable: "/bin/sleep", arguments: ["30"])
            #expect(process.isRunning)
            #expect(process.terminate(grace: .seconds(5)) == .signaled(SIGTERM))
            #expect(!ProcessTable.exists(process.pid))
        }

        @Test func terminateEscalatesToSigkill() throws {
            let directory = try TemporaryDirectory()
            let log = "\(directory.path)/trap.log"
            let process = try ChildProcess.start(
                executable: "/bin/sh",
                arguments: ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
                outputPath: log
            )
            _ = try waitUntil(timeout: .seconds(5)) { ProcessTable.readText(log) == "ready\n" }
            let clock = ContinuousClock()
            let start = clock.now
            #expect(process.terminate(grace: .milliseconds(200)) == .signaled(SIGKILL))
            #expect(clock.now - start >= .milliseconds(200))
            #expect(!ProcessTable.exists(process.pid))
        }

        @Test func terminateContinuesStoppedProcess() throws {
            let process = try ChildProcess.start(executable: "/bin/sleep", arguments: ["30"])
            process.signal(SIGSTOP)
            #expect(try waitUntil(timeout: .seconds(5)) { ProcessTable.state(process.pid) == "T" })
            #expect(process.terminate(grace: .seconds(5)) == .signaled(SIGTERM))
        }

        @Test func deinitKillsAndReaps() throws {
            var process: ChildProcess? = try ChildProcess.start(executable: "/bin/sleep", arguments: ["30"])
            let pid = try #require(process?.pid)
            #expect(ProcessTable.exists(pid))
            process = nil
            #expect(
                !ProcessTable.exists(pid),
                "pid \(pid) is still in the process table (state \(ProcessTable.state(pid) ?? "?"))")
        }

        @Test func missingExecutableThrows() {
            let error = #expect(throws: TestSupportError.self) {
                try ChildProcess.start(executable: "/nonexistent/dualstream-binary")
            }
            #expect(error?.code == .spawnFailed)
            #expect(error?.description.contains("No such file or directory") == true)
        }

        @Test func runCapturesOutput() throws {
            let (termination, output) = try ChildProcess.run(executable: "/bin/echo", arguments: ["captured"])
            #expect(termination == .exited(0))
            #expect(output == "captured\n")
        }

        @Test func runTimesOut() {
            let error = #expect(throws: TestSupportError.self) {
                try ChildProcess.run(executable: "/bin/sleep", arguments: ["30"], timeout: .milliseconds(100))
            }
            #expect(error?.code == .commandFailed)
            #expect(error?.description.contains("did not finish within") == true)
        }

        @Test func freePortsAreDistinctAndBindable() throws {
            let ports = try (0..<20).map { _ in try FreePort.allocate() }
            #expect(Set(ports).count == ports.count)
            #expect(ports.allSatisfy { (1...65_535).contains($0) })
        }

        @Test func waitUntilReturnsFalseOnTimeout() throws {
            var calls = 0
            #expect(
                try waitUntil(timeout: .milliseconds(30)) {
                    calls += 1; return false
                } == false)
            #expect(calls >= 2)
            #expect(try waitUntil(timeout: .seconds(1)) { true })
        }

        @Test func repositoryPathsFindPackage() {
            let root = RepositoryPaths.packageRoot
            #expect(access("\(root)/Package.swift", F_OK) == 0, "no Package.swift in \(root)")
            if let data = RepositoryPaths.sharedData {
                #expect(access(data, F_OK) == 0)
                #expect(data.hasSuffix("/shared/data"))
            }
        }
    }
}

/// Reads /proc to check for leftover processes and zombies.
enum ProcessTable {
    /// True while `pid` has an entry in /proc, which includes zombies that were not reaped.
    static func exists(_ pid: pid_t) -> Bool {
        access("/proc/\(pid)", F_OK) == 0
    }

    /// Returns the state letter from /proc/PID/stat ("R", "S", "T", "Z"...), or nil when it is gone.
    static func state(_ pid: pid_t) -> String? {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else {
            return nil
        }
        let rest = text[text.index(after: close)...].drop { $0 == " " }
        return rest.first.map(String.init)
    }

    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 {
                break
            }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

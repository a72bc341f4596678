import Glibc

/// A Tansu broker (a Kafka-compatible broker) on 127.0.0.1 with in-memory storage, for one test.
///
/// Started as `tansu broker --listener-url tcp://127.0.0.1:P --advertised-listener-url
/// tcp://127.0.0.1:P --storage-engine memory://tansu/`, so topics and records vanish when it
/// stops. Its output (a few startup lines) goes to a log file in a temporary directory that is
/// removed on deinit.
public final class TansuProcess: @unchecked Sendable {
    private struct State {
        var process: ChildProcess?
        var port = 0
        var directory: String?
        var executable: String?
    }

    private let state = Locked(State())

    public init() {}

    deinit {
        let current = state.withLock { $0 }
        current.process?.kill()
        if let directory = current.directory {
            POSIXFiles.removeTree(directory)
        }
    }

    /// TCP port on 127.0.0.1; 0 before `start`.
    public var port: Int {
        state.withLock { $0.port }
    }

    /// Bootstrap server for a Kafka client: "127.0.0.1:PORT".
    public var bootstrap: String {
        "127.0.0.1:\(port)"
    }

    public var isRunning: Bool {
        state.withLock { $0.process?.isRunning == true }
    }

    /// Process id of the running broker, or nil when it is not running.
    public var pid: pid_t? {
        state.withLock { $0.process?.isRunning == true ? $0.process?.pid : nil }
    }

    /// File that receives the broker's stdout and stderr; nil before `start`.
    public var logPath: String? {
        state.withLock { $0.directory.map { "\($0)/tansu.log" } }
    }

    /// Starts the broker on a free port (or `port`) and returns once it accepts TCP connections.
    ///
    /// With `port` nil the start is retried on a new port (up to three times) when another
    /// process took the chosen one first. Throws when the binary is missing, when the broker
    /// exits, or when it does not accept connections within `timeout`; the message shows the log
    /// tail. Output is captured in `logPath` rather than silenced with `--silent`, so that a
    /// failed start can be diagnosed.
    public func start(port: Int? = nil, timeout: Duration = .seconds(20)) throws {
        let executable = try ExecutableLocator.tansu()
        let directory = try state.withLock { current in
            if current.process?.isRunning == true {
                throw TestSupportError(.spawnFailed, "tansu is already running on port \(current.port)")
            }
            return try ServerStartup.temporaryDirectory(&current.directory, prefix: "dualstream-tansu")
        }
        try ServerStartup.launchRetryingBusyPort(port: port) { chosenPort in
            try launch(executable: executable, port: chosenPort, directory: directory, timeout: timeout)
        }
    }

    private func launch(executable: String, port: Int, directory: String, timeout: Duration) throws {
        let logPath = "\(directory)/tansu.log"
        let listener = "tcp://127.0.0.1:\(port)"
        let process = try ChildProcess.start(
            executable: executable,
            arguments: [
                "broker", "--listener-url", listener, "--advertised-listener-url", listener,
                "--storage-engine", "memory://tansu/",
            ],
            outputPath: logPath
        )
        state.withLock { current in
            current.process = process
            current.port = port
            current.executable = executable
        }
        do {
            try ServerStartup.waitUntilReady(
                process, server: "tansu", port: port, logPath: logPath,
                readiness: "accepting connections", notReady: "accept connections", timeout: timeout
            ) {
                LoopbackProbe.acceptsConnections(port: port)
            }
        } catch {
            state.withLock { $0.process = nil }
            throw error
        }
    }

    /// Creates a topic by running `tansu topic create NAME --partitions N --broker
    /// tcp://127.0.0.1:PORT`. Throws with the command's output when it fails.
    public func createTopic(_ name: String, partitions: Int = 1, timeout: Duration = .seconds(30)) throws {
        let (executable, port) = state.withLock { ($0.executable, $0.port) }
        guard let executable, port != 0 else {
            throw TestSupportError(.commandFailed, "createTopic(\(name)) before TansuProcess.start()")
        }
        let arguments = [
            "topic", "create", name, "--partitions", String(partitions), "--broker",
            "tcp://127.0.0.1:\(port)",
        ]
        let (termination, output) = try ChildProcess.run(
            executable: executable, arguments: arguments, timeout: timeout
        )
        guard termination == .exited(0) else {
            throw TestSupportError(
                .commandFailed,
                "tansu \(arguments.joined(separator: " ")) \(termination); output:\n\(output)"
            )
        }
    }

    /// Stops the broker with SIGTERM, then SIGKILL after `grace`, and reaps it.
    public func stop(grace: Duration = .seconds(5)) {
        takeProcess()?.terminate(grace: grace)
    }

    /// Kills the broker with SIGKILL and reaps it.
    public func kill() {
        takeProcess()?.kill()
    }

    /// Clears the stored process and returns it, so that only one caller stops it.
    private func takeProcess() -> ChildProcess? {
        state.withLock { current in
            defer { current.process = nil }
            return current.process
        }
    }
}

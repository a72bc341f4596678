import Glibc

/// A Tansu broker (a Kafka-compatible broker) on 127.0.0.1 with in-memory storage, for one test.
///
/// Started as `tansu broker --listener-url tcp://127.0.0.1:P --advertised-listener-url
/// tcp://127.0.0.1:P --storage-engine memory://tansu/`, so topics and records vanish when it
/// stops. Its output (a few startup lines) goes to a log file in a temporary directory that is
/// removed on deinit.
public final class TansuProcess: @unchecked Sendable {
    /// The slot's details are the executable of the last start, reused by `createTopic`.
    private let slot = ServerProcessSlot(
        server: "tansu", directoryPrefix: "dualstream-tansu", details: String?.none)

    public init() {}

    /// TCP port on 127.0.0.1; 0 before `start`.
    public var port: Int {
        slot.port
    }

    /// Bootstrap server for a Kafka client: "127.0.0.1:PORT".
    public var bootstrap: String {
        "127.0.0.1:\(port)"
    }

    public var isRunning: Bool {
        pid != nil
    }

    /// Process id of the running broker, or nil when it is not running.
    public var pid: pid_t? {
        slot.pid
    }

    /// File that receives the broker's stdout and stderr; nil before `start`.
    public var logPath: String? {
        slot.directory.map { "\($0)/tansu.log" }
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
        let directory = try slot.directoryForStart()
        try slot.launchRetryingBusyPort(port: port) { chosenPort in
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
        try slot.adopt(
            process, port: port, details: executable, logPath: logPath,
            readiness: "accepting connections", notReady: "accept connections", timeout: timeout
        ) {
            LoopbackProbe.acceptsConnections(port: port)
        }
    }

    /// Creates a topic by running `tansu topic create NAME --partitions N --broker
    /// tcp://127.0.0.1:PORT`. Throws with the command's output when it fails.
    public func createTopic(_ name: String, partitions: Int = 1, timeout: Duration = .seconds(30)) throws {
        let (executable, port) = slot.withLock { ($0.details, $0.port) }
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
        slot.takeProcess()?.terminate(grace: grace)
    }

    /// Kills the broker with SIGKILL and reaps it.
    public func kill() {
        slot.takeProcess()?.kill()
    }
}

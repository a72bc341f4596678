import Glibc

/// A `redis-server` on 127.0.0.1 for one test, with persistence off and its log in a temporary
/// directory that is removed on deinit.
///
/// ```swift
/// let redis = RedisServerProcess()
/// try redis.start()
/// defer { redis.stop() }
/// // connect to 127.0.0.1:\(redis.port)
/// ```
public final class RedisServerProcess: @unchecked Sendable {
    private struct State {
        var process: ChildProcess?
        var port = 0
        var arguments: [String] = []
        var directory: String?
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

    /// TCP port on 127.0.0.1; 0 before the first `start`.
    public var port: Int {
        state.withLock { $0.port }
    }

    /// "127.0.0.1:PORT".
    public var address: String {
        "127.0.0.1:\(port)"
    }

    /// Process id of the running server, or nil when it is not running.
    public var pid: pid_t? {
        state.withLock { $0.process?.isRunning == true ? $0.process?.pid : nil }
    }

    public var isRunning: Bool {
        pid != nil
    }

    /// File that receives the server's stdout and stderr; nil before the first `start`.
    public var logPath: String? {
        state.withLock { $0.directory.map { "\($0)/redis.log" } }
    }

    /// Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --daemonize no`
    /// followed by `arguments`, and returns once a RESP PING returns +PONG.
    ///
    /// With `port` nil a free port is chosen, and the start is retried on a new port (up to three
    /// times) when another process took it first. Throws when the binary is missing, when the
    /// server exits, or when it is not ready within `timeout`; the message shows the log tail.
    public func start(port: Int? = nil, arguments: [String] = [], timeout: Duration = .seconds(10)) throws {
        let executable = try ExecutableLocator.redisServer()
        let directory = try state.withLock { current in
            if current.process?.isRunning == true {
                throw TestSupportError(
                    .spawnFailed, "redis-server is already running on port \(current.port)")
            }
            return try ServerStartup.temporaryDirectory(&current.directory, prefix: "dualstream-redis")
        }
        try ServerStartup.launchRetryingBusyPort(port: port) { chosenPort in
            try launch(
                executable: executable, port: chosenPort, arguments: arguments,
                directory: directory, timeout: timeout
            )
        }
    }

    /// Stops the server with SIGTERM, then SIGKILL after `grace`, and reaps it.
    public func stop(grace: Duration = .seconds(5)) {
        takeProcess()?.terminate(grace: grace)
    }

    /// Kills the server with SIGKILL and reaps it, as a crash would.
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

    /// Suspends the server with SIGSTOP: connections stay open but no command gets a reply.
    public func pause() {
        state.withLock { $0.process }?.signal(SIGSTOP)
    }

    /// Continues a paused server with SIGCONT.
    public func resume() {
        state.withLock { $0.process }?.signal(SIGCONT)
    }

    /// Stops the server if it runs and starts it again on the same port with the same arguments.
    public func restart(timeout: Duration = .seconds(10)) throws {
        let (port, arguments) = state.withLock { ($0.port, $0.arguments) }
        guard port != 0 else {
            throw TestSupportError(.spawnFailed, "restart of redis-server before its first start")
        }
        stop()
        try start(port: port, arguments: arguments, timeout: timeout)
    }

    private func launch(
        executable: String, port: Int, arguments: [String], directory: String, timeout: Duration
    ) throws {
        let logPath = "\(directory)/redis.log"
        let fullArguments =
            [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", directory, "--logfile", "",
            ] + arguments
        let process = try ChildProcess.start(
            executable: executable, arguments: fullArguments, outputPath: logPath)
        state.withLock { current in
            current.process = process
            current.port = port
            current.arguments = arguments
        }
        do {
            try ServerStartup.waitUntilReady(
                process, server: "redis-server", port: port, logPath: logPath,
                readiness: "answering PING", notReady: "answer PING", timeout: timeout
            ) {
                LoopbackProbe.redisAnswersPing(port: port)
            }
        } catch {
            state.withLock { $0.process = nil }
            throw error
        }
    }
}

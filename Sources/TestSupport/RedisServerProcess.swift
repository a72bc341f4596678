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
    /// The slot's details are the extra arguments of the last start, reused by `restart`.
    private let slot = ServerProcessSlot(
        server: "redis-server", directoryPrefix: "dualstream-redis", details: [String]())

    public init() {}

    /// TCP port on 127.0.0.1; 0 before the first `start`.
    public var port: Int {
        slot.port
    }

    /// "127.0.0.1:PORT".
    public var address: String {
        "127.0.0.1:\(port)"
    }

    /// Process id of the running server, or nil when it is not running.
    public var pid: pid_t? {
        slot.pid
    }

    public var isRunning: Bool {
        pid != nil
    }

    /// File that receives the server's stdout and stderr; nil before the first `start`.
    public var logPath: String? {
        slot.directory.map { "\($0)/redis.log" }
    }

    /// Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --daemonize no`
    /// followed by `arguments`, and returns once a RESP PING returns +PONG.
    ///
    /// With `port` nil a free port is chosen, and the start is retried on a new port (up to three
    /// times) when another process took it first. Throws when the binary is missing, when the
    /// server exits, or when it is not ready within `timeout`; the message shows the log tail.
    public func start(port: Int? = nil, arguments: [String] = [], timeout: Duration = .seconds(10)) throws {
        let executable = try ExecutableLocator.redisServer()
        let directory = try slot.directoryForStart()
        try slot.launchRetryingBusyPort(port: port) { chosenPort in
            try launch(
                executable: executable, port: chosenPort, arguments: arguments,
                directory: directory, timeout: timeout
            )
        }
    }

    /// Stops the server with SIGTERM, then SIGKILL after `grace`, and reaps it.
    public func stop(grace: Duration = .seconds(5)) {
        slot.takeProcess()?.terminate(grace: grace)
    }

    /// Kills the server with SIGKILL and reaps it, as a crash would.
    public func kill() {
        slot.takeProcess()?.kill()
    }

    /// Suspends the server with SIGSTOP: connections stay open but no command gets a reply.
    public func pause() {
        slot.process?.signal(SIGSTOP)
    }

    /// Continues a paused server with SIGCONT.
    public func resume() {
        slot.process?.signal(SIGCONT)
    }

    /// Stops the server if it runs and starts it again on the same port with the same arguments.
    public func restart(timeout: Duration = .seconds(10)) throws {
        let (port, arguments) = slot.withLock { ($0.port, $0.details) }
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
        try slot.adopt(
            process, port: port, details: arguments, logPath: logPath,
            readiness: "answering PING", notReady: "answer PING", timeout: timeout
        ) {
            LoopbackProbe.redisAnswersPing(port: port)
        }
    }
}

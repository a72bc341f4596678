import Glibc

/// State shared by `RedisServerProcess` and `TansuProcess`, kept under one lock. It contains the
/// running child process, its port, the temporary directory with its log, and `Details`, the
/// launch setting that each helper reuses. Deinit kills the process and removes the directory.
final class ServerProcessSlot<Details>: @unchecked Sendable {
    struct State {
        var process: ChildProcess?
        var port = 0
        var directory: String?
        var details: Details
    }

    /// Server name used in error messages, such as "redis-server".
    let server: String
    private let directoryPrefix: String
    private let state: Locked<State>

    init(server: String, directoryPrefix: String, details: Details) {
        self.server = server
        self.directoryPrefix = directoryPrefix
        state = Locked(State(details: details))
    }

    deinit {
        let current = state.withLock { $0 }
        current.process?.kill()
        if let directory = current.directory {
            POSIXFiles.removeTree(directory)
        }
    }

    func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        try state.withLock(body)
    }

    var port: Int {
        state.withLock { $0.port }
    }

    var process: ChildProcess? {
        state.withLock { $0.process }
    }

    /// Process id of the running server, or nil when it is not running.
    var pid: pid_t? {
        state.withLock { $0.process?.isRunning == true ? $0.process?.pid : nil }
    }

    var directory: String? {
        state.withLock { $0.directory }
    }

    /// Returns the directory for the server's files, created on the first start so that
    /// restarts reuse it. Throws `spawnFailed` while the server is running.
    func directoryForStart() throws -> String {
        try state.withLock { current in
            if current.process?.isRunning == true {
                throw TestSupportError(.spawnFailed, "\(server) is already running on port \(current.port)")
            }
            if let existing = current.directory {
                return existing
            }
            let created = try POSIXFiles.makeTemporaryDirectory(prefix: directoryPrefix)
            current.directory = created
            return created
        }
    }

    /// Clears the stored process and returns it, so that only one caller stops it.
    func takeProcess() -> ChildProcess? {
        state.withLock { current in
            defer { current.process = nil }
            return current.process
        }
    }

    /// Calls `launch` with `port`, or with a free port when `port` is nil.
    ///
    /// With a free port, a launch that fails with `exitedEarly` and "Address already in use" is
    /// retried on a new port, up to three attempts in all, because another process can bind the
    /// port between `FreePort.allocate()` and the server's own bind.
    func launchRetryingBusyPort(port: Int?, _ launch: (Int) throws -> Void) throws {
        let attempts = port == nil ? 3 : 1
        for attempt in 1...attempts {
            let chosenPort = try port ?? FreePort.allocate()
            do {
                try launch(chosenPort)
                return
            } catch let error as TestSupportError where error.code == .exitedEarly && attempt < attempts {
                guard error.description.contains("Address already in use") else { throw error }
            }
        }
    }

    /// Stores `process` as the server on `port` launched with `details`, then polls `isReady`
    /// every 20 ms until it returns true.
    ///
    /// Throws `exitedEarly` when the process exits first, and `startTimedOut` after killing the
    /// process when `timeout` passes. Either way the stored process is cleared. Both messages
    /// name the server and port and end with the tail of `logPath`. `readiness` is the ready
    /// condition as a gerund ("answering PING") and `notReady` the same after "did not"
    /// ("answer PING").
    func adopt(
        _ process: ChildProcess, port: Int, details: Details, logPath: String,
        readiness: String, notReady: String, timeout: Duration, isReady: () -> Bool
    ) throws {
        state.withLock { current in
            current.process = process
            current.port = port
            current.details = details
        }
        var exited: ChildProcess.Termination?
        let ready = try waitUntil(timeout: timeout, interval: .milliseconds(20)) {
            if !process.isRunning {
                exited = process.exitStatus
                return true
            }
            return isReady()
        }
        if let exited {
            state.withLock { $0.process = nil }
            throw TestSupportError(
                .exitedEarly,
                "\(server) on port \(port) \(exited) before \(readiness); log \(logPath):\n"
                    + POSIXFiles.tail(of: logPath)
            )
        }
        guard ready else {
            process.kill()
            state.withLock { $0.process = nil }
            throw TestSupportError(
                .startTimedOut,
                "\(server) on port \(port) did not \(notReady) within \(timeout); log \(logPath):\n"
                    + POSIXFiles.tail(of: logPath)
            )
        }
    }
}

/// Start-up steps shared by the server helpers `RedisServerProcess` and `TansuProcess`.
enum ServerStartup {
    /// Returns `directory`, first creating a temporary directory named with `prefix` into it
    /// when it is nil, so that restarts of one server reuse its directory.
    static func temporaryDirectory(_ directory: inout String?, prefix: String) throws -> String {
        if let existing = directory {
            return existing
        }
        let created = try POSIXFiles.makeTemporaryDirectory(prefix: prefix)
        directory = created
        return created
    }

    /// Calls `launch` with `port`, or with a free port when `port` is nil.
    ///
    /// With a free port, a launch that fails with `exitedEarly` and "Address already in use" is
    /// retried on a new port, up to three attempts in all, because another process can bind the
    /// port between `FreePort.allocate()` and the server's own bind.
    static func launchRetryingBusyPort(port: Int?, _ launch: (Int) throws -> Void) throws {
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

    /// Polls `isReady` every 20 ms until it returns true or `process` exits.
    ///
    /// Throws `exitedEarly` when the process exits first, and `startTimedOut` after killing the
    /// process when `timeout` passes. Both messages name `server` and `port` and end with the tail
    /// of `logPath`. `readiness` is the ready condition as a gerund ("answering PING") and
    /// `notReady` the same condition after "did not" ("answer PING").
    static func waitUntilReady(
        _ process: ChildProcess, server: String, port: Int, logPath: String,
        readiness: String, notReady: String, timeout: Duration, isReady: () -> Bool
    ) throws {
        var exited: ChildProcess.Termination?
        let ready = try waitUntil(timeout: timeout, interval: .milliseconds(20)) {
            if !process.isRunning {
                exited = process.exitStatus
                return true
            }
            return isReady()
        }
        if let exited {
            throw TestSupportError(
                .exitedEarly,
                "\(server) on port \(port) \(exited) before \(readiness); log \(logPath):\n"
                    + POSIXFiles.tail(of: logPath)
            )
        }
        guard ready else {
            process.kill()
            throw TestSupportError(
                .startTimedOut,
                "\(server) on port \(port) did not \(notReady) within \(timeout); log \(logPath):\n"
                    + POSIXFiles.tail(of: logPath)
            )
        }
    }
}

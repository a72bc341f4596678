import Glibc

/// A process started with `posix_spawn`, with stdout and stderr appended to a log file.
///
/// The process is reaped with `waitpid` by `terminate`, `kill`, `wait`, `isRunning` once it has
/// exited, and by `deinit`, which sends SIGKILL first, so a dropped `ChildProcess` leaves no
/// zombie. A child outlives this process only when this process is killed with SIGKILL.
public final class ChildProcess: @unchecked Sendable {
    /// End state of a reaped child: its exit status or the signal that killed it.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signaled(let signal): "killed by signal \(signal)"
            }
        }
    }

    public let pid: pid_t
    public let executable: String
    public let arguments: [String]
    /// File that receives stdout and stderr, or nil when both go to /dev/null.
    public let outputPath: String?

    private let termination = Locked<Termination?>(nil)

    private init(pid: pid_t, executable: String, arguments: [String], outputPath: String?) {
        self.pid = pid
        self.executable = executable
        self.arguments = arguments
        self.outputPath = outputPath
    }

    deinit {
        if !isReaped {
            Glibc.kill(pid, SIGKILL)
            wait()
        }
    }

    /// Starts `executable` with `arguments`. stdin is /dev/null; stdout and stderr are appended
    /// to `outputPath` (created with mode 0644) or discarded when it is nil. `environment`
    /// entries are added to, or replace, the variables of this process. An executable without
    /// a slash is searched for in `PATH`.
    public static func start(
        executable: String,
        arguments: [String] = [],
        environment: [String: String] = [:],
        outputPath: String? = nil
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644
        )
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        // Signals ignored or blocked by the test runner would otherwise be inherited.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD] {
            sigaddset(&defaultSignals, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = CStringArray([executable] + arguments)
        let envp = CStringArray(mergedEnvironment(environment))
        var pid: pid_t = 0
        let result: Int32
        if executable.contains("/") {
            result = posix_spawn(&pid, executable, &actions, &attributes, argv.pointers, envp.pointers)
        } else {
            result = posix_spawnp(&pid, executable, &actions, &attributes, argv.pointers, envp.pointers)
        }
        guard result == 0 else {
            throw TestSupportError(
                .spawnFailed,
                "posix_spawn of \(executable) failed: \(POSIXFiles.errorText(result))"
            )
        }
        return ChildProcess(pid: pid, executable: executable, arguments: arguments, outputPath: outputPath)
    }

    /// Runs a command to completion and returns its termination and combined stdout and stderr.
    /// The command is killed with SIGKILL when it runs longer than `timeout`, and that throws.
    public static func run(
        executable: String,
        arguments: [String] = [],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) throws -> (termination: Termination, output: String) {
        let directory = try POSIXFiles.makeTemporaryDirectory(prefix: "dualstream-run")
        defer { POSIXFiles.removeTree(directory) }
        let outputPath = "\(directory)/output.log"
        let process = try start(
            executable: executable, arguments: arguments, environment: environment, outputPath: outputPath
        )
        guard let termination = process.wait(timeout: timeout) else {
            process.kill()
            throw TestSupportError(
                .commandFailed,
                "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout); "
                    + "output:\n\(POSIXFiles.tail(of: outputPath))"
            )
        }
        return (termination, POSIXFiles.readText(outputPath) ?? "")
    }

    /// True until the child has exited. A child that has exited is reaped by this call.
    public var isRunning: Bool {
        reap() == nil
    }

    /// End state of the child once it has been reaped, or nil while it runs.
    public var exitStatus: Termination? {
        termination.withLock { $0 }
    }

    /// Sends `signal` with kill(2), unless the child has already been reaped (its pid may
    /// belong to another process by then).
    public func signal(_ signal: Int32) {
        termination.withLock { state in
            if state == nil {
                _ = Glibc.kill(pid, signal)
            }
        }
    }

    /// Sends SIGTERM, waits up to `grace` for the child to exit, then sends SIGKILL, and reaps it.
    /// A stopped (SIGSTOP) child is continued first so it can handle SIGTERM.
    @discardableResult
    public func terminate(grace: Duration = .seconds(5)) -> Termination {
        if let finished = exitStatus {
            return finished
        }
        signal(SIGTERM)
        signal(SIGCONT)
        if let finished = wait(timeout: grace) {
            return finished
        }
        return kill()
    }

    /// Sends SIGKILL and reaps the child.
    @discardableResult
    public func kill() -> Termination {
        signal(SIGKILL)
        return wait()
    }

    /// Blocks until the child exits and reaps it. It polls with WNOHANG every 5 ms rather than
    /// blocking in waitpid, so `signal` from another thread is never held up.
    @discardableResult
    public func wait() -> Termination {
        while true {
            if let finished = reap() {
                return finished
            }
            sleep(for: .milliseconds(5))
        }
    }

    /// Waits up to `timeout` for the child to exit; returns nil if it is still running.
    public func wait(timeout: Duration) -> Termination? {
        var finished: Termination?
        _ = try? waitUntil(timeout: timeout, interval: .milliseconds(5)) {
            finished = reap()
            return finished != nil
        }
        return finished
    }

    private var isReaped: Bool {
        termination.withLock { $0 != nil }
    }

    /// Calls waitpid with WNOHANG (retrying EINTR) and stores the result. The lock is held so
    /// that no signal is sent to a pid that has just been reaped.
    private func reap() -> Termination? {
        termination.withLock { state in
            if let finished = state {
                return finished
            }
            var status: Int32 = 0
            while true {
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid {
                    let finished = Self.decode(status)
                    state = finished
                    return finished
                }
                if result == 0 {
                    return nil
                }
                if errno == EINTR {
                    continue
                }
                // ECHILD: someone else reaped it; the status is unknown.
                let unknown = Termination.exited(-1)
                state = unknown
                return unknown
            }
        }
    }

    /// Decodes a waitpid status word (the WIFEXITED/WTERMSIG layout of Linux).
    private static func decode(_ status: Int32) -> Termination {
        let signal = status & 0x7F
        if signal == 0 {
            return .exited((status >> 8) & 0xFF)
        }
        return .signaled(signal)
    }

    private static func mergedEnvironment(_ overrides: [String: String]) -> [String] {
        var entries: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if overrides[name] == nil {
                entries.append(text)
            }
            index += 1
        }
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
            entries.append("\(name)=\(value)")
        }
        return entries
    }
}

/// A NULL-terminated array of C strings that lives as long as this object.
private final class CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    deinit {
        for pointer in pointers {
            free(pointer)
        }
    }
}

/// Failure of a test helper: a missing binary, a server that did not start, a command that failed.
public struct TestSupportError: Error, CustomStringConvertible, Sendable {
    /// Kind of failure, compared with `==` against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case binaryNotFound, spawnFailed, startTimedOut, exitedEarly, commandFailed, systemCallFailed
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// An executable was not found through its environment variable or `PATH`.
        public static var binaryNotFound: Code { Code(.binaryNotFound) }
        /// `posix_spawn` failed.
        public static var spawnFailed: Code { Code(.spawnFailed) }
        /// A server did not become ready before its startup timeout.
        public static var startTimedOut: Code { Code(.startTimedOut) }
        /// A server process exited before it became ready.
        public static var exitedEarly: Code { Code(.exitedEarly) }
        /// A helper command exited with a nonzero status or did not finish in time.
        public static var commandFailed: Code { Code(.commandFailed) }
        /// A system call such as `socket`, `mkdtemp` or `waitpid` failed.
        public static var systemCallFailed: Code { Code(.systemCallFailed) }

        public var description: String {
            switch base {
            case .binaryNotFound: "binary not found"
            case .spawnFailed: "spawn failed"
            case .startTimedOut: "start timed out"
            case .exitedEarly: "exited early"
            case .commandFailed: "command failed"
            case .systemCallFailed: "system call failed"
            }
        }
    }

    public let code: Code
    /// Full message: what failed, on which value, and what to do next.
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// Failure of a socket operation, with a message that names the operation, the endpoint and the
/// errno text, for example `connect to 127.0.0.1:6390 failed: Connection refused (errno 111)`.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    /// Kind of failure, compared with `==` against the static members. New kinds may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidEndpoint, resolveFailed, connectFailed, connectTimedOut, socketFailed
            case listenFailed, acceptFailed, readFailed, writeFailed, closed, timedOut, pollFailed
            case threadFailed
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// An endpoint string or value is malformed (bad port, empty host, path too long).
        public static var invalidEndpoint: Code { Code(.invalidEndpoint) }
        /// Name resolution (`getaddrinfo`) failed or returned no usable address.
        public static var resolveFailed: Code { Code(.resolveFailed) }
        /// `connect` failed on every resolved address; `errno` is the last failure's.
        public static var connectFailed: Code { Code(.connectFailed) }
        /// `connect` did not complete within the timeout on any address.
        public static var connectTimedOut: Code { Code(.connectTimedOut) }
        /// `socket`, `setsockopt` or `fcntl` failed.
        public static var socketFailed: Code { Code(.socketFailed) }
        /// `bind` or `listen` failed, or the address is not a loopback address.
        public static var listenFailed: Code { Code(.listenFailed) }
        /// `accept4` failed.
        public static var acceptFailed: Code { Code(.acceptFailed) }
        /// `recv` failed, for example with ECONNRESET.
        public static var readFailed: Code { Code(.readFailed) }
        /// `send` failed, for example with EPIPE or ECONNRESET.
        public static var writeFailed: Code { Code(.writeFailed) }
        /// The socket was closed locally, or the peer closed it before an expected byte count.
        public static var closed: Code { Code(.closed) }
        /// A blocking convenience (`writeAll`, `readExactly`) ran out of time.
        public static var timedOut: Code { Code(.timedOut) }
        /// `poll`, `epoll_*` or `eventfd` failed.
        public static var pollFailed: Code { Code(.pollFailed) }
        /// `pthread_create` failed, for example at the process's thread limit.
        public static var threadFailed: Code { Code(.threadFailed) }

        public var description: String {
            switch base {
            case .invalidEndpoint: "invalid endpoint"
            case .resolveFailed: "resolve failed"
            case .connectFailed: "connect failed"
            case .connectTimedOut: "connect timed out"
            case .socketFailed: "socket failed"
            case .listenFailed: "listen failed"
            case .acceptFailed: "accept failed"
            case .readFailed: "read failed"
            case .writeFailed: "write failed"
            case .closed: "closed"
            case .timedOut: "timed out"
            case .pollFailed: "poll failed"
            case .threadFailed: "thread failed"
            }
        }
    }

    public var code: Code
    /// errno of the failing system call, when one failed.
    public var errno: Int32?
    public var description: String

    /// The cause alone ("Connection refused (errno 111)"), used to list the failure of each
    /// address when a connect tried several.
    var reason: String

    public init(_ code: Code, _ description: String, errno: Int32? = nil) {
        self.init(code, description, errno: errno, reason: description)
    }

    init(_ code: Code, _ description: String, errno: Int32?, reason: String) {
        self.code = code
        self.description = description
        self.errno = errno
        self.reason = reason
    }

    /// Matches an error against a code, so that `catch .closed` and `case .connectTimedOut:` work
    /// on a `TransportError`.
    public static func ~= (pattern: Code, value: TransportError) -> Bool {
        pattern == value.code
    }

    /// Makes the error for a failed system call: "`operation` failed: Connection refused (errno 111)".
    static func systemCall(_ code: Code, _ operation: String, errno: Int32) -> TransportError {
        let reason = errnoDescription(errno)
        return TransportError(code, "\(operation) failed: \(reason)", errno: errno, reason: reason)
    }
}

import RedisWire
import SocketTransport

/// A failed Redis call or connection, with a message naming what failed and what to do.
public struct RedisError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, compared with the static members (`error.code == .timedOut`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case serverError = "server error"
            case timedOut = "timed out"
            case connectionClosed = "connection closed"
            case notConnected = "not connected"
            case queueFull = "queue full"
            case protocolError = "protocol error"
            case invalidURL = "invalid URL"
            case invalidArgument = "invalid argument"
            case unexpectedReply = "unexpected reply"
            case clientClosed = "client closed"
            case authenticationFailed = "authentication failed"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server replied with an error (`-ERR`, `-NOPERM`, `-WRONGPASS`, ...).
        public static var serverError: Code { Code(.serverError) }
        /// No reply within the command timeout. The connection was closed, because a late reply
        /// would otherwise be matched to the next command.
        public static var timedOut: Code { Code(.timedOut) }
        /// The connection closed, by the server, by a network failure, or because another
        /// command on it timed out, while the command was in flight. It may or may not have run.
        public static var connectionClosed: Code { Code(.connectionClosed) }
        /// The server is unreachable and the client is reconnecting; the command was not sent.
        public static var notConnected: Code { Code(.notConnected) }
        /// ``RedisConfiguration/maxPendingCommands`` commands are already waiting.
        public static var queueFull: Code { Code(.queueFull) }
        /// The server sent bytes that are not valid RESP2; the connection was closed.
        public static var protocolError: Code { Code(.protocolError) }
        /// A `redis://` or `unix://` URL could not be parsed.
        public static var invalidURL: Code { Code(.invalidURL) }
        /// An argument passed to the client is invalid.
        public static var invalidArgument: Code { Code(.invalidArgument) }
        /// The server replied with a value of a type the call does not expect.
        public static var unexpectedReply: Code { Code(.unexpectedReply) }
        /// The client or subscriber was closed.
        public static var clientClosed: Code { Code(.clientClosed) }
        /// The server rejected the AUTH of the handshake (`WRONGPASS`, `NOPERM`, or
        /// `ERR invalid password` from servers before 6.0); ``RedisError/serverMessage`` contains its
        /// reply. Commands fail with this code until a connection authenticates. The client keeps
        /// retrying at the maximum reconnect delay, because the server may be reconfigured.
        public static var authenticationFailed: Code { Code(.authenticationFailed) }

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// The error text for ``Code/serverError``, for example `NOPERM ...`.
    public let serverMessage: [UInt8]?
    /// The transport or parsing error behind this one.
    public let underlying: (any Error & Sendable)?

    init(
        _ code: Code, _ message: String, serverMessage: [UInt8]? = nil,
        underlying: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.serverMessage = serverMessage
        self.underlying = underlying
    }

    public var description: String {
        "Redis \(code): \(message)"
    }

    /// The first word of a server error, such as `NOPERM` or `WRONGPASS`; `nil` for other codes.
    public var serverErrorPrefix: String? {
        guard let serverMessage else { return nil }
        return String(decoding: serverMessage.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
    }

    static func server(_ text: [UInt8], command: String) -> RedisError {
        RedisError(
            .serverError, "\(command) failed: \(String(decoding: text.prefix(512), as: UTF8.self))",
            serverMessage: text
        )
    }

    /// Creates the error for a rejected handshake AUTH. Redis 7.0 does not echo the password in its reply.
    static func authenticationFailed(_ text: [UInt8]) -> RedisError {
        var reply = String(decoding: text.prefix(512), as: UTF8.self)
        // Redis ends WRONGPASS with a period, which would run into the advice after it.
        if reply.hasSuffix(".") {
            reply.removeLast()
        }
        return RedisError(
            .authenticationFailed, "the server rejected AUTH (\(reply)); check the username and password",
            serverMessage: text)
    }

    /// Creates the error for a call that was not sent because no connection is ready. The code is
    /// ``Code/authenticationFailed`` when the server rejected the credentials, so callers can tell
    /// a configuration error from a network failure. Otherwise it is ``Code/notConnected``.
    /// `detail` is appended to the message, as in "; the client keeps reconnecting".
    static func notSent(
        _ command: String, endpoint: Endpoint, lastError: RedisError?, detail: String = ""
    ) -> RedisError {
        guard let lastError else {
            return RedisError(.notConnected, "\(command) not sent: no connection to \(endpoint)\(detail)")
        }
        if lastError.code == .authenticationFailed {
            return RedisError(
                .authenticationFailed, "\(command) not sent to \(endpoint): \(lastError.message)\(detail)",
                serverMessage: lastError.serverMessage, underlying: lastError)
        }
        // The other connection errors already name the endpoint.
        return RedisError(
            .notConnected, "\(command) not sent: \(lastError.message)\(detail)", underlying: lastError)
    }

    static func timedOut(after timeout: Duration, endpoint: Endpoint) -> RedisError {
        RedisError(
            .timedOut,
            "no reply from \(endpoint) within \(timeout); the connection was closed "
                + "and will be reopened")
    }

    static func closed(
        _ reason: String, endpoint: Endpoint, underlying: (any Error & Sendable)? = nil
    ) -> RedisError {
        RedisError(.connectionClosed, "connection to \(endpoint) closed: \(reason)", underlying: underlying)
    }

    static func protocolError(_ error: RESPParsingError, endpoint: Endpoint) -> RedisError {
        RedisError(
            .protocolError, "reply from \(endpoint) is invalid: \(error.description)", underlying: error)
    }
}

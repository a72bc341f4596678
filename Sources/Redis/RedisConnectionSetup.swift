import DualStreamLogging
import RedisWire
import SocketTransport

/// A connected socket whose handshake commands are encoded into its write buffer but not yet
/// written, and the names of those commands in the order their replies arrive.
struct OpenedRedisConnection {
    let io: RedisSocketIO
    let handshakeNames: [String]
}

/// The connect and handshake steps that ``RedisClient`` and ``RedisSubscriber`` share.
enum RedisConnectionSetup {
    /// Connects to the configured endpoint and encodes AUTH, SELECT (when `includeSelect`) and
    /// CLIENT SETNAME. Throws ``RedisError/Code/notConnected`` when the connect fails.
    static func open(
        _ configuration: RedisConfiguration, includeSelect: Bool
    ) throws(RedisError) -> OpenedRedisConnection {
        let socket: StreamSocket
        do {
            socket = try StreamSocket.connect(
                to: configuration.endpoint, timeout: configuration.connectTimeout)
        } catch {
            // The transport error already names the operation and the endpoint.
            throw RedisError(.notConnected, "\(error)", underlying: error)
        }
        let io = RedisSocketIO(socket: socket)
        let commands = configuration.handshakeCommands(includeSelect: includeSelect)
        for command in commands {
            RESPEncoder.encodeCommand(command, into: &io.writeBuffer)
        }
        return OpenedRedisConnection(io: io, handshakeNames: commands.map(handshakeName))
    }

    /// The command name used in messages: `AUTH`, `SELECT` or `CLIENT SETNAME`.
    static func handshakeName(_ command: [[UInt8]]) -> String {
        let words = command.prefix(command.first == Array("CLIENT".utf8) ? 2 : 1)
        return words.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// Logs a failed connection or attempt at debug level, and a rejected AUTH also at warning
    /// level, rate-limited, because it needs a configuration change rather than a retry.
    static func logFailure(
        _ error: RedisError, message: Logger.Message, configuration: RedisConfiguration, logger: Logger,
        limiter: LogRateLimiter
    ) {
        let endpoint = "\(configuration.endpoint)"
        logger.debug(message, metadata: ["redis.endpoint": .string(endpoint), "error": "\(error.message)"])
        guard error.code == .authenticationFailed, let suppressed = limiter.admit() else { return }
        logger.warning(
            "redis authentication failed; retrying at the maximum reconnect delay",
            metadata: [
                "redis.endpoint": .string(endpoint),
                "redis.username": .string(configuration.username ?? "default"),
                "redis.retry_delay": "\(configuration.reconnectBackoffMaximum)", "error": "\(error.message)",
                "log.suppressed": "\(suppressed)",
            ])
    }
}

import DualStreamLogging
import RedisWire
import SocketTransport

/// A Redis connection for commands, with automatic pipelining and reconnects.
///
/// Commands from concurrent callers are appended to one outbound buffer. The connection's I/O
/// thread writes everything pending in one write and matches the replies in order. A command
/// that times out closes the connection, because its late reply would otherwise be taken for the
/// next command's. The other commands in flight then fail with
/// ``RedisError/Code/connectionClosed``, and the client reconnects at once, then with exponential
/// backoff and jitter.
///
/// While the server is unreachable, calls fail at once with ``RedisError/Code/notConnected``
/// (or wait up to ``RedisConfiguration/maxWaitWhileDisconnected``), and at most
/// ``RedisConfiguration/maxPendingCommands`` commands are queued or in flight.
///
/// The command methods are `nonisolated(nonsending)`: they run on the caller's executor, so a
/// call adds no executor switch of its own.
public final class RedisClient: Sendable {
    private let core: RedisClientCore

    public init(configuration: RedisConfiguration, logger: Logger = .silent) {
        core = RedisClientCore(configuration: configuration, logger: logger)
        core.startIOThread()
    }

    deinit {
        core.requestClose()
    }

    public var configuration: RedisConfiguration { core.configuration }

    /// An executor that runs tasks on this client's I/O thread.
    ///
    /// A task that prefers it with `withTaskExecutorPreference(client.executor) { ... }` sends
    /// its commands and is resumed with their replies on the I/O thread, which saves two thread
    /// switches per round trip. Such a task must not block the thread (no blocking system calls,
    /// no long computation), because the connection does no I/O while it runs.
    public var executor: any TaskExecutor { core.executor }

    /// Replies that queued and in-flight commands still wait for.
    public var pendingCommandCount: Int { core.shared.withLock { $0.pendingReplies } }

    /// Sends `PUBLISH channel message` and returns the number of subscribers that received it.
    /// A channel or message longer than ``maxPublishArgumentLength`` throws
    /// ``RedisError/Code/invalidArgument`` without sending anything.
    nonisolated(nonsending) public func publish(
        channel: [UInt8], message: [UInt8]
    ) async throws(RedisError) -> Int {
        if let error = Self.oversizedPublishError(channel: channel, message: message, index: nil) {
            throw error
        }
        let reply = try await core.submitSingle(name: "PUBLISH", timeout: nil) { buffer in
            RESPEncoder.encodePublish(channel: channel, message: message, into: &buffer)
        }
        guard case .integer(let receivers) = reply else {
            throw RedisError(.unexpectedReply, "PUBLISH returned \(reply), expected an integer")
        }
        return Int(receivers)
    }

    /// Sends `PING` and returns the server's reply text (`PONG`).
    nonisolated(nonsending) public func ping() async throws(RedisError) -> [UInt8] {
        let reply = try await send([Array("PING".utf8)])
        guard let text = reply.bytes else {
            throw RedisError(.unexpectedReply, "PING returned \(reply), expected a string")
        }
        return text
    }

    /// Sends one command and returns its reply. An error reply is thrown as
    /// ``RedisError/Code/serverError``.
    ///
    /// - Parameter timeout: overrides ``RedisConfiguration/commandTimeout`` for this command.
    nonisolated(nonsending) public func send(
        _ arguments: [[UInt8]], timeout: Duration? = nil
    ) async throws(RedisError) -> RESPValue {
        let name = try Self.validatedName(arguments)
        return try await core.submitSingle(name: name, timeout: timeout) { buffer in
            RESPEncoder.encodeCommand(arguments, into: &buffer)
        }
    }

    /// Sends `send(_:)` with string arguments, for convenience.
    nonisolated(nonsending) public func send(
        _ arguments: String..., timeout: Duration? = nil
    ) async throws(RedisError) -> RESPValue {
        try await send(arguments.map { Array($0.utf8) }, timeout: timeout)
    }

    /// Sends the commands back to back in one write and returns one result per command, in order.
    /// The commands are queued together or not at all.
    nonisolated(nonsending) public func pipeline(
        _ commands: [[[UInt8]]]
    ) async -> [Result<RESPValue, RedisError>] {
        if commands.isEmpty { return [] }
        if let empty = commands.firstIndex(where: { $0.isEmpty }) {
            let error = RedisError(.invalidArgument, "pipeline command \(empty) has no arguments")
            return Array(repeating: .failure(error), count: commands.count)
        }
        for command in commands where Self.isSubscribeModeCommand(command[0]) {
            let error = Self.subscribeModeError(String(decoding: command[0], as: UTF8.self).uppercased())
            return Array(repeating: .failure(error), count: commands.count)
        }
        if commands.contains(where: Self.isReplySuppressingCommand) {
            return Array(repeating: .failure(Self.replySuppressingError), count: commands.count)
        }
        return await core.submitBatch(count: commands.count) { buffer in
            RESPEncoder.encodeCommands(commands, into: &buffer)
        }
    }

    /// Sends `PUBLISH channel message` for every pair, back to back in one write, and returns one
    /// result per pair, in order. Each result is the number of subscribers that received the
    /// message, or the error. An error reply is a ``RedisError/Code/serverError`` failure that
    /// names the channel.
    ///
    /// The commands are queued together or not at all, and take one slot of
    /// ``RedisConfiguration/maxPendingCommands`` each, so a batch larger than that limit fails
    /// as a whole with ``RedisError/Code/queueFull``. Unlike ``pipeline(_:)``, it builds no
    /// argument arrays and no ``RESPValue`` results. A channel or message longer than
    /// ``maxPublishArgumentLength`` fails the whole batch with ``RedisError/Code/invalidArgument``.
    nonisolated(nonsending) public func publish(
        _ publications: [(channel: [UInt8], message: [UInt8])]
    ) async -> [Result<Int, RedisError>] {
        if publications.isEmpty { return [] }
        // Only lengths are read here, through the buffer, so the check retains no element.
        let limit = Self.maxPublishArgumentLength
        let oversized = publications.withUnsafeBufferPointer { buffer in
            buffer.firstIndex { $0.channel.count > limit || $0.message.count > limit }
        }
        if let index = oversized, let error = Self.oversizedPublishError(
            channel: publications[index].channel, message: publications[index].message, index: index)
        {
            return Array(repeating: .failure(error), count: publications.count)
        }
        return await core.submitPublishBatch(publications)
    }

    /// Returns the command name for messages, or throws when the command is empty or would
    /// break the one-reply-per-command matching (subscribe mode, CLIENT REPLY OFF or SKIP).
    static func validatedName(_ arguments: [[UInt8]]) throws(RedisError) -> String {
        guard let first = arguments.first else {
            throw RedisError(.invalidArgument, "send needs at least the command name")
        }
        let name = String(decoding: first.prefix(32), as: UTF8.self).uppercased()
        if isSubscribeModeCommand(first) {
            throw subscribeModeError(name)
        }
        if isReplySuppressingCommand(arguments) {
            throw replySuppressingError
        }
        return name
    }

    /// Commands that switch the connection into a mode whose replies are not matched one to
    /// one with commands, which would desynchronise the pipeline. The unsubscribe commands get
    /// one reply per name even outside subscribe mode.
    private static let subscribeModeCommands: [[UInt8]] = [
        "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
    ]
    .map { Array($0.utf8) }

    /// Compares ASCII case-insensitively without building a String, because pipeline() checks
    /// every command.
    private static func isSubscribeModeCommand(_ name: [UInt8]) -> Bool {
        guard name.count >= 7 && name.count <= 12 else { return false }
        // Each of them ends in E, or R for MONITOR, so one comparison rejects PUBLISH and most
        // other commands.
        let last = name[name.count - 1] & 0xDF
        guard last == UInt8(ascii: "E") || last == UInt8(ascii: "R") else { return false }
        return subscribeModeCommands.contains { candidate in
            candidate.count == name.count && zip(candidate, name).allSatisfy { $0 == $1 & 0xDF }
        }
    }

    /// Returns whether the command is `CLIENT REPLY OFF` or `CLIENT REPLY SKIP` (any case). The
    /// server sends no reply for these, so every later reply would be matched with the command
    /// before it.
    private static func isReplySuppressingCommand(_ command: [[UInt8]]) -> Bool {
        guard command.count >= 3, command[0].count == 6, equalsIgnoringCase(command[0], "CLIENT"),
            equalsIgnoringCase(command[1], "REPLY")
        else { return false }
        return !equalsIgnoringCase(command[2], "ON")
    }

    /// Compares `bytes` with the upper-case ASCII letters of `word`, ignoring case.
    private static func equalsIgnoringCase(_ bytes: [UInt8], _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { letters in
            zip(letters, bytes).allSatisfy { $0 == $1 & 0xDF }
        }
    }

    private static let replySuppressingError = RedisError(
        .invalidArgument,
        "CLIENT REPLY OFF and SKIP are not supported on RedisClient and RedisConnection, because the "
            + "server then sends no reply for some commands and later replies would be matched with "
            + "the wrong command"
    )

    private static func subscribeModeError(_ name: String) -> RedisError {
        RedisError(
            .invalidArgument,
            "\(name) is not supported on RedisClient and RedisConnection, because its replies are not "
                + "matched one to one with commands; use RedisSubscriber for (P|S)SUBSCRIBE and "
                + "(P|S)UNSUBSCRIBE"
        )
    }

    /// Fails every queued and in-flight command with ``RedisError/Code/clientClosed``, closes
    /// the connection and waits for the I/O thread to end.
    public func close() async {
        await core.close()
    }
}

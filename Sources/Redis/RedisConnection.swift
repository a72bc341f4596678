import DualStreamLogging
import Glibc
import RedisWire
import SocketTransport

/// A synchronous Redis connection with one owner: each call writes its command and blocks the
/// calling thread until the reply arrives, like hiredis's `redisCommand`.
///
/// A round trip costs three system calls (send, poll, recv) and no thread switch, which suits a
/// caller that does one command at a time on its own thread. ``RedisClient`` suits concurrent
/// callers and Swift tasks, because its calls suspend instead of blocking a thread and it
/// pipelines commands from concurrent callers into one write. Do not call a `RedisConnection`
/// from a task on the cooperative pool for long, because a blocked call holds one of its few
/// threads.
///
/// It shares the client's rules. It connects on first use and sends the same handshake (AUTH,
/// SELECT, CLIENT SETNAME) with the same limits on replies. A command that gets no reply within
/// ``RedisConfiguration/commandTimeout`` fails with ``RedisError/Code/timedOut`` and the
/// connection is closed, never reused, because its late reply would be taken for the next
/// command's. After a connection is lost, the next call reconnects at once. After a failed
/// attempt, calls fail with ``RedisError/Code/notConnected`` until the backoff delay passed, or
/// wait for it when it is within ``RedisConfiguration/maxWaitWhileDisconnected``. A rejected AUTH
/// fails with ``RedisError/Code/authenticationFailed`` and is retried after the maximum delay.
///
/// Not `Sendable`: one thread at a time owns it. Its mutable properties therefore opt out of
/// runtime exclusivity checks, which cost a thread-local lookup per access.
public final class RedisConnection {
    public let configuration: RedisConfiguration
    private let logger: Logger
    /// Limits warnings for a rejected AUTH, which repeats on every attempt.
    private let warningLimiter = LogRateLimiter()
    @exclusivity(unchecked) private var lifecycle: ConnectionLifecycle
    @exclusivity(unchecked) private var socket: StreamSocket?
    @exclusivity(unchecked) private var parser = RESPParser()
    @exclusivity(unchecked) private var cursor = ByteCursor()
    @exclusivity(unchecked) private var writeBuffer: [UInt8] = []
    /// How long the next wait for a reply checks without blocking; internal for tests.
    @exclusivity(unchecked) private(set) var spinWindow: SpinWindow
    private let readChunk: UnsafeMutableRawBufferPointer

    /// Creates the connection object without connecting; the first command connects.
    public init(configuration: RedisConfiguration, logger: Logger = .silent, readChunkSize: Int = 64 * 1024) {
        self.configuration = configuration
        self.logger = logger
        let backoff = Backoff(
            initial: configuration.reconnectBackoffInitial, maximum: configuration.reconnectBackoffMaximum
        )
        lifecycle = ConnectionLifecycle(backoff: backoff, now: .now)
        spinWindow = configuration.makeSpinWindow()
        readChunk = .allocate(byteCount: max(readChunkSize, 512), alignment: 16)
    }

    deinit {
        socket?.close()
        readChunk.deallocate()
    }

    /// Whether a connection is open and past its handshake.
    public var isConnected: Bool { socket != nil }

    /// Sends `PUBLISH channel message` and returns the number of subscribers that received it.
    public func publish(channel: [UInt8], message: [UInt8]) throws(RedisError) -> Int {
        RESPEncoder.encodePublish(channel: channel, message: message, into: &writeBuffer)
        let reply = try roundTrip(name: "PUBLISH", timeout: configuration.commandTimeout)
        guard case .integer(let receivers) = reply else {
            throw RedisError(.unexpectedReply, "PUBLISH returned \(reply), expected an integer")
        }
        return Int(receivers)
    }

    /// Sends one command and returns its reply. An error reply is thrown as
    /// ``RedisError/Code/serverError`` and leaves the connection open.
    ///
    /// - Parameter timeout: overrides ``RedisConfiguration/commandTimeout`` for this command.
    public func send(_ arguments: [[UInt8]], timeout: Duration? = nil) throws(RedisError) -> RESPValue {
        let name = try RedisClient.validatedName(arguments)
        RESPEncoder.encodeCommand(arguments, into: &writeBuffer)
        return try roundTrip(name: name, timeout: timeout ?? configuration.commandTimeout)
    }

    /// Sends `send(_:)` with string arguments, for convenience.
    public func send(_ arguments: String..., timeout: Duration? = nil) throws(RedisError) -> RESPValue {
        try send(arguments.map { Array($0.utf8) }, timeout: timeout)
    }

    /// Closes the connection. The next command opens a new one.
    public func close() {
        if let socket {
            socket.close()
            logger.debug("redis connection closed", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
        }
        resetConnection()
    }

    // MARK: round trip

    /// Writes ``writeBuffer`` and reads one reply. Throws a server error reply as
    /// ``RedisError/Code/serverError``; any other failure closes the connection.
    private func roundTrip(name: String, timeout: Duration) throws(RedisError) -> RESPValue {
        defer { writeBuffer.removeAll(keepingCapacity: writeBuffer.capacity <= 1 << 20) }
        let socket = try connectedSocket(commandName: name)
        let deadline = ContinuousClock.now + timeout
        let reply: RESPValue
        do throws(RedisError) {
            try write(writeBuffer, to: socket, deadline: deadline, timeout: timeout)
            reply = try readReply(from: socket, deadline: deadline, timeout: timeout)
        } catch {
            connectionLost(error)
            throw error
        }
        if cursor.readableBytes > 0 {
            // One command is outstanding at a time, so bytes after its reply belong to no command.
            // Left in the cursor they would be taken for the next command's reply.
            // NOTE: a surplus reply that arrives in a later segment, after this call returned,
            // is still read as the next command's reply; catching it would cost a read per call.
            connectionLost(
                RedisError(
                    .protocolError,
                    "\(configuration.endpoint) sent \(cursor.readableBytes) bytes after the reply to "
                        + "\(name), a reply no command is waiting for; the connection was closed"))
        }
        logger.trace("redis command replied", metadata: ["redis.command": .string(name)])
        if case .error(let text) = reply {
            throw RedisError.server(text, command: name)
        }
        return reply
    }

    private func write(
        _ bytes: [UInt8], to socket: StreamSocket, deadline: ContinuousClock.Instant, timeout: Duration
    ) throws(RedisError) {
        do {
            try socket.writeAll(bytes, timeout: max(.zero, deadline - .now))
        } catch where error.code == .timedOut {
            throw RedisError.timedOut(after: timeout, endpoint: configuration.endpoint)
        } catch {
            throw RedisError.closed(
                "write failed: \(error)", endpoint: configuration.endpoint, underlying: error)
        }
    }

    /// Reads until one whole reply parsed. Waits with poll before each read, because right after
    /// a write the reply has not arrived yet and a read would return EAGAIN.
    private func readReply(
        from socket: StreamSocket, deadline: ContinuousClock.Instant, timeout: Duration
    ) throws(RedisError) -> RESPValue {
        let endpoint = configuration.endpoint
        while true {
            do {
                if let reply = try parser.parse(&cursor) {
                    cursor.discardReadBytes()
                    return reply
                }
            } catch {
                throw RedisError.protocolError(error, endpoint: endpoint)
            }
            cursor.discardReadBytes()
            let readable: Bool
            let result: StreamSocket.ReadResult
            do {
                readable = try waitReadable(socket, until: deadline)
                result = readable ? try socket.read(into: readChunk) : .wouldBlock
            } catch {
                throw RedisError.closed("read failed: \(error)", endpoint: endpoint, underlying: error)
            }
            guard readable else {
                throw RedisError.timedOut(after: timeout, endpoint: endpoint)
            }
            switch result {
            case .bytes(let count):
                cursor.append(contentsOf: UnsafeRawBufferPointer(rebasing: readChunk[0..<count]))
            case .wouldBlock:
                continue
            case .closed:
                let partial = cursor.readableBytes
                let detail = partial > 0 ? " in the middle of a reply (\(partial) bytes of it received)" : ""
                throw RedisError.closed("the server closed the connection\(detail)", endpoint: endpoint)
            }
        }
    }

    /// Waits until the socket is readable or `deadline` passes. It first checks without
    /// blocking for the current ``SpinWindow``, then blocks and adapts the window to the wait.
    private func waitReadable(
        _ socket: StreamSocket, until deadline: ContinuousClock.Instant
    ) throws(TransportError) -> Bool {
        let start = ContinuousClock.now
        let spin = spinWindow.current
        if spin > .zero {
            let spinEnd = min(start + spin, deadline)
            repeat {
                if try socket.waitReadable(timeout: .zero) { return true }
                SpinWindow.yield()
            } while ContinuousClock.now < spinEnd
        }
        let remaining = deadline - .now
        guard remaining > .zero, try socket.waitReadable(timeout: remaining) else { return false }
        spinWindow.recordBlockedWait(elapsed: .now - start)
        return true
    }

    // MARK: connecting

    /// Returns the open socket, connecting and sending the handshake first when needed.
    private func connectedSocket(commandName: String) throws(RedisError) -> StreamSocket {
        if let socket { return socket }
        let endpoint = configuration.endpoint
        let now = ContinuousClock.now
        if case .disconnected(let retryAt) = lifecycle.state, retryAt > now {
            guard retryAt - now <= configuration.maxWaitWhileDisconnected else {
                throw RedisError.notSent(
                    commandName, endpoint: endpoint, lastError: lifecycle.lastError,
                    detail: "; the next connect attempt is due in \(retryAt - now)")
            }
            sleep(until: retryAt)
        }

        logger.debug("redis connecting", metadata: ["redis.endpoint": "\(endpoint)"])
        lifecycle.connecting()
        let opened: StreamSocket
        do {
            opened = try StreamSocket.connect(to: endpoint, timeout: configuration.connectTimeout)
        } catch {
            // The transport error already names the operation and the endpoint.
            let failure = RedisError(.notConnected, "\(error)", underlying: error)
            lifecycle.fail(failure, now: .now)
            logFailure(failure)
            throw failure
        }
        socket = opened

        do {
            try handshake(opened)
        } catch {
            // As on RedisClient: the command was not sent, and a rejected AUTH keeps its code.
            throw RedisError.notSent(commandName, endpoint: endpoint, lastError: error)
        }
        logger.debug("redis connected", metadata: ["redis.endpoint": "\(endpoint)"])
        return opened
    }

    /// Sends AUTH, SELECT and CLIENT SETNAME as configured and checks each reply.
    private func handshake(_ socket: StreamSocket) throws(RedisError) {
        let commands = configuration.handshakeCommands(includeSelect: true)
        var handshakeBytes: [UInt8] = []
        for command in commands {
            RESPEncoder.encodeCommand(command, into: &handshakeBytes)
        }
        if lifecycle.connected(handshakeCount: commands.count) {
            return
        }
        let timeout = configuration.commandTimeout
        let deadline = ContinuousClock.now + timeout
        do throws(RedisError) {
            try write(handshakeBytes, to: socket, deadline: deadline, timeout: timeout)
            for command in commands {
                let name = RedisConnectionSetup.handshakeName(command)
                let reply = try readReply(from: socket, deadline: deadline, timeout: timeout)
                if case .failed(let error, _) = lifecycle.handshakeReplied(reply, command: name, now: .now) {
                    throw error
                }
            }
            if cursor.readableBytes > 0 {
                // Otherwise the first command would return these bytes as its reply.
                throw RedisError(
                    .protocolError,
                    "\(configuration.endpoint) sent \(cursor.readableBytes) bytes after the "
                        + "\(commands.count) handshake replies, a reply no command is waiting for")
            }
        } catch {
            connectionLost(error)
            throw error
        }
    }

    private func connectionLost(_ error: RedisError) {
        socket?.close()
        resetConnection()
        if case .disconnected = lifecycle.state {
        } else {
            lifecycle.fail(error, now: .now)
        }
        logFailure(error)
    }

    private func logFailure(_ error: RedisError) {
        RedisConnectionSetup.logFailure(
            error, message: "redis connection failed", configuration: configuration, logger: logger,
            limiter: warningLimiter)
    }

    private func resetConnection() {
        socket = nil
        parser = RESPParser()
        cursor = ByteCursor()
    }

    private func sleep(until instant: ContinuousClock.Instant) {
        let delay = instant - .now
        guard delay > .zero else { return }
        let (seconds, attoseconds) = delay.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}

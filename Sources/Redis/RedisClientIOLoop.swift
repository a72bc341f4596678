import Glibc
import DualStreamLogging
import RedisWire
import SocketTransport

/// The I/O thread of one ``RedisClient``: connects, writes queued commands, reads and matches
/// replies, enforces deadlines, and reconnects. Everything here runs on that one thread.
///
/// The mutable properties opt out of runtime exclusivity checks with `@exclusivity(unchecked)`:
/// only the I/O thread touches them, and the checks cost a thread-local lookup per access,
/// several per reply. The compiler still checks exclusivity statically.
final class RedisClientIOLoop: @unchecked Sendable {
    private let core: RedisClientCore
    private let poller: Poller
    private let configuration: RedisConfiguration
    private let logger: Logger
    /// Limits warnings for failures that repeat every loop turn, such as a failing epoll_wait.
    private let warningLimiter = LogRateLimiter()
    @exclusivity(unchecked) private var lifecycle: ConnectionLifecycle {
        didSet {
            if case .ready = lifecycle.state { isReady = true } else { isReady = false }
        }
    }
    /// Whether ``lifecycle`` is ready, kept in a Bool because the state enum contains a
    /// `ContinuousClock.Instant`, whose layout is not known at compile time. Every read of the
    /// state then goes through runtime metadata, hundreds of instructions per loop turn.
    @exclusivity(unchecked) private var isReady = false
    @exclusivity(unchecked) private var io: RedisSocketIO?
    @exclusivity(unchecked) private var token: UInt64 = 0
    @exclusivity(unchecked) private var writeInterest = false
    @exclusivity(unchecked) private var inFlight: [PendingCommand] = []
    @exclusivity(unchecked) private var inFlightHead = 0
    /// Reused when taking the queue, so taking allocates nothing in the steady state.
    @exclusivity(unchecked) private var spareQueue: [PendingCommand] = []
    /// Commands whose replies all arrived during the current read, resumed after the shared
    /// pending count was lowered so a resumed caller never sees a stale count.
    @exclusivity(unchecked) private var completed: [PendingCommand] = []
    /// Handshake commands waiting for replies, by name, in order.
    @exclusivity(unchecked) private var handshakeNames: [String] = []
    @exclusivity(unchecked) private var handshakeDeadline: ContinuousClock.Instant?
    /// A lower bound of the in-flight deadlines; recomputed when it passes.
    @exclusivity(unchecked) private var earliestInFlightDeadline: ContinuousClock.Instant?
    /// How long the next wait for a reply checks without blocking.
    @exclusivity(unchecked) private var spinWindow: SpinWindow
    /// Whether the commands taken last came from jobs that ran on this thread. Only then does a
    /// spin save a wake-up, because the task that awaits the reply resumes here. A caller on
    /// another thread is woken anyway, and a spinning I/O thread keeps a CPU that this caller
    /// and the server may need.
    @exclusivity(unchecked) private var callersOnIOThread = false

    init(core: RedisClientCore, poller: Poller) {
        self.core = core
        self.poller = poller
        self.configuration = core.configuration
        self.logger = core.logger
        let backoff = Backoff(
            initial: configuration.reconnectBackoffInitial, maximum: configuration.reconnectBackoffMaximum
        )
        self.lifecycle = ConnectionLifecycle(backoff: backoff, now: .now)
        self.spinWindow = configuration.makeSpinWindow()
    }

    func run() {
        let executor = core.executor
        executor.bindToCurrentThread()
        while true {
            let ranJobs = executor.runJobs()
            let inFlightBefore = inFlight.count
            // One lock both checks for close and takes the queued commands. Commands queued
            // while not ready stay queued. After connect() made the connection ready, the wait
            // check below finds them and the next turn takes them.
            if takeQueuedUnlessClosing() {
                shutDown()
                return
            }
            if inFlight.count != inFlightBefore {
                callersOnIOThread = ranJobs
            }
            if !isReady, case .disconnected = lifecycle.state, lifecycle.shouldConnect(now: .now) {
                connect()
            }
            let now = ContinuousClock.now
            expireDeadlines(now: now)
            if let io, io.hasPendingWrites {
                flush(io)
            }
            let isReady = self.isReady
            let shouldWait = core.shared.withLock { state in
                if state.isClosing || (isReady && !state.queued.isEmpty) || executor.hasJobs {
                    return false
                }
                state.ioThreadWaiting = true
                return true
            }
            guard shouldWait else { continue }
            // Computed after ioThreadWaiting is set: a command queued before that point is in
            // the queue read here, and one queued after it sends a wake-up.
            let waitStart = ContinuousClock.now
            var timeout = nextWakeup(now: waitStart)
            // A spin that ends because other work arrived goes straight to the next turn: the
            // spin may have drained the wake-up for that work, so a blocking wait could sleep on.
            // The spin stops at the next deadline, and the wait after it blocks for the time left.
            // It works in durations: an optional ContinuousClock.Instant here cost outlined copies
            // and value witness calls, a few hundred instructions per request under callgrind.
            let awaitingReply =
                io != nil && ((callersOnIOThread && inFlightHead < inFlight.count) || !handshakeNames.isEmpty)
            let spin = awaitingReply ? min(spinWindow.current, timeout ?? spinWindow.current) : .zero
            var events: [Poller.Event] = []
            if spin > .zero {
                guard let spinEvents = spinForReply(until: waitStart + spin) else {
                    endWait()
                    continue
                }
                events = spinEvents
                if events.isEmpty, let fullTimeout = timeout {
                    timeout = max(.zero, fullTimeout - (.now - waitStart))
                }
            }
            let blocked = events.isEmpty
            if blocked {
                events = poller.waitLoggingFailures(timeout: timeout, logger: logger, limiter: warningLimiter)
            }
            endWait()
            if io != nil, events.contains(where: { $0.token == token }) {
                if blocked && awaitingReply {
                    spinWindow.recordBlockedWait(elapsed: .now - waitStart)
                }
                readAvailable()
            }
        }
    }

    /// Marks the I/O thread as awake again, so callers that queue work send no wake-up.
    private func endWait() {
        core.shared.withLock { state in
            state.ioThreadWaiting = false
            state.wakeRequested = false
        }
    }

    /// Checks for events without blocking until `spinEnd`, yielding the CPU between checks.
    /// Returns the first events seen, an empty array when the time ran out, or nil when other
    /// work arrived (a command to send, a job, a close).
    private func spinForReply(until spinEnd: ContinuousClock.Instant) -> [Poller.Event]? {
        let executor = core.executor
        let isReady = self.isReady
        while ContinuousClock.now < spinEnd {
            let events = poller.waitLoggingFailures(timeout: .zero, logger: logger, limiter: warningLimiter)
            if !events.isEmpty { return events }
            // A wake() follows the state change it announces, so a wake-up drained by the wait
            // above shows here. A command queued while not ready is not sent, but its deadline
            // may come before the wait's timeout, so wakeRequested ends the spin too.
            let otherWork = core.shared.withLock { state in
                state.isClosing || state.wakeRequested || (isReady && !state.queued.isEmpty)
            }
            if otherWork || executor.hasJobs { return nil }
            SpinWindow.yield()
        }
        return []
    }

    // MARK: connecting

    private func connect() {
        let endpoint = configuration.endpoint
        logger.debug("redis connecting", metadata: ["redis.endpoint": "\(endpoint)"])
        lifecycle.connecting()
        let opened: OpenedRedisConnection
        do {
            opened = try RedisConnectionSetup.open(configuration, includeSelect: true)
        } catch {
            connectionFailed(error)
            return
        }
        token &+= 1
        do {
            try poller.register(
                fileDescriptor: opened.io.socket.fileDescriptor, token: token, interest: .readable)
        } catch {
            opened.io.socket.close()
            connectionFailed(RedisError(.notConnected, "registering the socket with epoll failed: \(error)"))
            return
        }

        handshakeNames = opened.handshakeNames
        handshakeDeadline = .now + configuration.commandTimeout
        io = opened.io
        writeInterest = false
        if lifecycle.connected(handshakeCount: opened.handshakeNames.count) {
            becameReady()
        }
    }

    private func becameReady() {
        handshakeDeadline = nil
        core.shared.withLock { state in
            state.isKnownUnreachable = false
            state.lastError = nil
        }
        logger.debug("redis connected", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
    }

    /// Closes the socket, fails the commands in flight, and schedules the next attempt.
    /// `timedOutIndex` is the in-flight command whose deadline passed, if that is the reason.
    private func connectionFailed(_ error: RedisError, timedOutIndex: Int? = nil) {
        if let io {
            poller.deregister(fileDescriptor: io.socket.fileDescriptor)
            io.socket.close()
        }
        io = nil
        writeInterest = false
        handshakeNames.removeAll()
        handshakeDeadline = nil

        // A command holds all its pending slots until it is resumed, including the replies of a
        // pipeline that already arrived, so each failed command releases its whole reply count.
        // The commands are resumed after the shared count is lowered, as completed ones are.
        var failedReplies = 0
        for index in inFlightHead..<inFlight.count {
            failedReplies += inFlight[index].replyCount
        }

        if case .disconnected = lifecycle.state {
        } else {
            lifecycle.fail(error, now: .now)
        }
        let isKnownUnreachable = lifecycle.isKnownUnreachable
        let maxWait = configuration.maxWaitWhileDisconnected
        let failFast = isKnownUnreachable && maxWait == .zero
        let unsent: [PendingCommand] = core.shared.withLock { state in
            state.pendingReplies -= failedReplies
            state.isKnownUnreachable = isKnownUnreachable
            state.lastError = error
            guard failFast else {
                // Commands queued before this failure also wait at most maxWait from their call.
                if isKnownUnreachable {
                    for command in state.queued {
                        command.waitForConnection(atMost: maxWait)
                    }
                }
                return []
            }
            let unsentCommands = state.queued
            state.queued.removeAll()
            state.outbound.removeAll(keepingCapacity: true)
            state.pendingReplies -= unsentCommands.reduce(0) { $0 + $1.replyCount }
            return unsentCommands
        }
        for index in inFlightHead..<inFlight.count {
            let command = inFlight[index]
            if index == timedOutIndex {
                command.fail(RedisError.timedOut(after: command.timeout, endpoint: configuration.endpoint))
            } else {
                command.fail(error)
            }
        }
        inFlight.removeAllKeepingCapacity()
        inFlightHead = 0
        earliestInFlightDeadline = nil
        for command in unsent {
            command.fail(
                RedisError.notSent(
                    command.name, endpoint: configuration.endpoint, lastError: error,
                    detail: "; the client keeps reconnecting"))
        }
        RedisConnectionSetup.logFailure(
            error, message: "redis connection failed", configuration: configuration, logger: logger,
            limiter: warningLimiter)
    }

    // MARK: writing

    /// Returns true when the client is closing. Otherwise, when the connection is ready, moves
    /// the queued commands to the write buffer and the in-flight list.
    private func takeQueuedUnlessClosing() -> Bool {
        let io = isReady ? self.io : nil
        let isClosing = core.shared.withLock { state in
            if state.isClosing { return true }
            guard let io, !state.queued.isEmpty else { return false }
            if io.writeBuffer.isEmpty {
                swap(&io.writeBuffer, &state.outbound)
            } else {
                io.writeBuffer.append(contentsOf: state.outbound)
                state.outbound.removeAll(keepingCapacity: true)
            }
            swap(&state.queued, &spareQueue)
            return false
        }
        if isClosing { return true }
        guard !spareQueue.isEmpty else { return false }
        for command in spareQueue {
            if earliestInFlightDeadline.map({ command.deadline < $0 }) ?? true {
                earliestInFlightDeadline = command.deadline
            }
            inFlight.append(command)
        }
        spareQueue.removeAllKeepingCapacity()
        return false
    }

    private func flush(_ io: RedisSocketIO) {
        do {
            let done = try io.flush()
            if done == writeInterest {
                let interest: Poller.Interest = done ? .readable : [.readable, .writable]
                try? poller.modify(fileDescriptor: io.socket.fileDescriptor, token: token, interest: interest)
                writeInterest = !done
            }
        } catch {
            connectionFailed(error)
        }
    }

    // MARK: reading

    private func readAvailable() {
        guard let io else { return }
        do {
            // Bounded, so a flood of replies cannot starve writes and deadline checks.
            // A short read means the socket is drained: stop there instead of paying for a read
            // that returns EAGAIN; level-triggered epoll reports anything that arrives later.
            for _ in 0..<16 {
                guard case .readBytes(let filledChunk) = try io.readOnce() else { break }
                try io.forEachReply { (reply) throws(RedisError) in
                    try handle(reply)
                }
                resumeCompleted()
                if !filledChunk { break }
            }
        } catch {
            resumeCompleted()
            connectionFailed(error)
        }
    }

    private func resumeCompleted() {
        guard !completed.isEmpty else { return }
        let replyCount = completed.reduce(0) { $0 + $1.replyCount }
        core.shared.withLock { $0.pendingReplies -= replyCount }
        for command in completed {
            command.complete()
        }
        completed.removeAllKeepingCapacity()
    }

    /// Matches one reply to the handshake or the oldest command.
    private func handle(_ reply: RESPValue) throws(RedisError) {
        // Handshake replies come first; the names list is non-empty exactly while the lifecycle
        // is handshaking, and checking it avoids copying the lifecycle per reply.
        if !handshakeNames.isEmpty {
            try handleHandshakeReply(reply)
            return
        }
        guard inFlightHead < inFlight.count else {
            throw RedisError(
                .protocolError,
                "\(configuration.endpoint) sent a reply no command is waiting for: "
                    + "\(reply)")
        }
        // The in-flight list keeps the command alive, so the call borrows it unretained, which
        // saves a retain and a release per reply.
        let head = Unmanaged.passUnretained(inFlight[inFlightHead])
        if head._withUnsafeGuaranteedRef({ $0.record(reply) }) {
            completed.append(inFlight[inFlightHead])
            inFlightHead += 1
            if inFlightHead == inFlight.count {
                inFlight.removeAllKeepingCapacity()
                inFlightHead = 0
            } else if inFlightHead >= 4_096 {
                inFlight.removeFirst(inFlightHead)
                inFlightHead = 0
            }
        }
    }

    /// Passes one handshake reply to the lifecycle. It is kept out of ``handle(_:)`` because the
    /// lifecycle's action contains a `ContinuousClock.Instant`, whose layout is known only at run
    /// time. Inlined there, the action's stack slot made every reply fetch type metadata.
    @inline(never)
    private func handleHandshakeReply(_ reply: RESPValue) throws(RedisError) {
        let name = handshakeNames.removeFirst()
        switch lifecycle.handshakeReplied(reply, command: name, now: .now) {
        case .wait:
            break
        case .becameReady:
            becameReady()
        case .failed(let error, _):
            throw error
        }
    }

    // MARK: deadlines

    private func expireDeadlines(now: ContinuousClock.Instant) {
        if !isReady, case .handshaking = lifecycle.state, let handshakeDeadline, now >= handshakeDeadline {
            let name = handshakeNames.first ?? "handshake"
            connectionFailed(
                RedisError(
                    .timedOut,
                    "\(name) got no reply from \(configuration.endpoint) within "
                        + "\(configuration.commandTimeout)"))
        }
        if let earliest = earliestInFlightDeadline, now >= earliest {
            if let index = (inFlightHead..<inFlight.count).first(where: { inFlight[$0].deadline <= now }) {
                let other = RedisError.closed(
                    "another command on this connection timed out", endpoint: configuration.endpoint
                )
                connectionFailed(other, timedOutIndex: index)
            } else {
                earliestInFlightDeadline = inFlight[inFlightHead...].map(\.deadline).min()
            }
        }
        if !isReady {
            expireQueued(now: now)
        }
    }

    /// Fails commands that waited for a connection past their send deadline, removing their bytes.
    private func expireQueued(now: ContinuousClock.Instant) {
        let expired: [PendingCommand] = core.shared.withLock { state in
            guard state.queued.contains(where: { $0.sendDeadline <= now }) else { return [] }
            var expired: [PendingCommand] = []
            var remainingCommands: [PendingCommand] = []
            var remainingBytes: [UInt8] = []
            var offset = 0
            for command in state.queued {
                let range = offset..<(offset + command.byteCount)
                offset += command.byteCount
                if command.sendDeadline <= now {
                    expired.append(command)
                    state.pendingReplies -= command.replyCount
                } else {
                    remainingCommands.append(command)
                    remainingBytes.append(contentsOf: state.outbound[range])
                }
            }
            state.queued = remainingCommands
            state.outbound = remainingBytes
            return expired
        }
        let reason = lifecycle.lastError.map { ": \($0.message)" } ?? ""
        for command in expired {
            let code = command.unsentFailure
            let wait =
                code == .notConnected
                ? min(configuration.maxWaitWhileDisconnected, command.timeout) : command.timeout
            let noConnection = "no connection to \(configuration.endpoint) within \(wait)"
            if lifecycle.lastError?.code == .authenticationFailed {
                command.fail(
                    RedisError.notSent(
                        command.name, endpoint: configuration.endpoint, lastError: lifecycle.lastError,
                        detail: " (waited \(wait) for a connection)"))
                continue
            }
            command.fail(
                RedisError(
                    code, "\(command.name) not sent: \(noConnection)\(reason); the client keeps reconnecting",
                    underlying: lifecycle.lastError))
        }
    }

    private func nextWakeup(now: ContinuousClock.Instant) -> Duration? {
        var next = earliestInFlightDeadline
        if !isReady {
            switch lifecycle.state {
            case .disconnected(let retryAt):
                next = Self.earlier(next, retryAt)
            case .handshaking:
                next = Self.earlier(next, handshakeDeadline)
            case .connecting, .ready, .closed:
                break
            }
            next = Self.earlier(next, core.shared.withLock { $0.queued.map(\.sendDeadline).min() })
        }
        guard let next else { return nil }
        return max(.zero, next - now)
    }

    private static func earlier(
        _ first: ContinuousClock.Instant?, _ second: ContinuousClock.Instant?
    ) -> ContinuousClock.Instant? {
        guard let first else { return second }
        guard let second else { return first }
        return min(first, second)
    }

    // MARK: closing

    private func shutDown() {
        let closed = RedisError(.clientClosed, "the client was closed before the reply arrived")
        if let io {
            poller.deregister(fileDescriptor: io.socket.fileDescriptor)
            io.socket.close()
        }
        io = nil
        lifecycle.close()
        for index in inFlightHead..<inFlight.count {
            inFlight[index].fail(closed)
        }
        inFlight.removeAll()
        let (queued, waiters) = core.shared.withLock { state in
            let queued = state.queued
            let waiters = state.closeWaiters
            state.queued.removeAll()
            state.outbound.removeAll()
            state.closeWaiters.removeAll()
            state.pendingReplies = 0
            state.ioThreadEnded = true
            return (queued, waiters)
        }
        for command in queued {
            command.fail(closed)
        }
        core.executor.end()
        logger.debug("redis client closed", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
        for waiter in waiters {
            waiter.resume()
        }
    }
}

extension Array where Element == PendingCommand {
    /// Empties the array and keeps its storage. `removeAll(keepingCapacity: true)` goes through
    /// the generic `replaceSubrange`, which costs several hundred instructions per call.
    mutating func removeAllKeepingCapacity() {
        while !isEmpty {
            removeLast()
        }
    }
}

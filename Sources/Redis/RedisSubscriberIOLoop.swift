import Glibc
import DualStreamLogging
import RedisWire
import SocketTransport

/// The I/O thread of one ``RedisSubscriber``: connects, authenticates, resubscribes, writes
/// subscribe commands, routes messages, checks health with PING, and reconnects.
/// Everything here runs on that one thread.
final class RedisSubscriberIOLoop: @unchecked Sendable {
    let core: RedisSubscriberCore
    let poller: Poller
    let configuration: RedisConfiguration
    let logger: Logger
    /// Limits warnings for failures that cannot be thrown and may repeat.
    let warningLimiter = LogRateLimiter()
    var lifecycle: ConnectionLifecycle
    var io: RedisSocketIO?
    var token: UInt64 = 0
    /// Interest registered with epoll; nil when the socket is not registered.
    var registeredInterest: Poller.Interest?
    var confirmations = PendingConfirmations()
    var completions: [UInt64: CheckedContinuation<Result<Void, RedisError>, Never>] = [:]
    var commandDeadlines: [UInt64: ContinuousClock.Instant] = [:]
    /// Names of each resubscribe command in flight, to end their subscriptions if it fails.
    var resubscribeNames: [UInt64: (kind: SubscriptionKind, names: [[UInt8]])] = [:]
    var handshakeNames: [String] = []
    var handshakeDeadline: ContinuousClock.Instant?
    var hasBeenReady = false
    /// A message that a full subscription buffer did not take yet, and the buffers still owed it.
    var stalled: (event: RedisSubscriptionEvent, buffers: [SubscriptionBuffer])?
    var stalledSince = ContinuousClock.now
    var lastReceived = ContinuousClock.now
    var pingID: UInt64?
    var pingDeadline: ContinuousClock.Instant?

    init(core: RedisSubscriberCore, poller: Poller) {
        self.core = core
        self.poller = poller
        self.configuration = core.configuration
        self.logger = core.logger
        let backoff = Backoff(
            initial: configuration.reconnectBackoffInitial, maximum: configuration.reconnectBackoffMaximum
        )
        self.lifecycle = ConnectionLifecycle(backoff: backoff, now: .now)
    }

    func run() {
        while true {
            if core.shared.withLock({ $0.isClosing }) {
                shutDown()
                return
            }
            if lifecycle.shouldConnect(now: .now) {
                connect()
            }
            if lifecycle.state == .ready {
                takeQueued()
            }
            if stalled != nil {
                retryStalledDelivery()
                checkStalled(now: .now, hangupReported: false)
            }
            if stalled == nil, io != nil {
                processBufferedReplies()
            }
            checkHealth(now: .now)
            expireDeadlines(now: .now)
            if let io, io.hasPendingWrites {
                do {
                    _ = try io.flush()
                } catch {
                    connectionFailed(error)
                }
            }
            updateInterest()
            let timeout = nextWakeup(now: .now)
            let isReady = lifecycle.state == .ready
            let shouldWait = core.shared.withLock { state in
                if state.isClosing || (isReady && !state.queued.isEmpty) {
                    return false
                }
                state.ioThreadWaiting = true
                return true
            }
            guard shouldWait else { continue }
            let events = poller.waitLoggingFailures(timeout: timeout, logger: logger, limiter: warningLimiter)
            core.shared.withLock { state in
                state.ioThreadWaiting = false
                state.wakeRequested = false
            }
            guard io != nil, let event = events.first(where: { $0.token == token }) else { continue }
            if stalled == nil {
                readAvailable()
            } else if event.hangup || event.error {
                checkStalled(now: .now, hangupReported: true)
            }
        }
    }

    // MARK: connecting

    private func connect() {
        let endpoint = configuration.endpoint
        logger.debug("redis subscriber connecting", metadata: ["redis.endpoint": "\(endpoint)"])
        lifecycle.connecting()
        let opened: OpenedRedisConnection
        do {
            opened = try RedisConnectionSetup.open(configuration, includeSelect: false)
        } catch {
            connectionFailed(error)
            return
        }
        token &+= 1
        handshakeNames = opened.handshakeNames
        handshakeDeadline = .now + configuration.commandTimeout
        io = opened.io
        registeredInterest = nil
        lastReceived = .now
        if lifecycle.connected(handshakeCount: opened.handshakeNames.count) {
            becameReady()
        }
    }

    /// Resubscribes every name after a reconnect, before any queued command is written.
    func becameReady() {
        guard let io else { return }
        handshakeDeadline = nil
        let batches: [(kind: SubscriptionKind, names: [[UInt8]])] = core.shared.withLock { state in
            state.isKnownUnreachable = false
            state.isConnectionReady = true
            state.lastError = nil
            // On the first connection the callers' own SUBSCRIBE commands are still queued.
            guard hasBeenReady else { return [] }
            return state.registry.resubscribeCommands(batchSize: configuration.resubscribeBatchSize)
        }
        let deadline = ContinuousClock.now + configuration.commandTimeout
        for batch in batches {
            let id = core.shared.withLock { $0.makeID() }
            RESPEncoder.encodeCommand([batch.kind.subscribeCommand] + batch.names, into: &io.writeBuffer)
            confirmations.expect(
                id, .confirmations(batch.kind, isSubscribe: true, names: batch.names[...]),
                isResubscribe: true
            )
            commandDeadlines[id] = deadline
            resubscribeNames[id] = batch
        }
        hasBeenReady = true
        logger.debug(
            "redis subscriber connected",
            metadata: [
                "redis.endpoint": "\(configuration.endpoint)",
                "redis.resubscribe_commands": "\(batches.count)",
            ])
    }

    /// Closes the socket, fails commands in flight, sends `disconnected` to every subscription
    /// when the connection had been ready, and schedules the next attempt. `timedOutID` is the
    /// command whose deadline passed, if that is the reason.
    func connectionFailed(_ error: RedisError, timedOutID: UInt64? = nil) {
        if let io {
            if registeredInterest != nil {
                poller.deregister(fileDescriptor: io.socket.fileDescriptor)
            }
            io.socket.close()
        }
        io = nil
        registeredInterest = nil
        handshakeNames.removeAll()
        handshakeDeadline = nil
        pingID = nil
        pingDeadline = nil

        let wasReady = lifecycle.state == .ready
        for id in confirmations.reset() {
            let failure =
                id == timedOutID
                ? RedisError.timedOut(after: configuration.commandTimeout, endpoint: configuration.endpoint)
                : error
            completions.removeValue(forKey: id)?.resume(returning: .failure(failure))
        }
        commandDeadlines.removeAll()
        resubscribeNames.removeAll()
        if let (event, buffers) = stalled {
            // Received before the connection failed, so it goes ahead of the disconnect event.
            for buffer in buffers { buffer.pushControl(event) }
            stalled = nil
        }

        if case .disconnected = lifecycle.state {
        } else {
            lifecycle.fail(error, now: .now)
        }
        let isKnownUnreachable = lifecycle.isKnownUnreachable
        let maxWait = configuration.maxWaitWhileDisconnected
        let commandTimeout = configuration.commandTimeout
        let failFast = isKnownUnreachable && maxWait == .zero
        let (unsent, buffers): ([PubSubCommand], [SubscriptionBuffer]) = core.shared.withLock { state in
            state.isKnownUnreachable = isKnownUnreachable
            state.isConnectionReady = false
            state.lastError = error
            let buffers = wasReady ? Array(state.buffers.values) : []
            var unsent: [PubSubCommand] = []
            if failFast {
                unsent = state.queued.filter { $0.completion != nil }
                state.queued.removeAll { $0.completion != nil }
            } else if isKnownUnreachable {
                // Commands queued before this failure also wait at most maxWait from their call.
                for index in state.queued.indices {
                    state.queued[index].waitForConnection(atMost: maxWait, commandTimeout: commandTimeout)
                }
            }
            state.pruneQueuedUnsubscribes()
            return (unsent, buffers)
        }
        for command in unsent {
            command.completion?.resume(
                returning: .failure(
                    RedisError.notSent(
                        "subscribe", endpoint: configuration.endpoint, lastError: error,
                        detail: RedisSubscriberCore.notRegisteredNoWaitAdvice)))
        }
        for buffer in buffers {
            buffer.pushControl(.disconnected(error))
        }
        RedisConnectionSetup.logFailure(
            error, message: "redis subscriber connection failed", configuration: configuration,
            logger: logger, limiter: warningLimiter)
    }

    // MARK: writing

    private func takeQueued() {
        guard let io else { return }
        let commands: [PubSubCommand] = core.shared.withLock { state in
            defer { state.queued.removeAll(keepingCapacity: true) }
            return state.queued
        }
        for command in commands {
            let name = command.isSubscribe ? command.kind.subscribeCommand : command.kind.unsubscribeCommand
            RESPEncoder.encodeCommand([name] + command.names, into: &io.writeBuffer)
            confirmations.expect(
                command.id,
                .confirmations(command.kind, isSubscribe: command.isSubscribe, names: command.names[...])
            )
            if let completion = command.completion {
                completions[command.id] = completion
            }
            commandDeadlines[command.id] = command.deadline
        }
    }

    /// Registers the socket for reading unless a full buffer stalls delivery, and for writing
    /// while bytes wait. A stalled socket stays registered with no interest, because epoll
    /// still reports EPOLLHUP and EPOLLERR for it.
    func updateInterest() {
        guard let io else { return }
        var interest: Poller.Interest = []
        if stalled == nil { interest.insert(.readable) }
        if io.hasPendingWrites { interest.insert(.writable) }
        guard interest != registeredInterest else { return }
        let descriptor = io.socket.fileDescriptor
        do {
            if registeredInterest == nil {
                try poller.register(fileDescriptor: descriptor, token: token, interest: interest)
                registeredInterest = interest
            } else {
                try poller.modify(fileDescriptor: descriptor, token: token, interest: interest)
                registeredInterest = interest
            }
        } catch {
            connectionFailed(RedisError(.notConnected, "registering the socket with epoll failed: \(error)"))
        }
    }

    // MARK: health and deadlines

    private func checkHealth(now: ContinuousClock.Instant) {
        // NOTE: no PING is sent while a full buffer pauses reading, because its reply could not be
        // read. A peer that vanishes without FIN or RST then goes unnoticed until
        // subscriptionStallTimeout ends the pause.
        guard lifecycle.state == .ready, stalled == nil, let io else { return }
        if let pingDeadline {
            if now >= pingDeadline {
                connectionFailed(
                    RedisError(
                        .timedOut,
                        "health check PING to \(configuration.endpoint) got no "
                            + "reply within \(configuration.healthCheckTimeout); reconnecting"))
            }
            return
        }
        guard now - lastReceived >= configuration.healthCheckInterval else { return }
        let id = core.shared.withLock { $0.makeID() }
        RESPEncoder.encodeCommand([Array("PING".utf8)], into: &io.writeBuffer)
        confirmations.expect(id, .pong)
        pingID = id
        pingDeadline = now + configuration.healthCheckTimeout
    }

    private func expireDeadlines(now: ContinuousClock.Instant) {
        if case .handshaking = lifecycle.state, let handshakeDeadline, now >= handshakeDeadline {
            let name = handshakeNames.first ?? "handshake"
            connectionFailed(
                RedisError(
                    .timedOut,
                    "\(name) got no reply from \(configuration.endpoint) within "
                        + "\(configuration.commandTimeout)"))
            return
        }
        // Confirmations cannot arrive while delivery is stalled, so deadlines wait too.
        guard stalled == nil else { return }
        if let expired = commandDeadlines.first(where: { $0.value <= now }) {
            connectionFailed(
                RedisError.closed("another subscribe command timed out", endpoint: configuration.endpoint),
                timedOutID: expired.key
            )
        }
        if lifecycle.state != .ready {
            let expired: [PubSubCommand] = core.shared.withLock { state in
                let expired = state.queued.filter { $0.completion != nil && $0.sendDeadline <= now }
                guard !expired.isEmpty else { return [] }
                state.queued.removeAll { $0.completion != nil && $0.sendDeadline <= now }
                state.pruneQueuedUnsubscribes()
                return expired
            }
            let commandTimeout = configuration.commandTimeout
            let wait =
                lifecycle.isKnownUnreachable
                ? min(configuration.maxWaitWhileDisconnected, commandTimeout) : commandTimeout
            for command in expired {
                command.completion?.resume(
                    returning: .failure(
                        RedisError.notSent(
                            "subscribe", endpoint: configuration.endpoint, lastError: lifecycle.lastError,
                            detail: " (waited \(wait) for a connection)"
                                + RedisSubscriberCore.notRegisteredAdvice)))
            }
        }
    }

    private func nextWakeup(now: ContinuousClock.Instant) -> Duration? {
        var next: ContinuousClock.Instant?
        func consider(_ instant: ContinuousClock.Instant?) {
            guard let instant else { return }
            if next.map({ instant < $0 }) ?? true { next = instant }
        }
        switch lifecycle.state {
        case .disconnected(let retryAt):
            consider(retryAt)
        case .handshaking:
            consider(handshakeDeadline)
        case .ready:
            if stalled == nil {
                consider(pingDeadline ?? lastReceived + configuration.healthCheckInterval)
                consider(commandDeadlines.values.min())
            } else {
                consider(nextStallCheck(now: now))
            }
        case .connecting, .closed:
            break
        }
        if lifecycle.state != .ready {
            consider(
                core.shared.withLock {
                    $0.queued.compactMap { $0.completion != nil ? $0.sendDeadline : nil }.min()
                })
        }
        guard let next else { return nil }
        return max(.zero, next - now)
    }

    // MARK: closing

    private func shutDown() {
        let closed = RedisError(.clientClosed, "the subscriber was closed")
        if let io {
            if registeredInterest != nil {
                poller.deregister(fileDescriptor: io.socket.fileDescriptor)
            }
            io.socket.close()
        }
        io = nil
        lifecycle.close()
        _ = confirmations.reset()
        for completion in completions.values {
            completion.resume(returning: .failure(closed))
        }
        completions.removeAll()
        stalled = nil

        let (queued, buffers, waiters) = core.shared.withLock { state in
            let result = (state.queued, Array(state.buffers.values), state.closeWaiters)
            state.queued.removeAll()
            state.buffers.removeAll()
            state.registry = SubscriptionRegistry()
            state.closeWaiters.removeAll()
            state.ioThreadEnded = true
            return result
        }
        for command in queued {
            command.completion?.resume(returning: .failure(closed))
        }
        for buffer in buffers {
            buffer.finish()
        }
        logger.debug("redis subscriber closed", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
        for waiter in waiters {
            waiter.resume()
        }
    }
}

import DualStreamLogging
import RedisWire
import SocketTransport
import Synchronization

/// A subscribe or unsubscribe command waiting to be written by the subscriber's I/O thread.
struct PubSubCommand {
    let id: UInt64
    let kind: SubscriptionKind
    let isSubscribe: Bool
    let names: [[UInt8]]
    /// The caller of a subscribe call, resumed once every name is confirmed.
    let completion: CheckedContinuation<Result<Void, RedisError>, Never>?
    /// When the confirmations are due: the command timeout after the command was queued.
    let deadline: ContinuousClock.Instant
    /// When a subscribe fails if no ready connection has taken it by then: ``deadline``, or
    /// earlier once ``waitForConnection(atMost:commandTimeout:)`` limited the wait.
    private(set) var sendDeadline: ContinuousClock.Instant

    init(
        id: UInt64, kind: SubscriptionKind, isSubscribe: Bool, names: [[UInt8]],
        completion: CheckedContinuation<Result<Void, RedisError>, Never>?, deadline: ContinuousClock.Instant
    ) {
        self.id = id
        self.kind = kind
        self.isSubscribe = isSubscribe
        self.names = names
        self.completion = completion
        self.deadline = deadline
        self.sendDeadline = deadline
    }

    /// Limits the time the command waits for a connection to `maxWait` after it was queued,
    /// because the server is known to be unreachable. ``deadline`` stays, so a command sent after
    /// a reconnect still waits up to `commandTimeout` for its confirmations.
    mutating func waitForConnection(atMost maxWait: Duration, commandTimeout: Duration) {
        let queuedAt = deadline - commandTimeout
        sendDeadline = min(sendDeadline, queuedAt + maxWait)
    }
}

/// State shared by subscribe callers, subscriptions and the I/O thread of one subscriber.
struct RedisSubscriberShared {
    var registry = SubscriptionRegistry()
    var buffers: [UInt64: SubscriptionBuffer] = [:]
    var queued: [PubSubCommand] = []
    var nextID: UInt64 = 1
    var isKnownUnreachable = false
    /// Whether the I/O thread has a connection past its handshake. Without one, an UNSUBSCRIBE
    /// is queued only for names an earlier queued SUBSCRIBE names, because a new connection
    /// starts with no subscriptions.
    var isConnectionReady = false
    var lastError: RedisError?
    /// Set when the I/O thread could not be started; every call then fails with it.
    var startError: RedisError?
    var isClosing = false
    var ioThreadWaiting = false
    var wakeRequested = false
    var closeWaiters: [CheckedContinuation<Void, Never>] = []
    var ioThreadEnded = false

    mutating func makeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// Removes from queued UNSUBSCRIBE commands every name that no earlier queued SUBSCRIBE
    /// names, and the commands left empty. Called when there is no connection, so each name
    /// removed is one the next connection never subscribes.
    mutating func pruneQueuedUnsubscribes() {
        var subscribed = Set<SubscriptionKey>()
        queued = queued.compactMap { command in
            let keys = command.names.map { SubscriptionKey(kind: command.kind, name: $0) }
            if command.isSubscribe {
                subscribed.formUnion(keys)
                return command
            }
            let needed = command.names.filter {
                subscribed.contains(SubscriptionKey(kind: command.kind, name: $0))
            }
            guard !needed.isEmpty else { return nil }
            return PubSubCommand(
                id: command.id, kind: command.kind, isSubscribe: false, names: needed, completion: nil,
                deadline: command.deadline)
        }
    }

    /// Subscribe commands in ``queued``, which callers wait on.
    var queuedSubscribeCount: Int { queued.count { $0.completion != nil } }
}

final class RedisSubscriberCore: Sendable {
    /// Appended to the message of a subscribe call that failed because no connection was ready.
    static let notRegisteredAdvice =
        "; this subscription was not registered, so call subscribe again once the server is reachable"
    /// ``notRegisteredAdvice`` for a call that did not wait, because maxWaitWhileDisconnected is zero.
    static let notRegisteredNoWaitAdvice =
        notRegisteredAdvice + ", or set maxWaitWhileDisconnected to wait for it"
    let configuration: RedisConfiguration
    let logger: Logger
    let shared = Mutex(RedisSubscriberShared())
    let poller: Poller?
    private let pollerError: RedisError?

    init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (poller, pollerError) = RedisCoreShutdown.makePoller()
    }

    func startIOThread() {
        guard let poller else {
            shared.withLock {
                $0.isClosing = true
                $0.ioThreadEnded = true
            }
            return
        }
        let loop = RedisSubscriberIOLoop(core: self, poller: poller)
        do {
            try NativeThread.start(name: "redis-subscriber") { loop.run() }.detach()
        } catch {
            shared.withLock {
                $0.isClosing = true
                $0.ioThreadEnded = true
                $0.startError = RedisError(.notConnected, "\(error)", underlying: error)
            }
        }
    }

    /// Wakes the I/O thread if it waits in epoll.
    func wakeIOThread() {
        let wake = shared.withLock { state in
            guard state.ioThreadWaiting, !state.wakeRequested else { return false }
            state.wakeRequested = true
            return true
        }
        if wake {
            poller?.wake()
        }
    }

    func subscribe(kind: SubscriptionKind, names: [[UInt8]]) async throws(RedisError) -> RedisSubscription {
        let command = String(decoding: kind.subscribeCommand, as: UTF8.self)
        guard !names.isEmpty else {
            throw RedisError(.invalidArgument, "\(command) needs at least one name")
        }
        let buffer = SubscriptionBuffer(capacity: configuration.subscriptionBufferCapacity) { [weak self] in
            self?.wakeIOThread()
        }
        var listenerID: UInt64 = 0
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<Void, RedisError>, Never>) in
            let immediate: Result<Void, RedisError>? = shared.withLock { state in
                if let startError = pollerError ?? state.startError { return .failure(startError) }
                if state.isClosing {
                    return .failure(
                        RedisError(.clientClosed, "\(command) was called after the subscriber was closed"))
                }
                if state.isKnownUnreachable && configuration.maxWaitWhileDisconnected == .zero {
                    return .failure(
                        RedisError.notSent(
                            command, endpoint: configuration.endpoint, lastError: state.lastError,
                            detail: Self.notRegisteredNoWaitAdvice))
                }
                let maxPending = configuration.maxPendingCommands
                guard state.queuedSubscribeCount < maxPending else {
                    return .failure(
                        RedisError(
                            .queueFull,
                            "\(command) not queued: \(state.queuedSubscribeCount) subscribe commands "
                                + "are already waiting to be sent, the limit is maxPendingCommands = "
                                + "\(maxPending)"))
                }
                listenerID = state.makeID()
                state.buffers[listenerID] = buffer
                let newNames = state.registry.add(listener: listenerID, kind: kind, names: names)
                if newNames.isEmpty {
                    // NOTE: this also returns when another subscription's SUBSCRIBE of these names
                    // is still unconfirmed. If that command then fails, this subscription gets
                    // no messages for them and no error.
                    return .success(())
                }
                let commandTimeout = configuration.commandTimeout
                var queued = PubSubCommand(
                    id: state.makeID(), kind: kind, isSubscribe: true, names: newNames,
                    completion: continuation, deadline: .now + commandTimeout)
                if state.isKnownUnreachable {
                    queued.waitForConnection(
                        atMost: configuration.maxWaitWhileDisconnected, commandTimeout: commandTimeout)
                }
                state.queued.append(queued)
                return nil
            }
            if let immediate {
                continuation.resume(returning: immediate)
            } else {
                wakeIOThread()
            }
        }
        switch result {
        case .success:
            logger.trace("redis subscribed", metadata: ["redis.command": .string(command)])
            return RedisSubscription(id: listenerID, buffer: buffer, core: self)
        case .failure(let error):
            if listenerID != 0 {
                removeListener(listenerID)
            }
            throw error
        }
    }

    /// Removes a listener, finishes its buffer, and unsubscribes names no other listener uses.
    func removeListener(_ id: UInt64) {
        let buffer: SubscriptionBuffer? = shared.withLock { state in
            guard let buffer = state.buffers.removeValue(forKey: id) else { return nil }
            let emptied = state.registry.remove(listener: id)
            guard !state.isClosing else { return buffer }
            for kind in SubscriptionKind.allCases {
                guard let names = emptied[kind], !names.isEmpty else { continue }
                state.queued.append(
                    PubSubCommand(
                        id: state.makeID(), kind: kind, isSubscribe: false, names: names, completion: nil,
                        deadline: .now + configuration.commandTimeout
                    ))
            }
            if !state.isConnectionReady {
                state.pruneQueuedUnsubscribes()
            }
            return buffer
        }
        guard let buffer else { return }
        buffer.finish()
        wakeIOThread()
    }

    func requestClose() {
        RedisCoreShutdown.requestClose(shared, poller: poller)
    }

    func close() async {
        await RedisCoreShutdown.close(shared, poller: poller)
    }
}

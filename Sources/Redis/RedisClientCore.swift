import DualStreamLogging
import RedisWire
import SocketTransport
import Synchronization

/// State shared by callers and the I/O thread of one ``RedisClient``.
struct RedisClientShared {
    /// Encoded commands not yet taken by the I/O thread, in the order of ``queued``.
    var outbound: [UInt8] = []
    var queued: [PendingCommand] = []
    /// Replies expected by queued and in-flight commands; bounded by maxPendingCommands.
    var pendingReplies = 0
    var isKnownUnreachable = false
    var lastError: RedisError?
    /// Set when the I/O thread could not be started; every call then fails with it.
    var startError: RedisError?
    var isClosing = false
    var ioThreadWaiting = false
    var wakeRequested = false
    var closeWaiters: [CheckedContinuation<Void, Never>] = []
    var ioThreadEnded = false
}

/// The part of ``RedisClient`` that the I/O thread also references, so the client's deinit can
/// stop the thread.
final class RedisClientCore: Sendable {
    let configuration: RedisConfiguration
    let logger: Logger
    let shared = Mutex(RedisClientShared())
    let poller: Poller?
    let executor: IOThreadExecutor
    private let pollerError: RedisError?

    init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (poller, pollerError) = RedisCoreShutdown.makePoller()
        executor = IOThreadExecutor(poller: poller)
    }

    func startIOThread() {
        guard let poller else {
            shared.withLock {
                $0.isClosing = true
                $0.ioThreadEnded = true
                $0.lastError = pollerError
            }
            return
        }
        let loop = RedisClientIOLoop(core: self, poller: poller)
        do {
            try NativeThread.start(name: "redis-client") { loop.run() }.detach()
        } catch {
            shared.withLock {
                $0.isClosing = true
                $0.ioThreadEnded = true
                $0.startError = RedisError(.notConnected, "\(error)", underlying: error)
            }
        }
    }

    nonisolated(nonsending) func submitSingle(
        name: String, timeout: Duration?, encode: (inout [UInt8]) -> Void
    ) async throws(RedisError) -> RESPValue {
        let result = await withUnsafeContinuation {
            (continuation: UnsafeContinuation<Result<RESPValue, RedisError>, Never>) in
            if let error = enqueue(
                .single(continuation), name: name, replyCount: 1, timeout: timeout, encode: encode)
            {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    nonisolated(nonsending) func submitBatch(
        count: Int, encode: (inout [UInt8]) -> Void
    ) async -> [Result<RESPValue, RedisError>] {
        await withUnsafeContinuation {
            (continuation: UnsafeContinuation<[Result<RESPValue, RedisError>], Never>) in
            let name = "pipeline command"
            if let error = enqueue(
                .batch(continuation), name: name, replyCount: count, timeout: nil, encode: encode)
            {
                continuation.resume(returning: Array(repeating: .failure(error), count: count))
            }
        }
    }

    nonisolated(nonsending) func submitPublishBatch(
        _ publications: [(channel: [UInt8], message: [UInt8])]
    ) async -> [Result<Int, RedisError>] {
        await withUnsafeContinuation {
            (continuation: UnsafeContinuation<[Result<Int, RedisError>], Never>) in
            if let error = enqueue(
                .publishBatch(continuation), name: "PUBLISH", replyCount: publications.count, timeout: nil,
                publications: publications,
                encode: { buffer in RESPEncoder.encodePublishes(publications, into: &buffer) })
            {
                continuation.resume(returning: Array(repeating: .failure(error), count: publications.count))
            }
        }
    }

    /// Queues a command, or returns why it cannot be queued (the caller resumes with it).
    private func enqueue(
        _ completion: PendingCommand.Completion, name: String, replyCount: Int, timeout: Duration?,
        publications: [(channel: [UInt8], message: [UInt8])] = [], encode: (inout [UInt8]) -> Void
    ) -> RedisError? {
        let now = ContinuousClock.now
        let commandTimeout = timeout ?? configuration.commandTimeout
        let maxPending = configuration.maxPendingCommands
        let maxWait = configuration.maxWaitWhileDisconnected
        var wake = false
        let error: RedisError? = shared.withLock { state in
            if let startError = pollerError ?? state.startError {
                return startError
            }
            if state.isClosing {
                return RedisError(.clientClosed, "\(name) was called after the client was closed")
            }
            if state.isKnownUnreachable && maxWait == .zero {
                return RedisError.notSent(
                    name, endpoint: configuration.endpoint, lastError: state.lastError,
                    detail: "; the client keeps reconnecting")
            }
            if replyCount > 1 && replyCount > maxPending {
                return RedisError(
                    .queueFull,
                    "\(name) not queued: a batch of \(replyCount) commands exceeds maxPendingCommands = "
                        + "\(maxPending), so it can never be queued; send at most \(maxPending) per batch")
            }
            guard state.pendingReplies + replyCount <= maxPending else {
                return RedisError(
                    .queueFull,
                    "\(name) not queued: \(state.pendingReplies) commands are already "
                        + "pending, the limit is maxPendingCommands = \(maxPending)")
            }
            let before = state.outbound.count
            encode(&state.outbound)
            let command = PendingCommand(
                completion: completion, name: name, replyCount: replyCount,
                byteCount: state.outbound.count - before,
                timeout: commandTimeout, deadline: now + commandTimeout,
                publications: publications
            )
            if state.isKnownUnreachable {
                command.waitForConnection(atMost: maxWait)
            }
            state.queued.append(command)
            state.pendingReplies += replyCount
            if state.ioThreadWaiting && !state.wakeRequested {
                state.wakeRequested = true
                wake = true
            }
            return nil
        }
        if error == nil {
            logger.trace("redis command queued", metadata: ["redis.command": .string(name)])
        }
        if wake {
            poller?.wake()
        }
        return error
    }

    /// Asks the I/O thread to fail everything pending and end. Returns at once.
    func requestClose() {
        RedisCoreShutdown.requestClose(shared, poller: poller)
    }

    func close() async {
        await RedisCoreShutdown.close(shared, poller: poller)
    }
}

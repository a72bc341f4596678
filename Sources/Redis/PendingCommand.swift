import RedisWire

/// One caller's request: a single command, an explicit pipeline or a batch of PUBLISH commands,
/// with its continuation and deadline. Its encoded bytes sit in the connection's outbound buffer.
///
/// A class, so moving it between the queue, the in-flight list and the completed list costs a
/// reference count rather than a copy of every field. Only the I/O thread mutates it after
/// it was queued, so its results opt out of runtime exclusivity checks, which would cost a
/// thread-local lookup per reply.
final class PendingCommand {
    /// Unchecked continuations, because the checked ones allocate and free a canary per call.
    /// Each command is resumed exactly once: by ``complete()`` after it left the in-flight
    /// list, or by ``fail(_:)`` when it is dropped from the queue or the in-flight list.
    enum Completion {
        case single(UnsafeContinuation<Result<RESPValue, RedisError>, Never>)
        case batch(UnsafeContinuation<[Result<RESPValue, RedisError>], Never>)
        /// A batch from ``RedisClient/publish(_:)``: one subscriber count or error per PUBLISH.
        case publishBatch(UnsafeContinuation<[Result<Int, RedisError>], Never>)
    }

    private enum Kind {
        case single, batch, publishBatch
    }

    let completion: Completion
    /// The case of ``completion``, stored so the hot path does not copy the enum.
    private let kind: Kind
    /// Command name for messages, such as `PUBLISH`.
    let name: String
    /// Replies expected: 1 for a single command, the command count for a pipeline.
    let replyCount: Int
    /// Encoded length in the outbound buffer.
    let byteCount: Int
    let timeout: Duration
    /// When the reply is due: `timeout` after the command was queued.
    let deadline: ContinuousClock.Instant
    /// When the command fails if no ready connection has taken it by then: ``deadline``, or
    /// earlier once ``waitForConnection(atMost:)`` limited the wait. Changed only under the
    /// client's lock.
    @exclusivity(unchecked) private(set) var sendDeadline: ContinuousClock.Instant
    /// Error code used when ``sendDeadline`` passes before the command was written:
    /// ``RedisError/Code/notConnected`` once the server is known to be unreachable.
    @exclusivity(unchecked) private(set) var unsentFailure: RedisError.Code = .timedOut
    /// The reply of a single command.
    @exclusivity(unchecked) private var singleResult: Result<RESPValue, RedisError>?
    /// Replies received so far for a pipeline.
    @exclusivity(unchecked) private var batchResults: [Result<RESPValue, RedisError>] = []
    /// Subscriber counts or errors received so far for a PUBLISH batch.
    @exclusivity(unchecked) private var publishResults: [Result<Int, RedisError>] = []
    /// The pairs of a PUBLISH batch, in order, kept to name the channel in error messages.
    private let publications: [(channel: [UInt8], message: [UInt8])]

    init(
        completion: Completion, name: String, replyCount: Int, byteCount: Int, timeout: Duration,
        deadline: ContinuousClock.Instant, publications: [(channel: [UInt8], message: [UInt8])] = []
    ) {
        self.completion = completion
        switch completion {
        case .single: kind = .single
        case .batch: kind = .batch
        case .publishBatch: kind = .publishBatch
        }
        self.publications = publications
        self.name = name
        self.replyCount = replyCount
        self.byteCount = byteCount
        self.timeout = timeout
        self.deadline = deadline
        self.sendDeadline = deadline
        switch kind {
        case .single: break
        case .batch: batchResults.reserveCapacity(replyCount)
        case .publishBatch: publishResults.reserveCapacity(replyCount)
        }
    }

    /// Limits the time the command waits for a connection to `maxWait` after it was queued,
    /// because the server is known to be unreachable. Past that it fails with
    /// ``RedisError/Code/notConnected``. The reply deadline stays, so a command sent after a
    /// reconnect still waits up to its timeout for the reply.
    func waitForConnection(atMost maxWait: Duration) {
        let queuedAt = deadline - timeout
        sendDeadline = min(sendDeadline, queuedAt + maxWait)
        unsentFailure = .notConnected
    }

    /// Replies recorded so far.
    var receivedCount: Int {
        switch kind {
        case .single: singleResult == nil ? 0 : 1
        case .batch: batchResults.count
        case .publishBatch: publishResults.count
        }
    }

    /// Records one reply; returns true when every reply arrived and ``complete()`` is due.
    func record(_ reply: RESPValue) -> Bool {
        if kind == .publishBatch {
            return recordPublish(reply)
        }
        let result: Result<RESPValue, RedisError> =
            if case .error(let text) = reply { .failure(.server(text, command: name)) } else {
                .success(reply)
            }
        if kind == .single {
            singleResult = result
            return true
        }
        batchResults.append(result)
        return batchResults.count == replyCount
    }

    /// Records the reply to the next PUBLISH of a batch as its subscriber count, or as an error
    /// naming the channel.
    private func recordPublish(_ reply: RESPValue) -> Bool {
        if case .integer(let receivers) = reply {
            publishResults.append(.success(Int(receivers)))
        } else {
            let channel = RESPBytesDescription.render(publications[publishResults.count].channel, limit: 64)
            if case .error(let text) = reply {
                publishResults.append(.failure(.server(text, command: "PUBLISH to channel \(channel)")))
            } else {
                let error = RedisError(
                    .unexpectedReply, "PUBLISH to channel \(channel) returned \(reply), expected an integer")
                publishResults.append(.failure(error))
            }
        }
        return publishResults.count == replyCount
    }

    /// Resumes the caller with the recorded replies.
    func complete() {
        switch completion {
        case .single(let continuation):
            continuation.resume(
                returning: singleResult ?? .failure(RedisError(.unexpectedReply, "no reply recorded")))
        case .batch(let continuation):
            continuation.resume(returning: batchResults)
        case .publishBatch(let continuation):
            continuation.resume(returning: publishResults)
        }
    }

    /// Fails every reply not yet received and resumes the caller.
    func fail(_ error: RedisError) {
        switch completion {
        case .single(let continuation):
            continuation.resume(returning: .failure(error))
        case .batch(let continuation):
            let missing = replyCount - batchResults.count
            continuation.resume(returning: batchResults + Array(repeating: .failure(error), count: missing))
        case .publishBatch(let continuation):
            let missing = replyCount - publishResults.count
            continuation.resume(
                returning: publishResults + Array(repeating: .failure(error), count: missing))
        }
    }
}

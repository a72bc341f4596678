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
    let deadline: ContinuousClock.Instant
    /// Error code used when the deadline passes before the command was written:
    /// ``RedisError/Code/notConnected`` when it was queued while the server was unreachable.
    let unsentFailure: RedisError.Code
    /// The reply of a single command.
    @exclusivity(unchecked) private var singleResult: Result<RESPValue, RedisError>?
    /// Replies received so far for a pipeline.
    @exclusivity(unchecked) private var batchResults: [Result<RESPValue, RedisError>] = []
    /// Subscriber counts received so far for a PUBLISH batch, 0 where the reply was an error.
    /// A trivial element type makes each append cheaper than appending a `Result`, whose
    /// payload is the size of a ``RedisError``.
    @exclusivity(unchecked) private var publishCounts: [Int] = []
    /// The PUBLISH replies of a batch that were errors, by index in the batch.
    @exclusivity(unchecked) private var publishErrors: [(index: Int, error: RedisError)] = []
    /// The pairs of a PUBLISH batch, in order, kept to name the channel in error messages.
    private let publications: [(channel: [UInt8], message: [UInt8])]

    init(
        completion: Completion, name: String, replyCount: Int, byteCount: Int, timeout: Duration,
        deadline: ContinuousClock.Instant, unsentFailure: RedisError.Code,
        publications: [(channel: [UInt8], message: [UInt8])] = []
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
        self.unsentFailure = unsentFailure
        switch kind {
        case .single: break
        case .batch: batchResults.reserveCapacity(replyCount)
        case .publishBatch: publishCounts.reserveCapacity(replyCount)
        }
    }

    /// Replies recorded so far.
    var receivedCount: Int {
        switch kind {
        case .single: singleResult == nil ? 0 : 1
        case .batch: batchResults.count
        case .publishBatch: publishCounts.count
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
            publishCounts.append(Int(receivers))
        } else {
            let index = publishCounts.count
            let channel = RESPBytesDescription.render(publications[index].channel, limit: 64)
            let error =
                if case .error(let text) = reply {
                    RedisError.server(text, command: "PUBLISH to channel \(channel)")
                } else {
                    RedisError(
                        .unexpectedReply,
                        "PUBLISH to channel \(channel) returned \(reply), expected an integer")
                }
            publishErrors.append((index, error))
            publishCounts.append(0)
        }
        return publishCounts.count == replyCount
    }

    /// Returns one result per PUBLISH of a batch. Replies recorded so far give counts and errors,
    /// and every PUBLISH without a reply fails with `missing`, or is left out when it is `nil`.
    private func publishResults(missing: RedisError? = nil) -> [Result<Int, RedisError>] {
        let received = publishCounts.count
        var results = [Result<Int, RedisError>](unsafeUninitializedCapacity: replyCount) { buffer, count in
            for index in 0..<received {
                buffer.initializeElement(at: index, to: .success(publishCounts[index]))
            }
            if let missing {
                for index in received..<replyCount {
                    buffer.initializeElement(at: index, to: .failure(missing))
                }
                count = replyCount
            } else {
                count = received
            }
        }
        for (index, error) in publishErrors {
            results[index] = .failure(error)
        }
        return results
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
            continuation.resume(returning: publishResults())
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
            continuation.resume(returning: publishResults(missing: error))
        }
    }
}

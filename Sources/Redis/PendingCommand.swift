import RedisWire

/// One caller's request: a single command or an explicit pipeline, with its continuation and
/// deadline. Its encoded bytes sit in the connection's outbound buffer.
struct PendingCommand {
    enum Completion {
        case single(CheckedContinuation<Result<RESPValue, RedisError>, Never>)
        case batch(CheckedContinuation<[Result<RESPValue, RedisError>], Never>)
    }

    let completion: Completion
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
    /// Replies received so far.
    var replies: [Result<RESPValue, RedisError>] = []

    /// Records one reply; returns true when every reply arrived and ``complete()`` is due.
    mutating func record(_ reply: RESPValue) -> Bool {
        let result: Result<RESPValue, RedisError> =
            if case .error(let text) = reply { .failure(.server(text, command: name)) } else { .success(reply) }
        replies.append(result)
        return replies.count == replyCount
    }

    /// Resumes the caller with the recorded replies.
    func complete() {
        switch completion {
        case .single(let continuation):
            continuation.resume(returning: replies[0])
        case .batch(let continuation):
            continuation.resume(returning: replies)
        }
    }

    /// Fails every reply not yet received and resumes the caller.
    func fail(_ error: RedisError) {
        switch completion {
        case .single(let continuation):
            continuation.resume(returning: .failure(error))
        case .batch(let continuation):
            let missing = replyCount - replies.count
            continuation.resume(returning: replies + Array(repeating: .failure(error), count: missing))
        }
    }
}

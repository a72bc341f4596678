import Synchronization

/// Final result of every record of one batch, shared by the records' ``DeliveryHandle``s.
///
/// Completed once from the sender thread. A batch split after MESSAGE_TOO_LARGE forwards to the
/// completions of its parts, so handles issued before the split still find their record.
final class BatchCompletion: Sendable {
    enum State: Sendable {
        case pending(waiters: [UnsafeContinuation<Void, Never>])
        case succeeded(baseOffset: Int64, logAppendTime: Int64)
        case failed(KafkaProducerError)
        /// Parts in record order, each with the index of its first record in this batch.
        case forwarded([(firstIndex: Int32, completion: BatchCompletion)])
    }

    let topic: String
    let partition: Int32
    private let state = Mutex<State>(.pending(waiters: []))

    init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Returns whether the record at `index` has its result, following a split to the part with it.
    func isResolved(index: Int32) -> Bool {
        let snapshot = state.withLock { $0 }
        switch snapshot {
        case .pending: return false
        case .succeeded, .failed: return true
        case .forwarded(let parts):
            guard let part = parts.last(where: { $0.firstIndex <= index }) else { return true }
            return part.completion.isResolved(index: index - part.firstIndex)
        }
    }

    /// Resolves the batch; later calls are ignored.
    func complete(_ outcome: State) {
        let waiters: [UnsafeContinuation<Void, Never>] = state.withLock { state in
            guard case .pending(let waiters) = state else { return [] }
            state = outcome
            return waiters
        }
        for waiter in waiters {
            waiter.resume()
        }
    }

    func succeed(baseOffset: Int64, logAppendTime: Int64) {
        complete(.succeeded(baseOffset: baseOffset, logAppendTime: logAppendTime))
    }

    func fail(_ error: KafkaProducerError) {
        complete(.failed(error))
    }

    /// Waits until the batch (or the part with the record) completes and returns the record's outcome.
    func result(index: Int32, timestamp: Int64) async -> Result<RecordMetadata, KafkaProducerError> {
        var completion = self
        var index = index
        while true {
            let snapshot = completion.state.withLock { $0 }
            switch snapshot {
            case .pending:
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    let registered = completion.state.withLock { state -> Bool in
                        guard case .pending(var waiters) = state else { return false }
                        state = .pending(waiters: [])
                        waiters.append(continuation)
                        state = .pending(waiters: waiters)
                        return true
                    }
                    if !registered { continuation.resume() }
                }
            case .succeeded(let baseOffset, let logAppendTime):
                let offset = baseOffset < 0 ? -1 : baseOffset + Int64(index)
                return .success(RecordMetadata(
                    topic: completion.topic, partition: completion.partition, offset: offset,
                    timestamp: logAppendTime >= 0 ? logAppendTime : timestamp))
            case .failed(let error):
                return .failure(error)
            case .forwarded(let parts):
                guard let part = parts.last(where: { $0.firstIndex <= index }) else {
                    return .failure(.protocolError("record \(index) missing after a batch split"))
                }
                index -= part.firstIndex
                completion = part.completion
            }
        }
    }
}

/// Delivery result of one enqueued record.
public struct DeliveryHandle: Sendable {
    let completion: BatchCompletion
    let index: Int32
    let timestamp: Int64

    /// Waits for the broker's acknowledgement or the final failure of the record.
    public func result() async -> Result<RecordMetadata, KafkaProducerError> {
        await completion.result(index: index, timestamp: timestamp)
    }

    /// Whether the result is available without waiting.
    public var isComplete: Bool {
        completion.isResolved(index: index)
    }
}

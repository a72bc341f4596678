import DualStreamLogging
import KafkaWire
import SocketTransport
import Synchronization

/// A Kafka producer over the wire protocol: records are batched per partition and sent by one
/// sender thread, pipelined up to `maxInFlightRequestsPerConnection` per broker.
///
/// Callers append under a lock and are resumed from the sender thread. Call
/// ``close(timeout:)`` before releasing the producer; otherwise pending records fail.
public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration
    let shared: ProducerShared
    private let thread: NativeThread
    private let logger: Logger
    private let closed = Atomic<Bool>(false)
    /// Largest encoded record accepted and the setting that limits it.
    private let recordLimit: (bytes: Int, setting: String)

    public init(configuration: KafkaProducerConfiguration, logger: Logger = .silent) throws(KafkaProducerError) {
        try configuration.validate()
        var endpoints = [Endpoint]()
        for server in configuration.bootstrapServers {
            do {
                endpoints.append(try Endpoint.parse(server))
            } catch {
                throw .invalidConfiguration("bootstrap server \"\(server)\" is not host:port: \(error)")
            }
        }
        let poller: Poller
        do {
            poller = try Poller()
        } catch {
            throw .transport("creating the sender's poller failed: \(error)", mayHavePersisted: false)
        }
        self.configuration = configuration
        self.logger = logger
        let state = ProducerState(configuration: configuration)
        recordLimit = state.accumulator.recordLimit
        let shared = ProducerShared(state: state, poller: poller)
        self.shared = shared
        let sender = ProducerSender(shared: shared, configuration: configuration, bootstrap: endpoints, logger: logger)
        do {
            thread = try NativeThread.start(name: "kafka-sender") { sender.run() }
        } catch {
            poller.close()
            throw .transport("\(error)", mayHavePersisted: false)
        }
    }

    deinit {
        guard !closed.load(ordering: .acquiring) else { return }
        shared.state.withLock { $0.abandoned = true }
        shared.poller.wake()
        thread.detach()
    }

    // MARK: Sending

    /// Enqueues the record and waits for the broker's acknowledgement.
    ///
    /// Cancelling the calling task does not withdraw the record or end the wait early. A record
    /// cannot be taken back once it may be in a request, so it is delivered or fails as it would
    /// without the cancellation, and `send` returns that result.
    public func send(_ record: ProducerRecord) async throws(KafkaProducerError) -> RecordMetadata {
        let handle = try await enqueue(record)
        return try await handle.result().get()
    }

    /// Enqueues the record without waiting for the acknowledgement. Waits up to `maxBlock` for the
    /// topic's metadata and for buffer space, then fails with a buffer-full or unknown-topic error.
    /// A record larger than `batchSize` or `maxRequestSize`, or with an invalid topic name or a
    /// negative timestamp, fails at once. Task cancellation is ignored, as in ``send(_:)``.
    public func enqueue(_ record: ProducerRecord) async throws(KafkaProducerError) -> DeliveryHandle {
        try record.validate()
        let timestamp = record.timestamp ?? currentTimeMilliseconds()
        let size = ProducerBatch.recordSize(key: record.key, value: record.value, headers: record.headers,
                                            timestampDelta: 0, offsetDelta: 0)
        let limit = recordLimit
        if size > limit.bytes {
            let settingValue = limit.setting == "batchSize" ? configuration.batchSize : configuration.maxRequestSize
            throw .recordTooLarge(size: size + ProducerBatch.headerSize, limit: settingValue, setting: limit.setting)
        }
        // Deltas of up to 10 bytes each may be longer than in the estimate above.
        let reservation = size + 16
        let deadline = ContinuousClock.now + configuration.maxBlock
        var record = record
        if record.partition == nil, case .custom(let choose) = configuration.partitioner.kind {
            // Caller code runs outside the state lock: only the partition count is read under it.
            var count = shared.state.withLock { $0.metadata.partitionCount(of: record.topic) }
            while count == nil {
                try await waitForMetadata(topic: record.topic, deadline: deadline)
                count = shared.state.withLock { $0.metadata.partitionCount(of: record.topic) }
            }
            record.partition = choose(record.topic, record.key, count!)
        }
        var reserved = false
        while true {
            let attempt = shared.state.withLock { state in
                Self.tryAppend(record, timestamp: timestamp, reservation: reservation, reserved: reserved,
                               state: &state, partitioner: configuration.partitioner)
            }
            switch attempt {
            case .appended(let handle, let wake):
                if wake { shared.poller.wake() }
                return handle
            case .failed(let error):
                if reserved { releaseReservation(reservation) }
                throw error
            case .needsMetadata:
                try await waitForMetadata(topic: record.topic, deadline: deadline)
            case .needsMemory:
                try await waitForMemory(reservation, deadline: deadline)
                reserved = true
            }
        }
    }

    enum AppendAttempt {
        case appended(DeliveryHandle, wake: Bool)
        case needsMetadata
        case needsMemory
        case failed(KafkaProducerError)
    }

    private static func tryAppend(
        _ record: ProducerRecord, timestamp: Int64, reservation: Int, reserved: Bool,
        state: inout ProducerState, partitioner: KafkaPartitioner
    ) -> AppendAttempt {
        if state.isClosing { return .failed(.closed()) }
        guard let count = state.metadata.partitionCount(of: record.topic) else { return .needsMetadata }
        let partition: Int32
        if let explicit = record.partition {
            partition = explicit
        } else {
            let metadata = state.metadata
            partition = state.accumulator.choosePartition(
                topic: record.topic, key: record.key, partitionCount: count, partitioner: partitioner
            ) { metadata.leader(topic: record.topic, partition: $0) != nil }
        }
        guard partition >= 0 && partition < count else {
            return .failed(.invalidPartition(partition, topic: record.topic, count: count))
        }
        if !reserved {
            guard state.buffer.tryReserve(reservation) else { return .needsMemory }
        }
        let now = ContinuousClock.now
        let result = state.accumulator.append(
            topic: record.topic, partition: partition, key: record.key, value: record.value,
            headers: record.headers, timestamp: timestamp, reservedBytes: reservation, now: now)
        var wake = false
        if result.filledBatch {
            wake = state.needsWake(by: now)
        } else if result.openedBatch {
            wake = state.needsWake(by: now + state.accumulator.linger)
        }
        let handle = DeliveryHandle(completion: result.batch.completion, index: result.index, timestamp: timestamp)
        return .appended(handle, wake: wake)
    }

    private func releaseReservation(_ bytes: Int) {
        let granted = shared.state.withLock { $0.buffer.release(bytes) }
        for continuation in granted { continuation.resume(returning: .success(())) }
    }

    private func waitForMetadata(topic: String, deadline: ContinuousClock.Instant) async throws(KafkaProducerError) {
        let result = await withUnsafeContinuation { (continuation: ProducerState.WaitContinuation) in
            enum Decision { case ready, closed, wait(wake: Bool) }
            let decision = shared.state.withLock { state -> Decision in
                if state.isClosing { return .closed }
                if state.metadata.partitionCount(of: topic) != nil { return .ready }
                _ = state.metadata.use(topic: topic)
                state.metadataWaiters[topic, default: []].append(
                    ProducerState.MetadataWaiter(deadline: deadline, continuation: continuation))
                return .wait(wake: state.needsWake(by: .now))
            }
            switch decision {
            case .ready: continuation.resume(returning: .success(()))
            case .closed: continuation.resume(returning: .failure(.closed()))
            case .wait(let wake): if wake { shared.poller.wake() }
            }
        }
        try result.get()
    }

    private func waitForMemory(_ bytes: Int, deadline: ContinuousClock.Instant) async throws(KafkaProducerError) {
        let result = await withUnsafeContinuation { (continuation: ProducerState.WaitContinuation) in
            enum Decision { case reserved, closed, wait(wake: Bool) }
            let decision = shared.state.withLock { state -> Decision in
                if state.isClosing { return .closed }
                if state.buffer.tryReserve(bytes) { return .reserved }
                state.buffer.addWaiter(BufferAccounting.Waiter(bytes: bytes, deadline: deadline,
                                                               continuation: continuation))
                return .wait(wake: state.needsWake(by: deadline))
            }
            switch decision {
            case .reserved: continuation.resume(returning: .success(()))
            case .closed: continuation.resume(returning: .failure(.closed()))
            case .wait(let wake): if wake { shared.poller.wake() }
            }
        }
        try result.get()
    }

    // MARK: Flush and close

    /// Sends every record enqueued so far without waiting for linger, and waits until each has a
    /// result. After `timeout` it throws a timeout error, and the records stay queued.
    public func flush(timeout: Duration) async throws(KafkaProducerError) {
        let result = await withUnsafeContinuation { (continuation: ProducerState.WaitContinuation) in
            enum Decision { case done, closed, wait(wake: Bool) }
            let decision = shared.state.withLock { state -> Decision in
                if state.senderExited { return .closed }
                let pending = Set(state.accumulator.incomplete.keys)
                if pending.isEmpty { return .done }
                let id = state.makeWaiterID()
                state.flushWaiters[id] = ProducerState.FlushWaiter(
                    remaining: pending, deadline: .now + timeout, timeout: timeout, continuation: continuation)
                return .wait(wake: state.needsWake(by: .now))
            }
            switch decision {
            case .done: continuation.resume(returning: .success(()))
            case .closed: continuation.resume(returning: .failure(.closed()))
            case .wait(let wake): if wake { shared.poller.wake() }
            }
        }
        try result.get()
    }

    /// Stops taking records, sends what is queued, and waits up to `timeout` for the results.
    /// Records still without a result then fail with a "producer closed" error. When this returns,
    /// the sender thread has ended and every socket is closed.
    public func close(timeout: Duration) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let exited = shared.state.withLock { state -> Bool in
                if state.senderExited { return true }
                if state.closeDeadline == nil { state.closeDeadline = .now + timeout }
                state.closeWaiters.append(continuation)
                state.plannedWake = .now
                return false
            }
            if exited {
                continuation.resume()
            } else {
                shared.poller.wake()
            }
        }
        thread.join()
        if !closed.exchange(true, ordering: .acquiringAndReleasing) {
            shared.poller.close()
            logger.debug("kafka producer closed")
        }
    }
}

import DualStreamLogging
import Glibc
import KafkaWire
import SocketTransport
import Synchronization

/// State shared by ``KafkaProducer`` (callers) and ``ProducerSender`` (the sender thread).
final class ProducerShared: Sendable {
    let state: Mutex<ProducerState>
    let poller: Poller

    init(state: ProducerState, poller: Poller) {
        self.state = Mutex(state)
        self.poller = poller
    }
}

/// The sender thread's loop: decides under the state lock what to send, then performs the I/O
/// on non-blocking sockets through one `Poller`, and applies responses under the lock again.
/// Everything in this class but `shared` is touched by the sender thread only.
final class ProducerSender: @unchecked Sendable {
    struct Plan {
        var exit = false
        var produce: [Int32: [ProducerBatch]] = [:]
        var metadataTopics: [String]?
        var initProducerID = false
        var connect: [(nodeID: Int32, endpoint: Endpoint)] = []
        var wake: ContinuousClock.Instant?
    }

    let shared: ProducerShared
    let configuration: KafkaProducerConfiguration
    let logger: Logger
    let bootstrap: [Endpoint]
    var connections: [Int32: BrokerConnection] = [:]
    var connectionsByToken: [UInt64: BrokerConnection] = [:]
    /// Connections to brokers that Metadata no longer lists at their address, by token. They take
    /// no new requests and close once their requests in flight finish or fail.
    var retiring: [UInt64: BrokerConnection] = [:]
    private var nextToken: UInt64 = 1
    var readChunk = [UInt8](repeating: 0, count: 65_536)
    var random = SystemRandomNumberGenerator()
    let warningLimiter = LogRateLimiter()
    /// Resolves broker host names off this thread; a finished lookup wakes the poller.
    let resolverPool: ResolverPool
    /// Retriable InitProducerId errors in a row, for the backoff before the next request.
    var initProducerIDFailures = 0
    var idempotenceWarningLogged = false

    init(shared: ProducerShared, configuration: KafkaProducerConfiguration, bootstrap: [Endpoint], logger: Logger) {
        self.shared = shared
        self.configuration = configuration
        self.bootstrap = bootstrap
        self.logger = logger
        let poller = shared.poller
        resolverPool = ResolverPool(resolver: configuration.resolver, maximumThreads: 2,
                                    threadName: Self.resolverThreadName, onCompletion: { poller.wake() })
    }

    /// Name of the resolver threads (at most 15 bytes on Linux), shown in /proc/PID/task/TID/comm.
    static let resolverThreadName = "kafka-resolve"

    var maxInFlight: Int {
        configuration.startsIdempotent ? min(5, configuration.maxInFlightRequestsPerConnection)
            : configuration.maxInFlightRequestsPerConnection
    }

    func run() {
        logger.debug("kafka producer sender started")
        var deferred = DeferredCompletions()
        while true {
            let now = ContinuousClock.now
            checkInFlightTimeouts(now: now, deferred: &deferred)
            checkConnectDeadlines(now: now)
            let plan = makePlan(now: now, deferred: &deferred)
            deferred.run()
            if plan.exit {
                shutdown()
                return
            }
            execute(plan, now: now, deferred: &deferred)
            deferred.run()
            // A batch requeued while executing (no Produce version on the connection) lowered
            // plannedWake to its retry time after the plan was made.
            let wake = shared.state.withLock { $0.plannedWake } ?? plan.wake
            poll(until: earliestWake(wake), deferred: &deferred)
            deferred.run()
        }
    }

    // MARK: Planning

    private func makePlan(now: ContinuousClock.Instant, deferred: inout DeferredCompletions) -> Plan {
        shared.state.withLock { state in
            var plan = Plan()
            if state.abandoned {
                plan.exit = true
                return plan
            }
            var wake = state.expireWaiters(now: now, into: &deferred)
            func consider(_ time: ContinuousClock.Instant?) {
                guard let time else { return }
                wake = wake.map { min($0, time) } ?? time
            }
            expireQueuedBatches(state: &state, now: now, deferred: &deferred)
            dropIdleTopics(state: &state, now: now)
            if let closeDeadline = state.closeDeadline {
                if state.accumulator.incomplete.isEmpty {
                    plan.exit = true
                    return plan
                }
                if closeDeadline <= now {
                    failEverything(state: &state, deferred: &deferred,
                                   error: .closed("producer closed before the record was delivered: close timed out"))
                    plan.exit = true
                    return plan
                }
                consider(closeDeadline)
            }

            if state.metadata.isRefreshDue(now: now) && !state.metadata.topicsInUse.isEmpty {
                plan.metadataTopics = state.metadata.topicsInUse.sorted()
            } else if !state.metadata.topicsInUse.isEmpty {
                consider(state.metadata.nextRefresh(now: now))
            }
            failQueuedForIdempotence(state: &state, deferred: &deferred)
            if !state.idempotence.partitionsToReset.isEmpty {
                let busy = state.idempotence.partitionsToReset.contains { partition in
                    state.accumulator.inFlightCount(topic: partition.topic, partition: partition.partition) > 0
                }
                if !busy { state.idempotence.startBump() }
            }
            if state.idempotence.needsRequest(now: now) {
                plan.initProducerID = true
            } else if case .needsProducerID = state.idempotence.phase {
                consider(state.idempotence.retryAt)
            }

            var nodesToConnect = Set<Int32>()
            // Brokers whose ApiVersions response lists no Produce version we speak, with the range
            // they list (nil when they list none).
            var unsupportedNodes: [Int32: ClosedRange<Int16>?] = [:]
            if state.idempotence.canProduce {
                let maxInFlight = self.maxInFlight
                let maxPending = configuration.maxRequestSize * 2
                let drained = state.accumulator.drain(
                    now: now, metadata: state.metadata, flushing: state.isFlushing,
                    idempotence: state.idempotence
                ) { node in
                    guard let connection = self.connections[node] else {
                        nodesToConnect.insert(node)
                        return false
                    }
                    if !connection.isOpenOrConnecting { nodesToConnect.insert(node) }
                    if connection.phase == .ready && connection.produceVersion == nil {
                        unsupportedNodes[node] = connection.versions[APIKey.produce.rawValue]
                        return false
                    }
                    return connection.canSend(maxInFlight: maxInFlight, maxPendingBytes: maxPending)
                }
                plan.produce = drained.requests
                consider(drained.nextReadyTime)
                if drained.needsMetadata { state.metadata.requestRefresh() }
                if !unsupportedNodes.isEmpty {
                    failBatches(boundTo: unsupportedNodes, state: &state, deferred: &deferred)
                }
            } else if state.accumulator.hasQueuedBatches {
                consider(now + configuration.retryBackoff)
            }
            for node in nodesToConnect {
                if let broker = state.metadata.brokers[node] {
                    plan.connect.append((node, .tcp(host: broker.host, port: broker.port)))
                } else {
                    // The leader is missing from the broker list: only new metadata can name its address.
                    state.metadata.requestRefresh()
                    consider(now + configuration.retryBackoff)
                }
            }
            if let oldest = state.accumulator.oldestQueuedCreation {
                consider(oldest + configuration.deliveryTimeout)
            }
            if plan.metadataTopics != nil || plan.initProducerID {
                // The request may find no connection; look again soon rather than sleep.
                consider(now + configuration.retryBackoff)
            }
            state.plannedWake = wake ?? now + .seconds(1)
            plan.wake = state.plannedWake
            return plan
        }
    }

    /// Fails queued batches whose delivery timeout passed.
    private func expireQueuedBatches(
        state: inout ProducerState, now: ContinuousClock.Instant, deferred: inout DeferredCompletions
    ) {
        let timeout = configuration.deliveryTimeout
        guard let oldest = state.accumulator.oldestQueuedCreation, oldest + timeout <= now else { return }
        let expired = state.accumulator.removeQueued { $0.createdAt + timeout <= now }
        for batch in expired {
            let error = KafkaProducerError.timedOut(
                "delivery timed out: \(batch.recordCount) records for \(batch.topic)-\(batch.partition) "
                    + "not acknowledged within deliveryTimeout \(timeout)" + Self.queuedCause(batch, state: state),
                mayHavePersisted: batch.mayHavePersisted)
            state.finish(batch, outcome: .failed(error), wasInFlight: false, into: &deferred)
            requestBumpAfterFailure(of: batch, state: &state)
        }
    }

    /// Fails the queued batches whose leader supports no Produce version of ours: retrying
    /// cannot help until the broker is upgraded or leadership moves.
    private func failBatches(
        boundTo nodes: [Int32: ClosedRange<Int16>?], state: inout ProducerState, deferred: inout DeferredCompletions
    ) {
        let metadata = state.metadata
        let failed = state.accumulator.removeQueued { batch in
            guard let leader = metadata.leader(topic: batch.topic, partition: batch.partition) else { return false }
            return nodes[leader] != nil
        }
        let ours = APIKey.produce.supportedVersions
        for batch in failed {
            guard let leader = metadata.leader(topic: batch.topic, partition: batch.partition),
                  let brokerRange = nodes[leader]
            else { continue }
            let theirs = brokerRange.map { "versions \($0.lowerBound) to \($0.upperBound)" } ?? "no version"
            let error = KafkaProducerError(
                .unsupportedVersion,
                "unsupported version: broker \(leader), the leader of \(batch.topic)-\(batch.partition), supports "
                    + "Produce \(theirs) and this client needs a version from \(ours.lowerBound) to "
                    + "\(ours.upperBound) (Kafka 1.0 or later): upgrade the broker",
                mayHavePersisted: batch.mayHavePersisted)
            state.finish(batch, outcome: .failed(error), wasInFlight: false, into: &deferred)
            requestBumpAfterFailure(of: batch, state: &state)
        }
    }

    /// Drops topics that received no records for `metadataMaxIdle` and have nothing queued, in
    /// flight or waiting from Metadata requests. The next record for such a topic fetches its
    /// metadata again; its sequences are kept.
    private func dropIdleTopics(state: inout ProducerState, now: ContinuousClock.Instant) {
        guard let due = state.metadata.nextIdleCheck, due <= now else { return }
        let maxIdle = configuration.metadataMaxIdle
        for topic in state.metadata.topicsInUse where state.metadataWaiters[topic] == nil {
            guard state.accumulator.isIdle(topic: topic) else { continue }
            let times = [state.accumulator.lastAppend(topic: topic), state.metadata.firstUse(of: topic)]
            guard let lastActive = times.compactMap({ $0 }).max() else { continue }
            if lastActive + maxIdle <= now {
                state.metadata.drop(topic: topic)
                logger.debug("kafka topic idle: dropped from metadata requests", metadata: ["kafka.topic": "\(topic)"])
            }
        }
        state.metadata.nextIdleCheck = now + min(maxIdle / 2, .seconds(1))
    }

    /// Why a queued batch could not be sent, for its timeout message: the partition's state, then
    /// why its last attempt failed when it was sent before.
    private static func queuedCause(_ batch: ProducerBatch, state: ProducerState) -> String {
        let lastFailure = batch.lastFailure.map { "; last error: \($0)" } ?? ""
        guard let leader = state.metadata.leader(topic: batch.topic, partition: batch.partition) else {
            return "; the partition has no leader in the latest metadata" + lastFailure
        }
        guard state.metadata.brokers[leader] != nil else {
            return "; its leader, broker \(leader), is missing from the metadata's broker list" + lastFailure
        }
        if !lastFailure.isEmpty { return lastFailure }
        guard let lastError = state.lastConnectionError else { return "" }
        return "; last connection error: \(lastError)"
    }

    /// Fails every queued batch and every waiter; in-flight batches are failed by `shutdown`.
    func failEverything(state: inout ProducerState, deferred: inout DeferredCompletions, error: KafkaProducerError) {
        for batch in state.accumulator.removeQueued(where: { _ in true }) {
            var failure = error
            if batch.mayHavePersisted {
                failure = KafkaProducerError(error.reason, error.message, mayHavePersisted: true)
            }
            state.finish(batch, outcome: .failed(failure), wasInFlight: false, into: &deferred)
        }
        for continuation in state.buffer.removeAllWaiters() {
            deferred.resumeFailure.append((continuation, .closed()))
        }
        for (_, waiters) in state.metadataWaiters {
            for waiter in waiters { deferred.resumeFailure.append((waiter.continuation, .closed())) }
        }
        state.metadataWaiters = [:]
    }

    // MARK: Executing

    private func execute(_ plan: Plan, now: ContinuousClock.Instant, deferred: inout DeferredCompletions) {
        for (nodeID, endpoint) in plan.connect {
            connectIfNeeded(nodeID: nodeID, endpoint: endpoint, now: now, deferred: &deferred)
        }
        if let topics = plan.metadataTopics {
            sendMetadata(topics: topics, now: now, deferred: &deferred)
        }
        if plan.initProducerID {
            sendInitProducerID(now: now, deferred: &deferred)
        }
        for (nodeID, batches) in plan.produce {
            sendProduce(nodeID: nodeID, batches: batches, now: now, deferred: &deferred)
        }
    }

    private func earliestWake(_ planned: ContinuousClock.Instant?) -> ContinuousClock.Instant? {
        var wake = planned
        let now = ContinuousClock.now
        for connection in Array(connections.values) + retiring.values {
            // A reconnect time already passed wakes nothing: a connect starts only when a request
            // needs the broker, and the loop that found none would otherwise spin until one does.
            let reconnectAt = connection.reconnectAt.flatMap { $0 > now ? $0 : nil }
            let candidates = [
                connection.oldestDeadline,
                connection.isOpenOrConnecting ? nil : reconnectAt,
                connection.connectDeadline,
            ]
            for case let time? in candidates {
                wake = wake.map { min($0, time) } ?? time
            }
            for request in connection.inFlightRequests {
                guard case .produce(_, let batches) = request.kind else { continue }
                for batch in batches {
                    let deadline = batch.createdAt + configuration.deliveryTimeout
                    wake = wake.map { min($0, deadline) } ?? deadline
                }
            }
        }
        return wake
    }

    private func poll(until wake: ContinuousClock.Instant?, deferred: inout DeferredCompletions) {
        var timeout: Duration? = nil
        if let wake {
            timeout = max(.zero, wake - .now)
        }
        let events: [Poller.Event]
        do {
            events = try shared.poller.wait(timeout: timeout)
        } catch {
            if let suppressed = warningLimiter.admit() {
                logger.warning("kafka producer poll failed",
                               metadata: ["error": "\(error)", "kafka.suppressed": "\(suppressed)"])
            }
            // Keeps a persistent epoll failure from turning the loop into a busy spin.
            usleep(10_000)
            return
        }
        shared.state.withLock { $0.plannedWake = nil }
        for event in events {
            guard let connection = connectionsByToken[event.token] else { continue }
            handle(event, on: connection, deferred: &deferred)
        }
    }

    func makeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    // MARK: Shutdown

    private func shutdown() {
        var deferred = DeferredCompletions()
        let abandoned = shared.state.withLock { $0.abandoned }
        let error = KafkaProducerError.closed(
            abandoned ? "producer released without close before the record was delivered"
                : "producer closed before the record was delivered: close timed out")
        for connection in Array(connections.values) + retiring.values {
            shared.poller.deregister(fileDescriptor: connection.registeredDescriptor ?? -1)
            let (requests, unwritten) = connection.disconnect()
            shared.state.withLock { state in
                for batch in unwritten + requests.flatMap(\.produceBatches) {
                    let failure = KafkaProducerError(error.reason, error.message, mayHavePersisted: true)
                    state.finish(batch, outcome: .failed(failure), wasInFlight: true, into: &deferred)
                }
            }
        }
        connections = [:]
        connectionsByToken = [:]
        retiring = [:]
        resolverPool.shutdown()
        let closeWaiters: [UnsafeContinuation<Void, Never>] = shared.state.withLock { state in
            failEverything(state: &state, deferred: &deferred, error: error)
            for (_, waiter) in state.flushWaiters {
                deferred.resumeFailure.append((waiter.continuation, error))
            }
            state.flushWaiters = [:]
            state.senderExited = true
            defer { state.closeWaiters = [] }
            return state.closeWaiters
        }
        deferred.run()
        logger.debug("kafka producer sender stopped")
        if abandoned { shared.poller.close() }
        for waiter in closeWaiters { waiter.resume() }
    }
}

extension BrokerConnection.InFlightRequest {
    var produceBatches: [ProducerBatch] {
        if case .produce(_, let batches) = kind { return batches }
        return []
    }
}

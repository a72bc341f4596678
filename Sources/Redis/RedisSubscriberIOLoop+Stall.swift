import Glibc

/// `POLLRDHUP` from <poll.h>: the peer shut down its side (Linux 2.6.17 and later).
private let pollReadHangup: Int16 = 0x2000

extension RedisSubscriberIOLoop {
    /// How often a stalled subscriber checks that its connection is still open. Epoll wakes it at
    /// once for a reset (EPOLLHUP, EPOLLERR), but the poller does not watch EPOLLRDHUP, so a
    /// server that closes the connection cleanly is noticed by this check.
    static let stalledCloseCheckInterval: Duration = .milliseconds(100)

    /// Offers the stalled message again; once every buffer took it, reading resumes and the
    /// health check and command deadlines restart from now.
    func retryStalledDelivery() {
        guard let (event, buffers) = stalled else { return }
        let pending = buffers.filter { !$0.offerMessage(event) }
        guard pending.isEmpty else {
            stalled = (event, pending)
            return
        }
        resumeReading()
    }

    /// Checks a stalled connection: closes it when the server shut it down or reset it, and ends
    /// the subscriptions that kept it stalled for `subscriptionStallTimeout`.
    func checkStalled(now: ContinuousClock.Instant, hangupReported: Bool) {
        guard stalled != nil, let io else { return }
        if hangupReported || Self.peerClosed(io.socket.fileDescriptor) {
            connectionFailed(
                RedisError.closed(
                    "the server closed the connection while a full subscription buffer paused reading",
                    endpoint: configuration.endpoint))
            return
        }
        if now - stalledSince >= configuration.subscriptionStallTimeout {
            endStalledSubscriptions()
        }
    }

    /// The next instant a stalled subscriber must wake for ``checkStalled(now:hangupReported:)``.
    func nextStallCheck(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        min(now + Self.stalledCloseCheckInterval, stalledSince + configuration.subscriptionStallTimeout)
    }

    /// Ends each subscription whose full buffer holds up delivery, so the others receive messages
    /// again. Each gets ``RedisSubscriptionEvent/disconnected(_:)`` after its buffered messages,
    /// and then its iteration ends. The stalled message is dropped for them.
    private func endStalledSubscriptions() {
        guard let (_, buffers) = stalled else { return }
        let capacity = configuration.subscriptionBufferCapacity
        let timeout = configuration.subscriptionStallTimeout
        let error = RedisError(
            .queueFull,
            "the subscription buffer of \(capacity) events stayed full for \(timeout), so the subscription "
                + "was ended to let the other subscriptions receive messages; read events sooner, or raise "
                + "subscriptionBufferCapacity or subscriptionStallTimeout")
        let listeners: [UInt64] = core.shared.withLock { state in
            state.buffers.filter { entry in buffers.contains { $0 === entry.value } }.map(\.key)
        }
        for buffer in buffers {
            buffer.pushControl(.disconnected(error))
        }
        for listener in listeners {
            core.removeListener(listener)
        }
        if let suppressed = warningLimiter.admit() {
            logger.warning(
                "redis subscription ended: its buffer stayed full",
                metadata: [
                    "redis.endpoint": "\(configuration.endpoint)",
                    "redis.subscriptions": "\(listeners.count)",
                    "redis.stall_timeout": "\(timeout)", "log.suppressed": "\(suppressed)",
                ])
        }
        resumeReading()
    }

    private func resumeReading() {
        stalled = nil
        let now = ContinuousClock.now
        let pause = now - stalledSince
        lastReceived = now
        if let pingDeadline {
            self.pingDeadline = pingDeadline + pause
        }
        commandDeadlines = commandDeadlines.mapValues { $0 + pause }
        logger.debug("redis subscriber resumed reading")
    }

    /// Returns whether the peer closed or reset the connection, without reading from it.
    private static func peerClosed(_ descriptor: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: pollReadHangup, revents: 0)
        let ready = poll(&entry, 1, 0)
        guard ready > 0 else { return false }
        let closedMask = pollReadHangup | Int16(POLLHUP) | Int16(POLLERR)
        return entry.revents & closedMask != 0
    }
}

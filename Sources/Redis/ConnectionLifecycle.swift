import RedisWire
import SocketTransport

/// Connection lifecycle of one Redis connection as a value: connect, handshake (AUTH, SELECT,
/// CLIENT SETNAME), ready, lost, reconnect with backoff. Methods return what the caller must do;
/// the I/O thread performs it, and tests drive it without sockets.
struct ConnectionLifecycle {
    enum State: Equatable {
        /// No connection; the next attempt is due at the instant.
        case disconnected(retryAt: ContinuousClock.Instant)
        /// A connect attempt is under way.
        case connecting
        /// Connected and waiting for this many handshake replies.
        case handshaking(remaining: Int)
        case ready
        case closed
    }

    enum HandshakeAction {
        /// More handshake replies are expected.
        case wait
        /// Every handshake reply was OK: send the callers' commands.
        case becameReady
        /// A handshake command failed: close the socket; the next attempt is due at `retryAt`.
        case failed(RedisError, retryAt: ContinuousClock.Instant)
    }

    private(set) var state: State
    /// The error of the last failed attempt or lost connection; `nil` once a connection is ready.
    private(set) var lastError: RedisError?
    /// Whether the server is known to be unreachable: an attempt failed since the last ready
    /// connection. Calls then fail at once instead of waiting for a connect timeout.
    private(set) var isKnownUnreachable = false
    private var backoff: Backoff
    /// When a lost ready connection was last retried at once, without backoff.
    private var lastImmediateRetry: ContinuousClock.Instant?

    init(backoff: Backoff, now: ContinuousClock.Instant) {
        self.backoff = backoff
        self.state = .disconnected(retryAt: now)
    }

    /// Returns whether a connect attempt is due.
    func shouldConnect(now: ContinuousClock.Instant) -> Bool {
        if case .disconnected(let retryAt) = state { return now >= retryAt }
        return false
    }

    /// Records that a connect attempt starts.
    mutating func connecting() {
        guard state != .closed else { return }
        state = .connecting
    }

    /// Records that the connect succeeded and `handshakeCount` handshake commands were sent.
    /// Returns true when the connection is ready at once (no handshake).
    mutating func connected(handshakeCount: Int) -> Bool {
        guard state != .closed else { return false }
        if handshakeCount == 0 {
            becomeReady()
            return true
        }
        state = .handshaking(remaining: handshakeCount)
        return false
    }

    /// Records a handshake reply.
    mutating func handshakeReplied(
        _ reply: RESPValue, command: String, now: ContinuousClock.Instant
    ) -> HandshakeAction {
        guard case .handshaking(let remaining) = state else { return .wait }
        if case .error(let text) = reply {
            let error =
                command == "AUTH"
                ? RedisError.authenticationFailed(text) : RedisError.server(text, command: command)
            let retryAt = fail(error, now: now)
            return .failed(error, retryAt: retryAt)
        }
        if remaining > 1 {
            state = .handshaking(remaining: remaining - 1)
            return .wait
        }
        becomeReady()
        return .becameReady
    }

    /// Records that a connect attempt failed or an open connection was lost, and returns when
    /// to retry.
    ///
    /// The first retry after a ready connection is lost happens at once, and backoff starts over.
    /// Later ones back off exponentially with jitter. At most one retry per maximum backoff
    /// delay happens at once, so a server that accepts and closes every connection is not
    /// reconnected to in a busy loop. A rejected AUTH is retried after the maximum delay, since
    /// a quicker retry would be rejected again.
    @discardableResult
    mutating func fail(_ error: RedisError, now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard state != .closed else { return now }
        let wasReady = state == .ready
        lastError = error
        let retryAt: ContinuousClock.Instant
        if error.code == .authenticationFailed {
            isKnownUnreachable = true
            retryAt = now + backoff.maximum
        } else if wasReady, lastImmediateRetry.map({ now - $0 >= backoff.maximum }) ?? true {
            lastImmediateRetry = now
            backoff.reset()
            retryAt = now
        } else if wasReady {
            retryAt = now + backoff.next()
        } else {
            isKnownUnreachable = true
            retryAt = now + backoff.next()
        }
        state = .disconnected(retryAt: retryAt)
        return retryAt
    }

    mutating func close() {
        state = .closed
    }

    private mutating func becomeReady() {
        state = .ready
        lastError = nil
        isKnownUnreachable = false
    }
}

@testable import Redis
import SocketTransport
import Testing

@Suite("Connection lifecycle robustness")
struct RedisRobustnessLifecycleTests {
    static let serverClose = RedisError(.connectionClosed, "closed by the server")

    /// Creates a lifecycle whose backoff runs from 100 ms to 1 s without jitter.
    static func lifecycle(now: ContinuousClock.Instant) -> ConnectionLifecycle {
        ConnectionLifecycle(
            backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0), now: now)
    }

    @Test("connection lost at once backs off")
    func lostRightAfterReady() {
        let start = ContinuousClock.now
        var lifecycle = Self.lifecycle(now: start)
        let failure = Self.serverClose
        var now = start
        var delays: [Duration] = []
        // A server that accepts, lets the connection become ready, and closes it at once.
        for _ in 0..<6 {
            let ready = lifecycle.connected(handshakeCount: 0)
            #expect(ready)
            let retryAt = lifecycle.fail(failure, now: now)
            delays.append(retryAt - now)
            now = retryAt
        }
        #expect(
            delays == [
                .zero, .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .zero,
            ])
    }

    @Test("connection lost long after ready retries at once")
    func lostLater() {
        let start = ContinuousClock.now
        var lifecycle = Self.lifecycle(now: start)
        let failure = Self.serverClose
        _ = lifecycle.connected(handshakeCount: 0)
        let firstRetry = lifecycle.fail(failure, now: start)
        #expect(firstRetry == start)
        _ = lifecycle.connected(handshakeCount: 0)
        let later = start + .seconds(5)
        let secondRetry = lifecycle.fail(failure, now: later)
        #expect(secondRetry == later)
    }
}

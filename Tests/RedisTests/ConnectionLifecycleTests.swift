@testable import Redis
import RedisWire
import SocketTransport
import Testing

@Suite("Connection lifecycle")
struct ConnectionLifecycleTests {
    private let start = ContinuousClock.now

    private func makeLifecycle() -> ConnectionLifecycle {
        ConnectionLifecycle(
            backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0), now: start
        )
    }

    @Test("connects at once, then ready after handshake")
    func handshake() {
        var lifecycle = makeLifecycle()
        #expect(lifecycle.shouldConnect(now: start))
        let readyAtOnce = lifecycle.connected(handshakeCount: 2)
        #expect(!readyAtOnce)
        #expect(lifecycle.state == .handshaking(remaining: 2))
        guard case .wait = lifecycle.handshakeReplied(.simpleString(bytes("OK")), command: "AUTH", now: start)
        else {
            Issue.record("expected wait")
            return
        }
        guard
            case .becameReady = lifecycle.handshakeReplied(
                .simpleString(bytes("OK")), command: "SELECT", now: start)
        else {
            Issue.record("expected ready")
            return
        }
        #expect(lifecycle.state == .ready)
        #expect(!lifecycle.isKnownUnreachable)
    }

    @Test("rejected AUTH retries at maximum delay")
    func authenticationError() {
        var lifecycle = makeLifecycle()
        _ = lifecycle.connected(handshakeCount: 1)
        let action = lifecycle.handshakeReplied(
            .error(bytes("WRONGPASS invalid")), command: "AUTH", now: start)
        guard case .failed(let error, let retryAt) = action else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .authenticationFailed)
        #expect(error.serverErrorPrefix == "WRONGPASS")
        #expect(retryAt == start + .seconds(1))
        #expect(lifecycle.isKnownUnreachable)
        // The next rejection, and one after a ready connection was lost, wait as long again.
        _ = lifecycle.connected(handshakeCount: 1)
        let again = lifecycle.fail(error, now: start)
        #expect(again == start + .seconds(1))
        _ = lifecycle.connected(handshakeCount: 0)
        let afterReady = lifecycle.fail(error, now: start)
        #expect(afterReady == start + .seconds(1))
    }

    @Test("other handshake error is server error")
    func handshakeError() {
        var lifecycle = makeLifecycle()
        _ = lifecycle.connected(handshakeCount: 1)
        let action = lifecycle.handshakeReplied(
            .error(bytes("ERR invalid client name")), command: "CLIENT SETNAME", now: start)
        guard case .failed(let error, let retryAt) = action else {
            Issue.record("expected failure")
            return
        }
        #expect(error.code == .serverError)
        #expect(error.serverErrorPrefix == "ERR")
        #expect(retryAt == start + .milliseconds(100))
        #expect(lifecycle.isKnownUnreachable)
    }

    @Test("backoff grows, resets after ready")
    func backoff() {
        var lifecycle = makeLifecycle()
        let failure = RedisError(.notConnected, "refused")
        let delays = (0..<3).map { _ in lifecycle.fail(failure, now: start) - start }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
        #expect(!lifecycle.shouldConnect(now: start + .milliseconds(399)))
        #expect(lifecycle.shouldConnect(now: start + .milliseconds(400)))
        let ready = lifecycle.connected(handshakeCount: 0)
        #expect(ready)
        #expect(lifecycle.lastError == nil)
        // A ready connection that is lost reconnects at once, and backoff starts over.
        let lostAt = lifecycle.fail(failure, now: start)
        #expect(lostAt == start)
        #expect(!lifecycle.isKnownUnreachable)
        let retryAt = lifecycle.fail(failure, now: start)
        #expect(retryAt == start + .milliseconds(100))
        #expect(lifecycle.isKnownUnreachable)
    }

    @Test("closed lifecycle never connects")
    func closed() {
        var lifecycle = makeLifecycle()
        lifecycle.close()
        #expect(!lifecycle.shouldConnect(now: start + .seconds(10)))
        let ready = lifecycle.connected(handshakeCount: 0)
        #expect(!ready)
        #expect(lifecycle.state == .closed)
    }
}

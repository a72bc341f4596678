import Glibc
import SocketTransport
import Synchronization
import Testing

extension TransportSuite {
    /// Signals delivered to a thread blocked in poll or epoll_wait make the call fail with EINTR
    /// even with SA_RESTART. These tests interrupt waits every 5 ms and check that each one
    /// still lasts its full timeout and returns its usual timeout result.
    @Suite struct InterruptTests {
        @Test func pollerWaitSurvivesSignals() throws {
            let poller = try Poller()
            let elapsed = try Self.measureUnderSignals {
                let events = try poller.wait(timeout: .milliseconds(300))
                #expect(events.isEmpty)
            }
            #expect(elapsed >= .milliseconds(295))
        }

        @Test func acceptSurvivesSignals() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let elapsed = try Self.measureUnderSignals {
                let accepted = try listener.accept(timeout: .milliseconds(300))
                #expect(accepted == nil)
            }
            #expect(elapsed >= .milliseconds(295))
        }

        @Test func waitReadableSurvivesSignals() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            let elapsed = try Self.measureUnderSignals {
                let readable = try client.waitReadable(timeout: .milliseconds(300))
                #expect(readable == false)
            }
            #expect(elapsed >= .milliseconds(295))
        }

        /// Runs `body` on a new thread while this thread sends it SIGUSR1 every 5 ms, and returns
        /// how long `body` took. A no-op SIGUSR1 handler is installed for the duration.
        private static func measureUnderSignals(_ body: @escaping @Sendable () throws -> Void) throws
            -> Duration
        {
            let previous = signal(SIGUSR1) { _ in }
            defer { signal(SIGUSR1, previous) }
            let state = Mutex<(thread: pthread_t?, done: Bool, elapsed: Duration, error: String?)>(
                (nil, false, .zero, nil))
            let worker = TestThread {
                state.withLock { $0.thread = pthread_self() }
                let clock = ContinuousClock()
                let start = clock.now
                var failure: String?
                do {
                    try body()
                } catch {
                    failure = "\(error)"
                }
                let elapsed = clock.now - start
                state.withLock {
                    $0.done = true
                    $0.elapsed = elapsed
                    $0.error = failure
                }
            }
            var signalsSent = 0
            while true {
                let (thread, done) = state.withLock { ($0.thread, $0.done) }
                if done {
                    break
                }
                if let thread {
                    pthread_kill(thread, SIGUSR1)
                    signalsSent += 1
                }
                usleep(5_000)
            }
            worker.join()
            let (elapsed, error) = state.withLock { ($0.elapsed, $0.error) }
            #expect(error == nil)
            #expect(signalsSent >= 10, "only \(signalsSent) signals were sent during the wait")
            return elapsed
        }
    }
}

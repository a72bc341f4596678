import Glibc
import SocketTransport
import Synchronization
import Testing

extension TransportSuite {
    @Suite struct PollerWakeRaceTests {
        /// A wake() that races with the drain of the eventfd must not leave the pending flag set
        /// while the eventfd is empty. Every later wake() would then skip its write, and a
        /// waiting loop would sleep past it.
        @Test func wakeAfterRacingDrains() throws {
            let poller = try Poller()
            let clock = ContinuousClock()
            for round in 0..<10 {
                let stop = Atomic<Bool>(false)
                let waker = TestThread {
                    while !stop.load(ordering: .relaxed) {
                        poller.wake()
                    }
                }
                let roundEnd = clock.now + .milliseconds(200)
                while clock.now < roundEnd {
                    _ = try poller.wait(timeout: .milliseconds(5))
                }
                stop.store(true, ordering: .relaxed)
                waker.join()
                // Take a wake that may still be in the eventfd, then wake once more.
                _ = try poller.wait(timeout: .zero)
                poller.wake()
                let start = clock.now
                _ = try poller.wait(timeout: .seconds(2))
                let elapsed = clock.now - start
                try #require(
                    elapsed < .seconds(1),
                    "round \(round): wait returned after \(elapsed), so the wake() before it was skipped")
            }
        }
    }
}

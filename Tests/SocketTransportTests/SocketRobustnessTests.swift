import Glibc
import SocketTransport
import Synchronization
import TestSupport
import Testing

extension TransportSuite {
    /// Error paths, extreme timeouts and large writes that the happy-path tests do not reach.
    @Suite struct SocketRobustnessTests {
        /// A timeout of `Duration.seconds(Int64.max)` is a natural way to write "practically
        /// forever"; converting it to poll milliseconds must saturate, not overflow.
        @Test func hugeTimeoutWaitsWithoutTrapping() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime(listener) {} }
            try peer.writeAll([1], timeout: .seconds(Int64.max))
            #expect(try client.waitReadable(timeout: .seconds(Int64.max)))
            #expect(try client.waitWritable(timeout: .seconds(Int64.max)))
            #expect(try client.readExactly(1, timeout: .seconds(Int64.max)) == [1])
            try peer.writeAll([2, 3], timeout: .seconds(Int64.max))
            #expect(try client.readAvailable(maximum: 8, timeout: .seconds(Int64.max)) != nil)
        }

        @Test func hugeTimeoutInPollerAndAcceptDoesNotTrap() throws {
            let poller = try Poller()
            poller.wake()
            #expect(try poller.wait(timeout: .seconds(Int64.max)).isEmpty)
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let client = try StreamSocket.connect(to: listener.endpoint, timeout: .seconds(Int64.max))
            let peer = try listener.accept(timeout: .seconds(Int64.max))
            #expect(peer != nil)
            withExtendedLifetime(client) {}
        }

        /// A negative timeout means "do not wait": calls return their timeout result at once.
        @Test func negativeTimeoutDoesNotWait() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try client.waitReadable(timeout: .seconds(-5)) == false)
            #expect(try listener.accept(timeout: .seconds(-5)) == nil)
            let error = #expect(throws: TransportError.self) {
                try client.readExactly(1, timeout: .milliseconds(-1))
            }
            #expect(error?.code == .timedOut)
            #expect(clock.now - start < .seconds(1))
        }

        /// 256 MiB through one `writeAll` call while the peer drains on another thread: every byte
        /// arrives in order, and the writer survives many partial writes.
        @Test func hugeWriteArrivesIntact() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime(listener) {} }
            let size = 256 << 20
            let payload = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                for index in 0..<size {
                    buffer[index] = UInt8(truncatingIfNeeded: index &* 7 &+ index >> 16)
                }
                count = size
            }
            let mismatch = Mutex<Int?>(nil)
            let received = Mutex(0)
            let reader = TestThread {
                var chunk = [UInt8](repeating: 0, count: 1 << 20)
                var offset = 0
                while offset < size {
                    guard let outcome = try? chunk.withUnsafeMutableBytes({ try peer.read(into: $0) }) else {
                        break
                    }
                    switch outcome {
                    case .bytes(let count):
                        for index in 0..<count
                        where chunk[index] != UInt8(truncatingIfNeeded: (offset + index) &* 7 &+ (offset + index) >> 16)
                        {
                            mismatch.withLock { $0 = $0 ?? offset + index }
                        }
                        offset += count
                    case .wouldBlock:
                        _ = try? peer.waitReadable(timeout: .seconds(5))
                    case .closed:
                        received.withLock { $0 = offset }
                        return
                    }
                }
                received.withLock { $0 = offset }
            }
            try client.writeAll(payload, timeout: .seconds(60))
            reader.join()
            #expect(received.withLock { $0 } == size)
            #expect(mismatch.withLock { $0 } == nil)
        }

        /// Writes to a peer that closed its socket keep failing with a typed error (EPIPE or
        /// ECONNRESET), never with SIGPIPE, and `writeAll` stops instead of spinning.
        @Test func writeAllToClosedPeerFailsFast() throws {
            let previous = signal(SIGPIPE, SIG_DFL)
            defer { signal(SIGPIPE, previous) }
            let (client, peer, _) = try Loopback.connectedPair()
            peer.close()
            let payload = [UInt8](repeating: 0x5A, count: 8 << 20)
            let clock = ContinuousClock()
            let start = clock.now
            let error = #expect(throws: TransportError.self) {
                try client.writeAll(payload, timeout: .seconds(30))
            }
            #expect(error?.code == .writeFailed)
            #expect(error?.errno == EPIPE || error?.errno == ECONNRESET, "\(error?.description ?? "")")
            #expect(clock.now - start < .seconds(5))
            let again = #expect(throws: TransportError.self) { try client.writeAll([1], timeout: .seconds(1)) }
            #expect(again?.code == .writeFailed)
        }

        /// Signals every 5 ms while `readExactly` waits for bytes that arrive after 200 ms: EINTR
        /// in poll must not end the read early or lose data.
        @Test func readExactlySurvivesSignals() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime(listener) {} }
            let sender = TestThread {
                usleep(200_000)
                try? peer.writeAll([4, 5, 6], timeout: .seconds(2))
            }
            let received = Mutex<[UInt8]>([])
            let elapsed = try InterruptTests.measureUnderSignals {
                let bytes = try client.readExactly(3, timeout: .seconds(5))
                received.withLock { $0 = bytes }
            }
            sender.join()
            #expect(received.withLock { $0 } == [4, 5, 6])
            #expect(elapsed >= .milliseconds(150))
        }

        /// Every failing connect, bind and listen closes the descriptor it opened.
        @Test func failedConnectsAndListensLeakNothing() throws {
            let directory = try TemporaryDirectory()
            let stalePath = "\(directory.path)/stale.sock"
            let staleFile = open(stalePath, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            #expect(staleFile >= 0)
            close(staleFile)
            let busy = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let failingCalls: [() throws -> Void] = [
                { _ = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: busy.port)) },
                { _ = try ListeningSocket.listen(on: .unix(path: stalePath)) },
                { _ = try ListeningSocket.listen(on: .unix(path: "/proc/forbidden.sock")) },
                { _ = try StreamSocket.connect(to: .unix(path: stalePath), timeout: .seconds(1)) },
                { _ = try StreamSocket.connect(to: .unix(path: "\(directory.path)/no.sock"), timeout: .seconds(1)) },
                { _ = try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: 0), timeout: .seconds(1)) },
                { _ = try StreamSocket.connect(to: .tcp(host: "no-such-host.invalid", port: 1), timeout: .seconds(1)) },
                { _ = try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: 70_000), timeout: .seconds(1)) },
            ]
            for call in failingCalls {
                #expect(throws: TransportError.self) { try call() }
            }
            let baseline = openDescriptorCount()
            for _ in 0..<50 {
                for call in failingCalls {
                    #expect(throws: TransportError.self) { try call() }
                }
            }
            let settled = try waitUntil(timeout: .seconds(10)) { openDescriptorCount() <= baseline }
            #expect(settled, "open descriptors: \(openDescriptorCount()), baseline \(baseline)")
            withExtendedLifetime(busy) {}
        }

        /// Operations on a closed socket, listener or poller throw `.closed` and open nothing.
        @Test func closedObjectsThrowClosed() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            client.close()
            peer.close()
            listener.close()
            #expect(throws: TransportError.self) { try client.writeAll([1], timeout: .seconds(1)) }
            #expect(throws: TransportError.self) { try client.readExactly(1, timeout: .seconds(1)) }
            #expect(throws: TransportError.self) { try client.waitReadable(timeout: .seconds(1)) }
            #expect(throws: TransportError.self) { try client.shutdownWrite() }
            #expect(throws: TransportError.self) { try listener.accept(timeout: .seconds(1)) }
            client.close()
            listener.close()
        }
    }
}

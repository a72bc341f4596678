import Glibc
import SocketTransport
import TestSupport
import Testing

extension TransportSuite {
    @Suite struct PendingConnectTests {
        /// Drives a pending connect with a `Poller` as an event loop would: waits for writability,
        /// calls `finishConnect()`, and registers the next descriptor when the address changed.
        /// Returns nil when `timeout` passes with the connect still in progress.
        static func drive(_ pending: PendingConnect, timeout: Duration) throws -> StreamSocket? {
            let poller = try Poller()
            defer { poller.close() }
            let deadline = ContinuousClock.now + timeout
            var registered = pending.fileDescriptor
            try poller.register(fileDescriptor: registered, token: 1, interest: .writable)
            while ContinuousClock.now < deadline {
                let events = try poller.wait(timeout: max(.zero, deadline - .now))
                guard !events.isEmpty else { continue }
                // Deregistered before finishing: a failed address closes its descriptor, and the
                // next address may get the same number, which must then be registered anew.
                poller.deregister(fileDescriptor: registered)
                if let socket = try pending.finishConnect() {
                    return socket
                }
                registered = pending.fileDescriptor
                try poller.register(fileDescriptor: registered, token: 1, interest: .writable)
            }
            return nil
        }

        /// Fills the accept queue of a backlog-0 listener that never accepts, so that Linux drops
        /// further SYNs and a new connect stays in progress. Returns the queued clients, which
        /// must stay open for the queue to stay full.
        static func fillAcceptQueue(_ listener: ListeningSocket) throws -> [StreamSocket] {
            var queuedClients: [StreamSocket] = []
            for _ in 0..<16 {
                do {
                    queuedClients.append(
                        try StreamSocket.connect(to: listener.endpoint, timeout: .milliseconds(200)))
                } catch {
                    return queuedClients
                }
            }
            Issue.record("16 connects succeeded without any accept; the queue never filled")
            return queuedClients
        }

        @Test func connectsToListener() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let pending = try StreamSocket.startConnect(to: listener.endpoint)
            #expect(pending.fileDescriptor >= 0)
            let client = try #require(try Self.drive(pending, timeout: .seconds(5)))
            #expect(client.endpoint == listener.endpoint)
            #expect(pending.fileDescriptor == -1)
            let peer = try #require(try listener.accept(timeout: .seconds(2)))
            try client.writeAll([7, 8, 9], timeout: .seconds(2))
            #expect(try peer.readExactly(3, timeout: .seconds(2)) == [7, 8, 9])
            #expect(throws: TransportError.self) { try pending.finishConnect() }
        }

        @Test func refusedMessageMatchesBlockingConnect() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let port = listener.port
            listener.close()

            let pending = try StreamSocket.startConnect(to: .tcp(host: "127.0.0.1", port: port))
            let error = #expect(throws: TransportError.self) {
                try Self.drive(pending, timeout: .seconds(5))
            }
            #expect(error?.code == .connectFailed)
            #expect(error?.errno == ECONNREFUSED)
            #expect(
                error?.description == "connect to 127.0.0.1:\(port) failed: Connection refused (errno 111)")
            #expect(pending.fileDescriptor == -1)
        }

        @Test func staysPendingAgainstFullBacklogThenTimesOut() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0), backlog: 0)
            let queuedClients = try Self.fillAcceptQueue(listener)
            #expect(queuedClients.count >= 1)

            let pending = try StreamSocket.startConnect(to: listener.endpoint)
            #expect(try pending.finishConnect() == nil)
            #expect(try Self.drive(pending, timeout: .milliseconds(300)) == nil)
            #expect(pending.fileDescriptor >= 0)

            let error = #expect(throws: TransportError.self) {
                try pending.timeOut(after: .milliseconds(300))
            }
            #expect(error?.code == .connectTimedOut)
            #expect(error?.errno == nil)
            #expect(error?.description == "connect to 127.0.0.1:\(listener.port) timed out after 300 ms")
            #expect(pending.fileDescriptor == -1)
        }

        @Test(.enabled(if: Loopback.hasIPv6Loopback, "this machine has no IPv6 loopback (::1)"))
        func refusedOnEveryLocalhostAddressListsEach() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let port = listener.port
            listener.close()

            let pending = try StreamSocket.startConnect(to: .tcp(host: "localhost", port: port))
            #expect(pending.attempt == 1)
            let error = #expect(throws: TransportError.self) {
                try Self.drive(pending, timeout: .seconds(5))
            }
            #expect(pending.attempt == 2)
            expectRefusedOnBothLocalhostAddresses(error, port: port)
        }

        @Test(.enabled(if: Loopback.hasIPv6Loopback, "this machine has no IPv6 loopback (::1)"))
        func localhostFallsBackToIPv6() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "::1", port: 0))
            let pending = try StreamSocket.startConnect(to: .tcp(host: "localhost", port: listener.port))
            let client = try #require(try Self.drive(pending, timeout: .seconds(5)))
            #expect(pending.attempt == 2)
            let peer = try #require(try listener.accept(timeout: .seconds(2)))
            #expect(peer.endpoint.description.hasPrefix("[::1]:"))
            client.close()
        }

        @Test func unixSocketWithoutListenerFailsAtStart() throws {
            let path = "/tmp/dualstream-pending-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.startConnect(to: .unix(path: path))
            }
            #expect(error?.code == .connectFailed)
            #expect(error?.errno == ENOENT)
        }

        /// Every path (connected, refused, timed out, cancelled, released while in progress)
        /// must close what it opened. Other test targets may run in parallel and hold descriptors
        /// for a while, so the count gets up to 30 s to settle.
        @Test func everyPathLeaksNoDescriptor() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let closedPort: Int = try {
                let spare = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
                defer { spare.close() }
                return spare.port
            }()
            let full = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0), backlog: 0)
            let queuedClients = try Self.fillAcceptQueue(full)
            // One round first, so that anything opened lazily on first use is in the baseline.
            try Self.runEveryPath(listener: listener, closedPort: closedPort, full: full)
            let baseline = openDescriptorCount()

            for _ in 0..<50 {
                try Self.runEveryPath(listener: listener, closedPort: closedPort, full: full)
            }

            let settled = try waitUntil(timeout: .seconds(30)) { openDescriptorCount() <= baseline }
            #expect(settled, "open descriptors: \(openDescriptorCount()), baseline \(baseline)")
            #expect(queuedClients.count >= 1)
        }

        private static func runEveryPath(
            listener: ListeningSocket, closedPort: Int, full: ListeningSocket
        ) throws {
            let connecting = try StreamSocket.startConnect(to: listener.endpoint)
            let client = try #require(try drive(connecting, timeout: .seconds(5)))
            let peer = try #require(try listener.accept(timeout: .seconds(2)))
            client.close()
            peer.close()

            let refused = try StreamSocket.startConnect(to: .tcp(host: "127.0.0.1", port: closedPort))
            #expect(throws: TransportError.self) { try drive(refused, timeout: .seconds(5)) }

            let timedOut = try StreamSocket.startConnect(to: full.endpoint)
            #expect(throws: TransportError.self) { try timedOut.timeOut(after: .milliseconds(1)) }

            let cancelled = try StreamSocket.startConnect(to: full.endpoint)
            cancelled.cancel()
            cancelled.cancel()

            _ = try StreamSocket.startConnect(to: full.endpoint)
        }
    }
}

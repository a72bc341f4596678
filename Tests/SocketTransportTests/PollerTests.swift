import Glibc
import SocketTransport
import Testing

extension TransportSuite {
    @Suite struct PollerTests {
        @Test func wakeFromAnotherThread() throws {
            let poller = try Poller()
            let waker = TestThread {
                usleep(50_000)
                poller.wake()
            }
            let clock = ContinuousClock()
            let start = clock.now
            let events = try poller.wait(timeout: .seconds(10))
            let elapsed = clock.now - start
            waker.join()
            #expect(events.isEmpty)
            #expect(elapsed < .seconds(5), "wait returned after \(elapsed), not on wake()")
            #expect(elapsed >= .milliseconds(40))
        }

        @Test func wakeBeforeWaitIsNotLost() throws {
            let poller = try Poller()
            poller.wake()
            poller.wake()
            #expect(try poller.wait(timeout: .seconds(5)).isEmpty)
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try poller.wait(timeout: .milliseconds(50)).isEmpty)
            #expect(clock.now - start >= .milliseconds(45), "a drained wake fired again")
        }

        @Test func timeoutReturnsNoEvents() throws {
            let poller = try Poller()
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try poller.wait(timeout: .milliseconds(30)).isEmpty)
            #expect(clock.now - start >= .milliseconds(25))
        }

        @Test func readableEventCarriesToken() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            let poller = try Poller()
            try poller.register(fileDescriptor: peer.fileDescriptor, token: 42, interest: .readable)
            #expect(try poller.wait(timeout: .milliseconds(10)).isEmpty)
            try client.writeAll([1], timeout: .seconds(1))
            let events = try poller.wait(timeout: .seconds(2))
            #expect(events.count == 1)
            #expect(events.first?.token == 42)
            #expect(events.first?.readable == true)
            #expect(events.first?.writable == false)
        }

        @Test func modifyAndDeregister() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            let poller = try Poller()
            try poller.register(fileDescriptor: client.fileDescriptor, token: 1, interest: .readable)
            #expect(try poller.wait(timeout: .milliseconds(10)).isEmpty)
            try poller.modify(
                fileDescriptor: client.fileDescriptor, token: 2, interest: [.readable, .writable])
            let events = try poller.wait(timeout: .seconds(1))
            #expect(events.map(\.token) == [2])
            #expect(events.first?.writable == true)
            poller.deregister(fileDescriptor: client.fileDescriptor)
            #expect(try poller.wait(timeout: .milliseconds(10)).isEmpty)
        }

        @Test func peerCloseIsReadable() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            let poller = try Poller()
            try poller.register(fileDescriptor: client.fileDescriptor, token: 5, interest: .readable)
            peer.close()
            let events = try poller.wait(timeout: .seconds(2))
            #expect(events.first?.readable == true)
            var buffer = [UInt8](repeating: 0, count: 4)
            #expect(try buffer.withUnsafeMutableBytes { try client.read(into: $0) } == .closed)
        }

        @Test func resetReportsHangupAndError() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            let poller = try Poller()
            try poller.register(fileDescriptor: client.fileDescriptor, token: 6, interest: .readable)
            peer.resetAndClose()
            let events = try poller.wait(timeout: .seconds(2))
            #expect(events.count == 1)
            #expect(events.first?.hangup == true)
            #expect(events.first?.error == true)
        }

        @Test func manyDescriptorsReportEachToken() throws {
            let poller = try Poller()
            var pairs: [(StreamSocket, StreamSocket, ListeningSocket)] = []
            for token in 0..<20 {
                let pair = try Loopback.connectedPair()
                try poller.register(
                    fileDescriptor: pair.peer.fileDescriptor, token: UInt64(token), interest: .readable)
                try pair.client.writeAll([UInt8(token)], timeout: .seconds(1))
                pairs.append(pair)
            }
            var tokens = Set<UInt64>()
            _ = try waitForEvents(poller) { events in
                tokens.formUnion(events.map(\.token))
                return tokens.count == 20
            }
            #expect(tokens == Set((0..<20).map(UInt64.init)))
        }

        @Test func reservedTokenIsRejected() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            let poller = try Poller()
            let error = #expect(throws: TransportError.self) {
                try poller.register(
                    fileDescriptor: client.fileDescriptor, token: Poller.reservedToken, interest: .readable)
            }
            #expect(error?.description.contains("is reserved") == true)
        }

        @Test func closedPollerThrowsAndWakeIsHarmless() throws {
            let poller = try Poller()
            poller.close()
            poller.close()
            poller.wake()
            let error = #expect(throws: TransportError.self) { try poller.wait(timeout: .zero) }
            #expect(error?.code == .closed)
        }

        private func waitForEvents(_ poller: Poller, until done: ([Poller.Event]) -> Bool) throws -> Bool {
            for _ in 0..<20 {
                if done(try poller.wait(timeout: .milliseconds(100))) {
                    return true
                }
            }
            return false
        }
    }
}

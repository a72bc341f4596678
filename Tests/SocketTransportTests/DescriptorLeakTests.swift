import Glibc
import SocketTransport
import TestSupport
import Testing

extension TransportSuite {
    @Suite struct DescriptorLeakTests {
        /// 1,000 connect/accept/close cycles, then 200 refused connects, must leave the number of
        /// entries in /proc/self/fd where it started. The enclosing suite is serialized, but other
        /// test targets may run in parallel, so the count is given a few seconds to settle.
        @Test func connectCloseCyclesLeakNothing() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let closedPort: Int = try {
                let spare = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
                defer { spare.close() }
                return spare.port
            }()
            let baseline = openDescriptorCount()
            #expect(baseline > 0)

            for _ in 0..<1_000 {
                let client = try StreamSocket.connect(to: listener.endpoint, timeout: .seconds(2))
                let peer = try #require(try listener.accept(timeout: .seconds(2)))
                client.close()
                peer.close()
            }
            for _ in 0..<200 {
                #expect(throws: TransportError.self) {
                    try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: closedPort), timeout: .seconds(1))
                }
            }
            for _ in 0..<100 {
                let dropped = try StreamSocket.connect(to: listener.endpoint, timeout: .seconds(2))
                _ = dropped
            }
            while let pending = try listener.accept(timeout: .milliseconds(50)) {
                pending.close()
            }

            let settled = try waitUntil(timeout: .seconds(5)) { openDescriptorCount() <= baseline }
            #expect(settled, "open descriptors: \(openDescriptorCount()), baseline \(baseline)")
        }

        @Test func pollerAndListenerCloseTheirDescriptors() throws {
            let baseline = openDescriptorCount()
            for _ in 0..<200 {
                let poller = try Poller()
                let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
                try poller.register(fileDescriptor: listener.fileDescriptor, token: 1, interest: .readable)
                poller.close()
                _ = listener
            }
            let settled = try waitUntil(timeout: .seconds(5)) { openDescriptorCount() <= baseline }
            #expect(settled, "open descriptors: \(openDescriptorCount()), baseline \(baseline)")
        }
    }
}

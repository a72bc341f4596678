import SocketTransport
import Testing

extension TransportSuite {
    @Suite struct SmokeTests {
        @Test func echoOverLoopback() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { listener.close() }
            try client.writeAll(Array("hello".utf8), timeout: .seconds(2))
            let received = try peer.readExactly(5, timeout: .seconds(2))
            #expect(received == Array("hello".utf8))
            client.close()
            #expect(try peer.readAvailable(maximum: 10, timeout: .seconds(2)) == nil)
        }
    }
}

import Glibc
import SocketTransport
import Testing

/// Parent of every suite in this target. `.serialized` runs them one at a time, because the
/// descriptor-leak test counts the entries of /proc/self/fd, which parallel tests would change.
@Suite(.serialized)
struct TransportSuite {}

/// Helpers shared by the socket tests.
enum Loopback {
    /// Returns a connected pair: the client from `StreamSocket.connect` and the accepted peer.
    static func connectedPair(
        listener: ListeningSocket? = nil
    ) throws -> (client: StreamSocket, peer: StreamSocket, listener: ListeningSocket) {
        let server = try listener ?? ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        let client = try StreamSocket.connect(to: server.endpoint, timeout: .seconds(5))
        let peer = try #require(try server.accept(timeout: .seconds(5)))
        return (client, peer, server)
    }

    /// True when a socket can bind ::1, the IPv6 loopback address.
    static let hasIPv6Loopback: Bool = {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0[15] = 1 }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
            }
        }
    }()
}

import Glibc
import SocketTransport
import TestSupport
import Testing

extension TransportSuite {
    @Suite struct ConnectTests {
        @Test func refusedMessageNamesAddressAndErrno() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let port = listener.port
            listener.close()

            let error = #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(2))
            }
            #expect(error?.code == .connectFailed)
            #expect(error?.errno == ECONNREFUSED)
            #expect(
                error?.description == "connect to 127.0.0.1:\(port) failed: Connection refused (errno 111)")
        }

        /// A listener with backlog 0 whose connections are never accepted: once its accept queue
        /// is full, Linux drops further SYNs, so a connect hangs until the timeout.
        @Test func timesOutAgainstFullBacklog() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0), backlog: 0)
            var queuedClients: [StreamSocket] = []
            var timeout: TransportError?
            for _ in 0..<16 {
                do {
                    queuedClients.append(
                        try StreamSocket.connect(to: listener.endpoint, timeout: .milliseconds(200)))
                } catch {
                    timeout = error
                    break
                }
            }
            let error = try #require(
                timeout, "16 connects succeeded without any accept; the queue never filled")
            #expect(error.code == .connectTimedOut)
            #expect(error.errno == nil)
            #expect(error.description == "connect to 127.0.0.1:\(listener.port) timed out after 200 ms")
            #expect(queuedClients.count >= 1)
        }

        @Test(.enabled(if: Loopback.hasIPv6Loopback, "this machine has no IPv6 loopback (::1)"))
        func ipv6Loopback() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "::1", port: 0))
            #expect(listener.endpoint.description == "[::1]:\(listener.port)")
            let (client, peer, _) = try Loopback.connectedPair(listener: listener)
            try client.writeAll([1, 2, 3], timeout: .seconds(2))
            #expect(try peer.readExactly(3, timeout: .seconds(2)) == [1, 2, 3])
            #expect(peer.endpoint.description.hasPrefix("[::1]:"))
        }

        @Test(.enabled(if: Loopback.hasIPv6Loopback, "this machine has no IPv6 loopback (::1)"))
        func localhostFallsBackToIPv6() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "::1", port: 0))
            let client = try StreamSocket.connect(
                to: .tcp(host: "localhost", port: listener.port), timeout: .seconds(2))
            let peer = try #require(try listener.accept(timeout: .seconds(2)))
            #expect(peer.endpoint.description.hasPrefix("[::1]:"))
            client.close()
        }

        @Test func localhostResolvesWithoutNameService() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let client = try StreamSocket.connect(
                to: .tcp(host: "LOCALHOST", port: listener.port), timeout: .seconds(2))
            #expect(client.endpoint == .tcp(host: "LOCALHOST", port: listener.port))
            let peer = try #require(try listener.accept(timeout: .seconds(2)))
            #expect(peer.endpoint.description.hasPrefix("127.0.0.1:"))
        }

        @Test func refusedOnEveryLocalhostAddressListsEach() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let port = listener.port
            listener.close()
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .tcp(host: "localhost", port: port), timeout: .seconds(2))
            }
            expectRefusedOnBothLocalhostAddresses(error, port: port)
        }

        /// "bad..name" has an empty label, which glibc's getaddrinfo rejects before it builds a
        /// DNS query (checked with strace on glibc 2.36: no UDP or TCP socket is opened), so the
        /// test sends nothing off the machine.
        @Test func resolveFailureNamesHostAndReason() {
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .tcp(host: "bad..name", port: 9092), timeout: .seconds(1))
            }
            #expect(error?.code == .resolveFailed)
            #expect(error?.description == "resolve bad..name:9092 failed: Name or service not known")
        }

        @Test func bracketedHostConnects() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let client = try StreamSocket.connect(
                to: .tcp(host: "[127.0.0.1]", port: listener.port), timeout: .seconds(2))
            #expect(try listener.accept(timeout: .seconds(2)) != nil)
            client.close()
        }

        @Test func unixSocketRoundTrip() throws {
            let directory = try TemporaryDirectory()
            let path = "\(directory.path)/transport.sock"
            let listener = try ListeningSocket.listen(on: .unix(path: path))
            #expect(listener.port == 0)
            let client = try StreamSocket.connect(
                to: try Endpoint.parse("unix:\(path)"), timeout: .seconds(2))
            let peer = try #require(try listener.accept(timeout: .seconds(2)))
            try client.writeAll(Array("ping".utf8), timeout: .seconds(2))
            #expect(try peer.readExactly(4, timeout: .seconds(2)) == Array("ping".utf8))
            try peer.writeAll(Array("pong".utf8), timeout: .seconds(2))
            #expect(try client.readExactly(4, timeout: .seconds(2)) == Array("pong".utf8))
            peer.close()
            #expect(try client.readAvailable(maximum: 8, timeout: .seconds(2)) == nil)
            listener.close()
            #expect(access(path, F_OK) != 0, "close() left the socket file behind")
        }

        @Test func unixSocketMissingPath() throws {
            let directory = try TemporaryDirectory()
            let path = "\(directory.path)/absent.sock"
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .unix(path: path), timeout: .seconds(1))
            }
            #expect(error?.code == .connectFailed)
            #expect(error?.errno == ENOENT)
            #expect(
                error?.description == "connect to unix:\(path) failed: No such file or directory (errno 2)")
        }

        @Test func listenRejectsNonLoopbackHost() {
            let error = #expect(throws: TransportError.self) {
                try ListeningSocket.listen(on: .tcp(host: "0.0.0.0", port: 0))
            }
            #expect(error?.code == .listenFailed)
            #expect(error?.description.contains("only loopback addresses") == true)
        }

        @Test func acceptTimesOutWithNil() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try listener.accept(timeout: .milliseconds(50)) == nil)
            #expect(clock.now - start >= .milliseconds(45))
        }
    }
}

/// A directory under /tmp removed with its contents on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/transport-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(created != nil, "mkdtemp failed with errno \(errno)")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." {
                    unlink("\(path)/\(name)")
                }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}

/// Expects the error of a connect to "localhost" on a closed `port`: a `connectFailed` that names
/// both addresses, with 127.0.0.1 refused and [::1] failed.
func expectRefusedOnBothLocalhostAddresses(
    _ error: TransportError?, port: Int, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(error?.code == .connectFailed, sourceLocation: sourceLocation)
    #expect(
        error?.description.hasPrefix("connect to localhost:\(port) failed on all 2 addresses: ") == true,
        sourceLocation: sourceLocation)
    #expect(
        error?.description.contains("127.0.0.1:\(port): Connection refused (errno 111)") == true,
        sourceLocation: sourceLocation)
    #expect(error?.description.contains("[::1]:\(port): ") == true, sourceLocation: sourceLocation)
}

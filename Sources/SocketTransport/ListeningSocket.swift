import Glibc
import Synchronization

/// Listening socket for fake servers and tests: TCP on a loopback address, or a Unix socket.
///
/// TCP listeners accept only loopback addresses (127.0.0.0/8, ::1, `localhost`) so a test server
/// is never reachable from other hosts. A Unix listener unlinks its path on `close()`. It does
/// not remove an existing file at that path, so `listen` fails with EADDRINUSE on a stale one.
public final class ListeningSocket: @unchecked Sendable {
    /// The bound endpoint, with the port the kernel picked when port 0 was requested.
    public let endpoint: Endpoint
    private let descriptor: Atomic<Int32>
    private let unixPath: String?

    private init(descriptor: Int32, endpoint: Endpoint, unixPath: String?) {
        self.descriptor = Atomic(descriptor)
        self.endpoint = endpoint
        self.unixPath = unixPath
    }

    deinit {
        close()
    }

    /// Binds and listens on `endpoint` (TCP port 0 lets the kernel pick a free port) with
    /// SO_REUSEADDR for TCP, a non-blocking SOCK_CLOEXEC descriptor, and `backlog` as the queue
    /// of connections not yet accepted. A name with several addresses binds the first, so
    /// `localhost` binds 127.0.0.1 only. Throws `.listenFailed` for a non-loopback host.
    public static func listen(on endpoint: Endpoint, backlog: Int32 = 128) throws(TransportError)
        -> ListeningSocket
    {
        guard let address = try SocketAddress.resolve(endpoint).first else {
            throw TransportError(.listenFailed, "listen on \(endpoint) failed: no address")
        }
        if case .tcp = endpoint, !address.isLoopback {
            throw TransportError(
                .listenFailed,
                "listen on \(endpoint) rejected: only loopback addresses "
                    + "(127.0.0.1, ::1, localhost) are allowed"
            )
        }
        let type = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)
        let socket = Glibc.socket(address.family, type, 0)
        guard socket >= 0 else {
            throw TransportError.systemCall(
                .socketFailed, "socket for listening on \(endpoint)", errno: errno)
        }
        if address.family != AF_UNIX && !setSocketOption(socket, SOL_SOCKET, SO_REUSEADDR, 1) {
            let code = errno
            Glibc.close(socket)
            throw TransportError.systemCall(
                .socketFailed, "setsockopt(SO_REUSEADDR) on \(endpoint)", errno: code)
        }
        guard address.withSocketAddress({ bind(socket, $0, $1) }) == 0 else {
            let code = errno
            Glibc.close(socket)
            throw TransportError.systemCall(.listenFailed, "bind to \(endpoint)", errno: code)
        }
        guard Glibc.listen(socket, backlog) == 0 else {
            let code = errno
            Glibc.close(socket)
            throw TransportError.systemCall(.listenFailed, "listen on \(endpoint)", errno: code)
        }
        switch endpoint {
        case .unix(let path):
            return ListeningSocket(descriptor: socket, endpoint: endpoint, unixPath: path)
        case .tcp(let host, _):
            var bound = SocketAddress()
            bound.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &bound.storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getsockname(socket, $0, &bound.length)
                }
            }
            guard named == 0, let port = bound.port else {
                let code = errno
                Glibc.close(socket)
                throw TransportError.systemCall(.listenFailed, "getsockname on \(endpoint)", errno: code)
            }
            return ListeningSocket(descriptor: socket, endpoint: .tcp(host: host, port: port), unixPath: nil)
        }
    }

    /// The bound TCP port, or 0 for a Unix socket.
    public var port: Int {
        if case .tcp(_, let port) = endpoint {
            return port
        }
        return 0
    }

    /// The descriptor, or -1 after `close()`; readable when a connection is waiting.
    public var fileDescriptor: Int32 {
        descriptor.load(ordering: .acquiring)
    }

    /// Accepts one connection with `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`, waiting with `poll` up
    /// to `timeout` (nil = forever). Returns nil on timeout. Accepted TCP sockets get TCP_NODELAY
    /// and the keepalive settings of `StreamSocket.connect`, and their `endpoint` is the peer's
    /// address. Connections that the peer aborted before `accept` are skipped.
    public func accept(timeout: Duration?) throws(TransportError) -> StreamSocket? {
        let deadline = Deadline(timeout: timeout)
        while true {
            let socket = fileDescriptor
            guard socket >= 0 else {
                throw TransportError(.closed, "accept on \(endpoint) failed: the socket is closed")
            }
            var peer = SocketAddress()
            peer.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = withUnsafeMutablePointer(to: &peer.storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    retryingInterrupts {
                        linuxAccept4(
                            socket, address, &peer.length,
                            Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
                        )
                    }
                }
            }
            if accepted >= 0 {
                return try wrapAccepted(accepted, peer: peer)
            }
            let code = errno
            if code == ECONNABORTED || code == EPROTO {
                continue
            }
            guard code == EAGAIN || code == EWOULDBLOCK else {
                throw TransportError.systemCall(.acceptFailed, "accept on \(endpoint)", errno: code)
            }
            let remaining = deadline.remaining
            if remaining == .zero {
                return nil
            }
            let (revents, failure) = pollDescriptor(socket, events: Int16(POLLIN), timeout: remaining)
            if let failure {
                throw TransportError.systemCall(.pollFailed, "poll of \(endpoint)", errno: failure)
            }
            if revents == 0 {
                return nil
            }
        }
    }

    /// Closes the socket and, for a Unix socket, unlinks its path. Idempotent.
    public func close() {
        let old = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        guard old >= 0 else { return }
        _ = Glibc.close(old)
        if let unixPath {
            unlink(unixPath)
        }
    }

    private func wrapAccepted(_ accepted: Int32, peer: SocketAddress) throws(TransportError) -> StreamSocket {
        guard peer.family == AF_INET || peer.family == AF_INET6 else {
            return StreamSocket(descriptor: accepted, endpoint: endpoint)
        }
        let host: String
        let text = peer.description
        if peer.family == AF_INET6, let close = text.lastIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
        } else {
            host = String(text.prefix { $0 != ":" })
        }
        let peerEndpoint = Endpoint.tcp(host: host, port: peer.port ?? 0)
        do {
            try StreamSocket.configureTCP(accepted, target: peerEndpoint.description)
        } catch {
            Glibc.close(accepted)
            throw error
        }
        return StreamSocket(descriptor: accepted, endpoint: peerEndpoint)
    }
}

import Glibc

extension StreamSocket {
    /// Keepalive settings for TCP connections. The first probe goes out after 30 s of silence,
    /// then one every 10 s, and the kernel resets the connection after 3 unanswered probes. A
    /// peer that vanished without a FIN or RST is thus detected after about 60 s of silence,
    /// where the Linux defaults (7200 s, 75 s, 9 probes) take over two hours.
    public static let keepaliveIdleSeconds: Int32 = 30
    public static let keepaliveIntervalSeconds: Int32 = 10
    public static let keepaliveProbeCount: Int32 = 3

    /// Connects to `endpoint` and returns a non-blocking socket.
    ///
    /// TCP endpoints are resolved as `SocketAddress.resolve` documents: literals and `localhost`
    /// without `getaddrinfo`, other names with it. Each address is tried in order with a
    /// non-blocking `connect`, `poll` for writability up to `timeout`, then `SO_ERROR`, so the
    /// timeout applies to each address separately. TCP sockets get TCP_NODELAY and the keepalive
    /// settings above; every socket is SOCK_CLOEXEC.
    ///
    /// Throws `.resolveFailed`, `.connectTimedOut` when every address timed out, `.connectFailed`
    /// otherwise (errno of the last failure), `.invalidEndpoint` or `.socketFailed`. A Unix
    /// socket whose listener has a full backlog fails at once with EAGAIN rather than waiting.
    public static func connect(to endpoint: Endpoint, timeout: Duration) throws(TransportError)
        -> StreamSocket
    {
        let addresses = try SocketAddress.resolve(endpoint)
        var failures: [(address: SocketAddress, error: TransportError)] = []
        for address in addresses {
            do {
                let descriptor = try connectOne(address, endpoint: endpoint, timeout: timeout)
                return StreamSocket(descriptor: descriptor, endpoint: endpoint)
            } catch {
                failures.append((address, error))
            }
        }
        throw connectError(endpoint, failures: failures)
    }

    /// Makes the error for a connect that failed on every address: the single failure itself,
    /// or one error that lists the failure of each address.
    static func connectError(
        _ endpoint: Endpoint,
        failures: [(address: SocketAddress, error: TransportError)]
    ) -> TransportError {
        if failures.count == 1 {
            return failures[0].error
        }
        let allTimedOut = failures.allSatisfy { $0.error.code == .connectTimedOut }
        let details = failures.map { "\($0.address): \($0.error.reason)" }.joined(separator: "; ")
        return TransportError(
            allTimedOut ? .connectTimedOut : .connectFailed,
            "connect to \(endpoint) failed on all \(failures.count) addresses: \(details)",
            errno: failures.last { $0.error.errno != nil }?.error.errno
        )
    }

    /// Connects one address and returns the configured descriptor; closes it on every failure.
    private static func connectOne(
        _ address: SocketAddress,
        endpoint: Endpoint,
        timeout: Duration
    ) throws(TransportError) -> Int32 {
        let target = addressDescription(address, endpoint: endpoint)
        let descriptor = try openSocket(for: address, target: target)
        do {
            if try !beginConnect(descriptor, address, target: target) {
                try waitForConnect(descriptor, target: target, timeout: timeout)
            }
            try finishSetup(descriptor, address, target: target)
            return descriptor
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// Opens a non-blocking SOCK_CLOEXEC stream socket for the family of `address`.
    static func openSocket(for address: SocketAddress, target: String) throws(TransportError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)
        let descriptor = socket(address.family, type, 0)
        guard descriptor >= 0 else {
            throw TransportError.systemCall(.socketFailed, "socket for \(target)", errno: errno)
        }
        return descriptor
    }

    /// Starts a non-blocking `connect`. Returns true when it completed at once, false when it
    /// runs in the background (EINPROGRESS); throws `.connectFailed` when it failed at once.
    static func beginConnect(
        _ descriptor: Int32,
        _ address: SocketAddress,
        target: String
    ) throws(TransportError) -> Bool {
        let result = address.withSocketAddress { Glibc.connect(descriptor, $0, $1) }
        if result == 0 {
            return true
        }
        let code = errno
        // EINTR leaves a non-blocking connect running in the background, like EINPROGRESS.
        guard code == EINPROGRESS || code == EINTR else {
            throw TransportError.systemCall(.connectFailed, "connect to \(target)", errno: code)
        }
        return false
    }

    private static func waitForConnect(
        _ descriptor: Int32,
        target: String,
        timeout: Duration
    ) throws(TransportError) {
        let (revents, pollFailure) = pollDescriptor(descriptor, events: Int16(POLLOUT), timeout: timeout)
        if let pollFailure {
            throw TransportError.systemCall(
                .connectFailed, "poll while connecting to \(target)", errno: pollFailure)
        }
        guard revents != 0 else {
            throw connectTimedOut(target: target, after: timeout)
        }
        try checkConnectResult(descriptor, target: target)
    }

    /// Makes the error for an address whose connect did not complete within `timeout`.
    static func connectTimedOut(target: String, after timeout: Duration) -> TransportError {
        let reason = "timed out after \(describeDuration(timeout))"
        return TransportError(
            .connectTimedOut, "connect to \(target) \(reason)", errno: nil, reason: reason)
    }

    /// Reads `SO_ERROR` of a socket whose background connect ended, and throws its failure.
    static func checkConnectResult(_ descriptor: Int32, target: String) throws(TransportError) {
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else {
            throw TransportError.systemCall(
                .connectFailed, "getsockopt(SO_ERROR) for \(target)", errno: errno)
        }
        guard socketError == 0 else {
            throw TransportError.systemCall(.connectFailed, "connect to \(target)", errno: socketError)
        }
    }

    /// Applies the TCP options to a connected socket; Unix sockets need none.
    static func finishSetup(
        _ descriptor: Int32,
        _ address: SocketAddress,
        target: String
    ) throws(TransportError) {
        if address.family != AF_UNIX {
            try configureTCP(descriptor, target: target)
        }
    }

    static func configureTCP(_ descriptor: Int32, target: String) throws(TransportError) {
        let options: [(level: Int32, name: Int32, value: Int32, label: String)] = [
            (Int32(IPPROTO_TCP), Int32(TCP_NODELAY), 1, "TCP_NODELAY"),
            (SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"),
            (Int32(IPPROTO_TCP), Int32(TCP_KEEPIDLE), keepaliveIdleSeconds, "TCP_KEEPIDLE"),
            (Int32(IPPROTO_TCP), Int32(TCP_KEEPINTVL), keepaliveIntervalSeconds, "TCP_KEEPINTVL"),
            (Int32(IPPROTO_TCP), Int32(TCP_KEEPCNT), keepaliveProbeCount, "TCP_KEEPCNT"),
        ]
        for option in options where !setSocketOption(descriptor, option.level, option.name, option.value) {
            throw TransportError.systemCall(
                .socketFailed, "setsockopt(\(option.label)) for \(target)", errno: errno)
        }
    }

    /// "127.0.0.1:6390" for a literal, "localhost:6390 (::1)" when a name resolved to an address.
    static func addressDescription(_ address: SocketAddress, endpoint: Endpoint) -> String {
        let resolved = address.description
        guard case .tcp = endpoint else { return endpoint.description }
        if resolved == endpoint.description {
            return resolved
        }
        return "\(endpoint) (\(resolved))"
    }
}

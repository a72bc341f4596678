import Glibc

extension SocketAddress {
    /// Resolves `host` to the addresses to try, in order.
    ///
    /// A statically linked glibc binary cannot load the NSS modules that `getaddrinfo` uses for
    /// host names, so the common cases avoid it. IPv4 and IPv6 literals are parsed with
    /// `inet_pton`. `localhost` (any case, with or without a trailing dot) resolves to 127.0.0.1
    /// and then ::1 without reading /etc/hosts. Every other name, and IPv6 literals with a zone
    /// such as `fe80::1%eth0`, go through `getaddrinfo` (SOCK_STREAM, any family). In a static
    /// binary that call may fail for names that only an NSS module can resolve.
    static func resolve(host bracketedHost: String, port: Int) throws(TransportError) -> [SocketAddress] {
        if let addresses = resolveWithoutLookup(host: bracketedHost, port: port) {
            return addresses
        }
        return try resolveWithGetaddrinfo(host: unbracketed(bracketedHost), port: port)
    }

    /// Returns the addresses of an IPv4 or IPv6 literal or of `localhost`, or nil when `host`
    /// needs `getaddrinfo`. Reads no file and never blocks.
    static func resolveWithoutLookup(host bracketedHost: String, port: Int) -> [SocketAddress]? {
        let host = unbracketed(bracketedHost)
        var ipv4 = in_addr()
        if inet_pton(AF_INET, host, &ipv4) == 1 {
            return [.ipv4(ipv4, port: port)]
        }
        var ipv6 = in6_addr()
        if inet_pton(AF_INET6, host, &ipv6) == 1 {
            return [.ipv6(ipv6, port: port)]
        }
        let lowercased = host.lowercased()
        if lowercased == "localhost" || lowercased == "localhost." {
            var loopback4 = in_addr()
            loopback4.s_addr = UInt32(0x7F00_0001).bigEndian
            var loopback6 = in6_addr()
            withUnsafeMutableBytes(of: &loopback6) { $0[15] = 1 }
            return [.ipv4(loopback4, port: port), .ipv6(loopback6, port: port)]
        }
        return nil
    }

    /// Accepts "[::1]" as well as "::1", since hosts are often copied from "[::1]:port" text.
    private static func unbracketed(_ host: String) -> String {
        guard host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 else { return host }
        return String(host.dropFirst().dropLast())
    }

    static func resolveWithGetaddrinfo(host: String, port: Int) throws(TransportError)
        -> [SocketAddress]
    {
        let target = Endpoint.tcp(host: host, port: port)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        var status: Int32
        repeat {
            status = getaddrinfo(host, String(port), &hints, &list)
        } while status == EAI_SYSTEM && errno == EINTR
        guard status == 0 else {
            if status == EAI_SYSTEM {
                throw TransportError.systemCall(.resolveFailed, "resolve \(target)", errno: errno)
            }
            let reason = String(cString: gai_strerror(status))
            throw TransportError(.resolveFailed, "resolve \(target) failed: \(reason)")
        }
        defer { freeaddrinfo(list) }

        let addresses = streamAddresses(in: list)
        guard !addresses.isEmpty else {
            throw TransportError(.resolveFailed, "resolve \(target) failed: no IPv4 or IPv6 address")
        }
        return addresses
    }

    /// Copies the IPv4 and IPv6 entries of a `getaddrinfo` list, in order.
    private static func streamAddresses(in list: UnsafeMutablePointer<addrinfo>?) -> [SocketAddress] {
        var addresses: [SocketAddress] = []
        var cursor = list
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            let family = entry.pointee.ai_family
            let length = Int(entry.pointee.ai_addrlen)
            guard family == AF_INET || family == AF_INET6, let address = entry.pointee.ai_addr,
                length <= MemoryLayout<sockaddr_storage>.size
            else { continue }

            var resolved = SocketAddress()
            withUnsafeMutableBytes(of: &resolved.storage) { destination in
                destination.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length))
            }
            resolved.length = entry.pointee.ai_addrlen
            addresses.append(resolved)
        }
        return addresses
    }

    /// Resolves an endpoint: TCP through `resolve(host:port:)`, Unix paths after a length check.
    static func resolve(_ endpoint: Endpoint) throws(TransportError) -> [SocketAddress] {
        if let addresses = try resolveWithoutLookup(endpoint) {
            return addresses
        }
        guard case .tcp(let host, let port) = endpoint else { return [] }
        return try resolveWithGetaddrinfo(host: unbracketed(host), port: port)
    }

    /// Checks `endpoint` and returns its addresses when they need no name lookup: IPv4 and IPv6
    /// literals, `localhost` and Unix socket paths. Returns nil for a host name, which a
    /// ``NameResolver`` must resolve. Never blocks.
    ///
    /// Throws `.invalidEndpoint` for a port outside 0...65535, an empty host, a NUL byte or a
    /// Unix path that is empty or too long.
    public static func resolveWithoutLookup(_ endpoint: Endpoint) throws(TransportError) -> [SocketAddress]? {
        switch endpoint {
        case .tcp(let host, let port):
            guard (0...65_535).contains(port) else {
                throw TransportError(.invalidEndpoint, "invalid endpoint \(endpoint): port outside 0...65535")
            }
            guard !host.isEmpty else {
                throw TransportError(.invalidEndpoint, "invalid endpoint \(endpoint): the host is empty")
            }
            guard !host.utf8.contains(0) else {
                throw TransportError(
                    .invalidEndpoint, "invalid endpoint \(endpoint): the host contains a NUL byte")
            }
            return resolveWithoutLookup(host: host, port: port)
        case .unix(let path):
            guard !path.isEmpty, path.utf8.count <= Endpoint.maximumUnixPathLength, !path.utf8.contains(0)
            else {
                throw TransportError(
                    .invalidEndpoint,
                    "invalid endpoint \(endpoint): a Unix socket path must be "
                        + "1...\(Endpoint.maximumUnixPathLength) "
                        + "bytes without NUL"
                )
            }
            return [.unix(path: path)]
        }
    }
}

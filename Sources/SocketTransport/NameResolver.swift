/// Turns a host name and port into the socket addresses to try, in order.
///
/// ``system`` calls `getaddrinfo`, which may block while it waits for a name server, so an event
/// loop runs it through a ``ResolverPool``. Tests pass their own lookup, for example one that
/// maps made-up names to 127.0.0.1 after a delay.
public struct NameResolver: Sendable {
    /// Returns the addresses of `host` at `port`, or throws `.resolveFailed` with a message that
    /// names the host.
    public typealias Lookup =
        @Sendable (_ host: String, _ port: Int) throws(TransportError) -> [SocketAddress]

    private let lookup: Lookup

    public init(_ lookup: @escaping Lookup) {
        self.lookup = lookup
    }

    /// Resolves literals and `localhost` without a lookup and every other name with `getaddrinfo`
    /// (SOCK_STREAM, any family), as ``StreamSocket/connect(to:timeout:)`` does.
    public static let system = NameResolver { host, port throws(TransportError) in
        try SocketAddress.resolve(host: host, port: port)
    }

    /// Runs the lookup on the calling thread.
    public func resolve(host: String, port: Int) throws(TransportError) -> [SocketAddress] {
        try lookup(host, port)
    }
}

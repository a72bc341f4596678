import Glibc

extension StreamSocket {
    /// Starts connecting to `endpoint` without waiting, for event loops that serve other sockets
    /// meanwhile.
    ///
    /// Register the returned connect's `fileDescriptor` with a `Poller` for writability, and
    /// call `finishConnect()` when it reports an event. The caller enforces the connect timeout
    /// and calls `timeOut(after:)` when it passes. Addresses are tried in order as `connect`
    /// tries them, and the errors and messages are the ones `connect` throws.
    ///
    /// Throws `.resolveFailed`, `.invalidEndpoint` or `.socketFailed`, and `.connectFailed` when
    /// every address failed at once (a Unix socket with no listener, for example).
    /// NOTE: name resolution runs synchronously. Literals and `localhost` never block, but a DNS
    /// name goes through `getaddrinfo`, which can block the calling thread while it waits for a
    /// name server. Event loops resolve names with a ``ResolverPool`` and call
    /// ``startConnect(to:addresses:)``.
    public static func startConnect(to endpoint: Endpoint) throws(TransportError) -> PendingConnect {
        try startConnect(to: endpoint, addresses: SocketAddress.resolve(endpoint))
    }

    /// Starts connecting to `addresses`, resolved for `endpoint` beforehand (by
    /// ``SocketAddress/resolveWithoutLookup(_:)`` or a ``ResolverPool``), so nothing here waits
    /// for a name server. `endpoint` names the target in messages. Throws as
    /// ``startConnect(to:)`` does, and `.resolveFailed` when `addresses` is empty.
    public static func startConnect(
        to endpoint: Endpoint, addresses: [SocketAddress]
    ) throws(TransportError) -> PendingConnect {
        guard !addresses.isEmpty else {
            throw TransportError(.resolveFailed, "resolve \(endpoint) failed: no address to connect to")
        }
        let pending = PendingConnect(endpoint: endpoint, addresses: addresses)
        try pending.startNextAddress()
        return pending
    }
}

/// A connect started by `StreamSocket.startConnect(to:)` that has not completed yet.
///
/// Owned by one thread at a time. It owns the descriptor of the address being tried until
/// `finishConnect()` hands it to a `StreamSocket`; `cancel()` or deinit closes it.
public final class PendingConnect: @unchecked Sendable {
    public let endpoint: Endpoint
    private let addresses: [SocketAddress]
    private var nextAddressIndex = 0
    private var failures: [(address: SocketAddress, error: TransportError)] = []
    /// Descriptor of the address being tried, or -1 once connected, failed or cancelled.
    private var descriptor: Int32 = -1
    private var address: SocketAddress?
    /// True when `connect` completed at once, so no writability event will be needed.
    private var connectedAtOnce = false

    init(endpoint: Endpoint, addresses: [SocketAddress]) {
        self.endpoint = endpoint
        self.addresses = addresses
    }

    deinit {
        cancel()
    }

    /// The descriptor to register for writability, or -1 once the connect ended. It changes
    /// when a failed address is followed by the next one: the old descriptor is closed (so
    /// epoll drops it) and the new one must be registered again.
    public var fileDescriptor: Int32 { descriptor }

    /// Number of addresses tried so far, the current one included. A change after
    /// `finishConnect()` or `timeOut(after:)` means a new descriptor is being connected, even
    /// when the kernel reused the old descriptor number.
    public var attempt: Int { nextAddressIndex }

    /// Completes the connect if it ended, without blocking.
    ///
    /// Returns the connected socket (TCP_NODELAY and keepalive set, as `connect` sets them),
    /// or nil while the connect is still in progress, which includes the case where this
    /// address failed and the next one is now being tried. Throws the error `connect` would
    /// throw once every address failed: `.connectFailed` with the errno from `SO_ERROR`, for
    /// example "connect to 127.0.0.1:6390 failed: Connection refused (errno 111)". Throws
    /// `.closed` after `cancel()` or after the socket was already returned.
    public func finishConnect() throws(TransportError) -> StreamSocket? {
        guard descriptor >= 0, let address else {
            throw TransportError(.closed, "connect to \(endpoint) failed: the connect already ended")
        }
        let target = StreamSocket.addressDescription(address, endpoint: endpoint)
        do throws(TransportError) {
            if !connectedAtOnce {
                let (revents, pollFailure) = pollDescriptor(
                    descriptor, events: Int16(POLLOUT), timeout: .zero)
                if let pollFailure {
                    throw TransportError.systemCall(
                        .connectFailed, "poll while connecting to \(target)", errno: pollFailure)
                }
                if revents == 0 {
                    return nil
                }
                try StreamSocket.checkConnectResult(descriptor, target: target)
            }
            try StreamSocket.finishSetup(descriptor, address, target: target)
        } catch {
            try failCurrentAddress(error)
            return nil
        }
        let socket = StreamSocket(descriptor: descriptor, endpoint: endpoint)
        descriptor = -1
        self.address = nil
        return socket
    }

    /// Gives up on the address being tried because `timeout` passed, and starts the next one.
    /// Throws the error `connect` would throw when no address is left, `.connectTimedOut` with
    /// "connect to 127.0.0.1:6390 timed out after 10 s" when every address timed out.
    public func timeOut(after timeout: Duration) throws(TransportError) {
        guard descriptor >= 0, let address else {
            throw TransportError(.closed, "connect to \(endpoint) failed: the connect already ended")
        }
        let target = StreamSocket.addressDescription(address, endpoint: endpoint)
        try failCurrentAddress(StreamSocket.connectTimedOut(target: target, after: timeout))
    }

    /// Closes the descriptor being connected. Idempotent.
    public func cancel() {
        if descriptor >= 0 {
            _ = Glibc.close(descriptor)
        }
        descriptor = -1
        address = nil
    }

    /// Records the failure of the current address, closes it and starts the next one.
    private func failCurrentAddress(_ error: TransportError) throws(TransportError) {
        if let address {
            failures.append((address, error))
        }
        cancel()
        try startNextAddress()
    }

    /// Starts `connect` on the next address that does not fail at once; throws the combined
    /// error when none is left.
    func startNextAddress() throws(TransportError) {
        while nextAddressIndex < addresses.count {
            let candidate = addresses[nextAddressIndex]
            nextAddressIndex += 1
            let target = StreamSocket.addressDescription(candidate, endpoint: endpoint)
            let opened: Int32
            do {
                opened = try StreamSocket.openSocket(for: candidate, target: target)
            } catch {
                failures.append((candidate, error))
                continue
            }
            do {
                connectedAtOnce = try StreamSocket.beginConnect(opened, candidate, target: target)
                descriptor = opened
                address = candidate
                return
            } catch {
                Glibc.close(opened)
                failures.append((candidate, error))
            }
        }
        throw StreamSocket.connectError(endpoint, failures: failures)
    }
}

import Glibc
import Synchronization

/// Connected non-blocking stream socket: TCP with TCP_NODELAY and keepalive, or Unix.
///
/// Owned by one thread at a time; it is `@unchecked Sendable` so that it can be handed to an I/O
/// thread. `close()` may be called from any thread and is idempotent, but a `read` or `write`
/// that runs at the same moment on another thread may act on a reused descriptor number, so
/// stop the I/O thread before closing from elsewhere. The descriptor is closed on deinit.
public final class StreamSocket: @unchecked Sendable {
    /// Outcome of a non-blocking read.
    public enum ReadResult: Sendable, Equatable {
        /// This many bytes (at least 1) were stored at the start of the buffer.
        case bytes(Int)
        /// No data is available now (EAGAIN); wait for readability and try again.
        case wouldBlock
        /// The peer closed its side cleanly (recv returned 0). A reset is thrown instead.
        case closed
    }

    /// The endpoint this socket connected to, or the peer's address for an accepted socket.
    public let endpoint: Endpoint
    private let descriptor: Atomic<Int32>

    init(descriptor: Int32, endpoint: Endpoint) {
        self.descriptor = Atomic(descriptor)
        self.endpoint = endpoint
    }

    deinit {
        close()
    }

    /// The descriptor, or -1 after `close()`. Register it with a `Poller`; do not close it.
    public var fileDescriptor: Int32 {
        descriptor.load(ordering: .acquiring)
    }

    public var isClosed: Bool {
        fileDescriptor < 0
    }

    /// Receives up to `buffer.count` bytes with `recv`, retrying EINTR.
    ///
    /// Returns `.bytes(n)`, `.wouldBlock` when nothing is available, or `.closed` when the peer
    /// closed cleanly. An empty buffer returns `.bytes(0)` without a system call. Throws
    /// `.readFailed` with the errno (ECONNRESET for a reset) and `.closed` after `close()`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> ReadResult {
        let socket = try openDescriptor(for: "read from")
        guard buffer.count > 0 else { return .bytes(0) }
        let count = retryingInterrupts { recv(socket, buffer.baseAddress, buffer.count, 0) }
        if count > 0 {
            return .bytes(count)
        }
        if count == 0 {
            return .closed
        }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK {
            return .wouldBlock
        }
        throw TransportError.systemCall(.readFailed, "read from \(endpoint)", errno: code)
    }

    /// Sends bytes with `send(MSG_NOSIGNAL)`, so a closed peer never raises SIGPIPE, retrying
    /// EINTR. Returns the number of bytes written, which may be fewer than `bytes.count`, and 0
    /// when the socket would block (or `bytes` is empty). Throws `.writeFailed` with the errno
    /// (EPIPE, ECONNRESET) and `.closed` after `close()`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) -> Int {
        let socket = try openDescriptor(for: "write to")
        guard bytes.count > 0 else { return 0 }
        let count = retryingInterrupts { send(socket, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        return try writtenCount(count)
    }

    /// Sends the buffers in order with one `sendmsg(MSG_NOSIGNAL)`, so a request made of several
    /// pieces leaves in one system call and, with `TCP_NODELAY`, without a small segment per
    /// piece. Retries EINTR. Returns the number of bytes written, counted across the buffers in
    /// order, which may be fewer than their total, and 0 when the socket would block. Empty
    /// buffers are allowed. Throws as ``write(_:)`` does.
    public func write(gathering buffers: [UnsafeRawBufferPointer]) throws(TransportError) -> Int {
        let socket = try openDescriptor(for: "write to")
        var vectors = [iovec]()
        vectors.reserveCapacity(buffers.count)
        for buffer in buffers where buffer.count > 0 {
            // sendmsg only reads through iov_base. The pointer type is mutable because readv
            // uses the same struct.
            let base = UnsafeMutableRawPointer(mutating: buffer.baseAddress)
            vectors.append(iovec(iov_base: base, iov_len: buffer.count))
        }
        guard !vectors.isEmpty else { return 0 }
        let count = vectors.withUnsafeMutableBufferPointer { vectors in
            var message = msghdr()
            message.msg_iov = vectors.baseAddress
            message.msg_iovlen = vectors.count
            return retryingInterrupts { sendmsg(socket, &message, Int32(MSG_NOSIGNAL)) }
        }
        return try writtenCount(count)
    }

    /// Turns the result of `send` or `sendmsg` into bytes written: 0 for EAGAIN, and
    /// `.writeFailed` with the errno for any other failure.
    @inline(__always)
    private func writtenCount(_ count: Int) throws(TransportError) -> Int {
        if count >= 0 {
            return count
        }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK {
            return 0
        }
        throw TransportError.systemCall(.writeFailed, "write to \(endpoint)", errno: code)
    }

    /// Waits with `poll` until the socket is readable, has hung up or has an error (so the next
    /// `read` reports it). Returns false when `timeout` passes first; nil waits forever.
    public func waitReadable(timeout: Duration?) throws(TransportError) -> Bool {
        try wait(for: Int16(POLLIN), timeout: timeout)
    }

    /// Waits with `poll` until the socket is writable, has hung up or has an error. Returns false
    /// when `timeout` passes first; nil waits forever.
    public func waitWritable(timeout: Duration?) throws(TransportError) -> Bool {
        try wait(for: Int16(POLLOUT), timeout: timeout)
    }

    /// Closes the descriptor. Idempotent; later calls throw `.closed`.
    public func close() {
        let old = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if old >= 0 {
            // close(2) must not be retried on EINTR on Linux: the descriptor is already released.
            _ = Glibc.close(old)
        }
    }

    /// Shuts down the sending side (`shutdown(SHUT_WR)`): the peer reads a clean close while
    /// this side can still read.
    public func shutdownWrite() throws(TransportError) {
        let socket = try openDescriptor(for: "shutdown of")
        guard shutdown(socket, Int32(SHUT_WR)) == 0 else {
            throw TransportError.systemCall(.writeFailed, "shutdown of \(endpoint)", errno: errno)
        }
    }

    /// Closes with SO_LINGER set to 0, so the kernel discards unsent data and sends a TCP RST:
    /// the peer's next read or write fails with ECONNRESET. For fake servers that simulate a
    /// crashed peer. On a Unix socket this is a plain close.
    public func resetAndClose() {
        let socket = fileDescriptor
        if socket >= 0 {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        close()
    }

    func openDescriptor(for operation: String) throws(TransportError) -> Int32 {
        let socket = fileDescriptor
        guard socket >= 0 else {
            throw TransportError(.closed, "\(operation) \(endpoint) failed: the socket is closed")
        }
        return socket
    }

    private func wait(for events: Int16, timeout: Duration?) throws(TransportError) -> Bool {
        let socket = try openDescriptor(for: "poll of")
        let (revents, failure) = pollDescriptor(socket, events: events, timeout: timeout)
        if let failure {
            throw TransportError.systemCall(.pollFailed, "poll of \(endpoint)", errno: failure)
        }
        if revents & Int16(POLLNVAL) != 0 {
            throw TransportError(.closed, "poll of \(endpoint) failed: the descriptor is not open")
        }
        return revents != 0
    }
}

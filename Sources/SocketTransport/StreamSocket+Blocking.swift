import Glibc

extension StreamSocket {
    /// Writes every byte, waiting with `poll` whenever the socket would block. `timeout` bounds
    /// the whole call; nil waits forever. Throws `.timedOut` (stating how many bytes were
    /// written) or the error of `write`.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, timeout: Duration?) throws(TransportError) {
        let deadline = Deadline(timeout: timeout)
        var offset = 0
        while offset < bytes.count {
            let written = try write(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            offset += written
            if written > 0 {
                continue
            }
            let remaining = deadline.remaining
            let writable = remaining == .zero ? false : try waitWritable(timeout: remaining)
            if !writable {
                throw TransportError(
                    .timedOut,
                    "write to \(endpoint) timed out after \(describeDuration(timeout ?? .zero)) "
                        + "with \(offset) of \(bytes.count) bytes written"
                )
            }
        }
    }

    /// Writes every byte of `bytes`; see `writeAll(_:timeout:)` for the raw-buffer form.
    public func writeAll(_ bytes: [UInt8], timeout: Duration?) throws(TransportError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(TransportError) in try writeAll(buffer, timeout: timeout) }
        }.get()
    }

    /// Reads exactly `count` bytes, waiting with `poll` whenever the socket would block. For fake
    /// servers and tests. Throws `.closed` when the peer closes first, `.timedOut` when `timeout`
    /// (for the whole call; nil waits forever) passes, or the error of `read`.
    public func readExactly(_ count: Int, timeout: Duration?) throws(TransportError) -> [UInt8] {
        precondition(count >= 0, "readExactly needs a non-negative count")
        let deadline = Deadline(timeout: timeout)
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let outcome = try result.withUnsafeMutableBytes { buffer in
                Result { () throws(TransportError) in
                    try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
                }
            }.get()
            switch outcome {
            case .bytes(let received):
                offset += received
            case .closed:
                throw TransportError(
                    .closed, "read from \(endpoint) failed: the peer closed after \(offset) of \(count) bytes"
                )
            case .wouldBlock:
                let remaining = deadline.remaining
                let readable = remaining == .zero ? false : try waitReadable(timeout: remaining)
                if !readable {
                    throw TransportError(
                        .timedOut,
                        "read from \(endpoint) timed out after \(describeDuration(timeout ?? .zero)) "
                            + "with \(offset) of \(count) bytes read"
                    )
                }
            }
        }
        return result
    }

    /// Reads whatever is available, up to `maximum` bytes, waiting up to `timeout` for the first
    /// byte. Returns an empty array on timeout and nil when the peer closed cleanly.
    public func readAvailable(maximum: Int, timeout: Duration?) throws(TransportError) -> [UInt8]? {
        precondition(maximum > 0, "readAvailable needs a positive maximum")
        var result = [UInt8](repeating: 0, count: maximum)
        let deadline = Deadline(timeout: timeout)
        while true {
            let outcome = try result.withUnsafeMutableBytes { buffer in
                Result { () throws(TransportError) in try read(into: buffer) }
            }.get()
            switch outcome {
            case .bytes(let received):
                return Array(result[0..<received])
            case .closed:
                return nil
            case .wouldBlock:
                let remaining = deadline.remaining
                let readable = remaining == .zero ? false : try waitReadable(timeout: remaining)
                if !readable {
                    return []
                }
            }
        }
    }
}

import Glibc

/// Blocking probes of a server on 127.0.0.1, used while waiting for it to start. They use raw
/// sockets because TestSupport must not depend on the code under test.
enum LoopbackProbe {
    /// Returns true when a TCP connection to 127.0.0.1:`port` succeeds within `timeout`.
    static func acceptsConnections(port: Int, timeout: Duration = .milliseconds(500)) -> Bool {
        guard let descriptor = connect(port: port, timeout: timeout) else { return false }
        close(descriptor)
        return true
    }

    /// Sends a RESP `PING` and returns true when the reply starts with `+PONG`. A server that is
    /// still loading its data set replies `-LOADING` and counts as not ready.
    static func redisAnswersPing(port: Int, timeout: Duration = .milliseconds(500)) -> Bool {
        guard let descriptor = connect(port: port, timeout: timeout) else { return false }
        defer { close(descriptor) }
        let request = Array("*1\r\n$4\r\nPING\r\n".utf8)
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { return false }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64)
        while reply.count < 7 {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                reply.append(contentsOf: chunk[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return reply.starts(with: Array("+PONG\r\n".utf8))
    }

    /// Connects a blocking socket with SO_SNDTIMEO/SO_RCVTIMEO set to `timeout`, which on Linux
    /// bound `connect`, `send` and `recv`.
    private static func connect(port: Int, timeout: Duration) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        let components = timeout.components
        var limit = timeval(
            tv_sec: Int(components.seconds),
            tv_usec: Int(components.attoseconds / 1_000_000_000_000)
        )
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, size)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, size)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }
}

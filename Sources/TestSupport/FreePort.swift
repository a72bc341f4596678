import Glibc

/// Free TCP ports on 127.0.0.1 for servers started by tests.
public enum FreePort {
    private static let handedOut = Locked<Set<Int>>([])

    /// Binds a socket to 127.0.0.1:0, reads the port the kernel picked, and closes the socket.
    ///
    /// Another process can take the port between this call and the server's own `bind`, so
    /// servers started on it should retry with a new port when the bind fails (RedisServerProcess
    /// does). Ports already returned by this process are skipped.
    public static func allocate() throws -> Int {
        for _ in 0..<20 {
            let port = try bindEphemeralPort()
            let isNew = handedOut.withLock { $0.insert(port).inserted }
            if isNew {
                return port
            }
        }
        throw TestSupportError(.systemCallFailed, "no new free port on 127.0.0.1 after 20 attempts")
    }

    private static func bindEphemeralPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw TestSupportError(
                .systemCallFailed, "socket for a free port failed: \(POSIXFiles.errorText(errno))")
        }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            throw TestSupportError(
                .systemCallFailed, "bind to 127.0.0.1:0 failed: \(POSIXFiles.errorText(errno))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(descriptor, $0, &length)
            }
        }
        guard named == 0 else {
            throw TestSupportError(.systemCallFailed, "getsockname failed: \(POSIXFiles.errorText(errno))")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

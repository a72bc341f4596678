import Glibc

/// A resolved socket address (`sockaddr_in`, `sockaddr_in6` or `sockaddr_un`) ready for
/// `connect` or `bind`. A ``NameResolver`` returns these, and
/// ``StreamSocket/startConnect(to:addresses:)`` connects to them.
public struct SocketAddress: Sendable, CustomStringConvertible {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    var family: Int32 {
        Int32(storage.ss_family)
    }

    /// Text form for messages: "1.2.3.4:80", "[::1]:80" or "unix:/path".
    public var description: String {
        var copy = storage
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: &copy) { raw in
                var address = raw.load(as: sockaddr_in.self)
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
                return "\(decodeNullTerminated(text)):\(UInt16(bigEndian: address.sin_port))"
            }
        case AF_INET6:
            return withUnsafeBytes(of: &copy) { raw in
                var address = raw.load(as: sockaddr_in6.self)
                var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
                return "[\(decodeNullTerminated(text))]:\(UInt16(bigEndian: address.sin6_port))"
            }
        case AF_UNIX:
            return withUnsafeBytes(of: &copy) { raw in
                let pathStart = MemoryLayout<sa_family_t>.size
                let pathEnd = min(max(Int(length), pathStart), raw.count)
                let pathBytes = raw[pathStart..<pathEnd].prefix { $0 != 0 }
                return "unix:\(String(decoding: pathBytes, as: UTF8.self))"
            }
        default:
            return "address family \(family)"
        }
    }

    /// Port in host byte order, or nil for Unix sockets.
    var port: Int? {
        var copy = storage
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: &copy) {
                Int(UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port))
            }
        case AF_INET6:
            return withUnsafeBytes(of: &copy) {
                Int(UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port))
            }
        default:
            return nil
        }
    }

    /// True for 127.0.0.0/8 and ::1.
    var isLoopback: Bool {
        var copy = storage
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: &copy) {
                UInt32(bigEndian: $0.load(as: sockaddr_in.self).sin_addr.s_addr) >> 24 == 127
            }
        case AF_INET6:
            return withUnsafeBytes(of: &copy) { raw in
                let address = raw.load(as: sockaddr_in6.self).sin6_addr
                return withUnsafeBytes(of: address) { bytes in
                    bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
                }
            }
        default:
            return false
        }
    }

    static func ipv4(_ address: in_addr, port: Int) -> SocketAddress {
        var value = sockaddr_in()
        value.sin_family = sa_family_t(AF_INET)
        value.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
        value.sin_addr = address
        return SocketAddress(copying: value)
    }

    static func ipv6(_ address: in6_addr, port: Int) -> SocketAddress {
        var value = sockaddr_in6()
        value.sin6_family = sa_family_t(AF_INET6)
        value.sin6_port = UInt16(truncatingIfNeeded: port).bigEndian
        value.sin6_addr = address
        return SocketAddress(copying: value)
    }

    /// Makes a `sockaddr_un` for `path`. The caller has checked the length against `sun_path`.
    static func unix(path: String) -> SocketAddress {
        var value = sockaddr_un()
        value.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &value.sun_path) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        var address = SocketAddress(copying: value)
        address.length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return address
    }

    init() {}

    init<Address>(copying address: Address) {
        precondition(MemoryLayout<Address>.size <= MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { destination in
            withUnsafeBytes(of: address) { destination.copyMemory(from: $0) }
        }
        length = socklen_t(MemoryLayout<Address>.size)
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

func decodeNullTerminated(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

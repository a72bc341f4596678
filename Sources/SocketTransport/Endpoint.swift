/// Address of a stream server: a TCP host and port, or a Unix domain socket path.
public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// `host` is a name, an IPv4 literal or an IPv6 literal without brackets; `port` is 0...65535.
    case tcp(host: String, port: Int)
    /// Path of a Unix domain socket, at most `Endpoint.maximumUnixPathLength` bytes of UTF-8.
    case unix(path: String)

    /// Longest Unix socket path: `sun_path` is 108 bytes on Linux and needs a terminating NUL.
    public static let maximumUnixPathLength = 107

    /// "host:port", "[v6]:port" for IPv6 literals, or "unix:/path".
    public var description: String {
        switch self {
        case .tcp(let host, let port):
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path):
            "unix:\(path)"
        }
    }

    /// Parses "host:port", "[v6]:port", "unix:/path", "unix:///path" and "/path".
    ///
    /// A host without a port, "[v6]" without a port, or a bare IPv6 literal such as "::1" takes
    /// `defaultPort`, and is rejected when `defaultPort` is nil. Ports must be 1...65535.
    /// Surrounding whitespace is not trimmed.
    public static func parse(_ text: String, defaultPort: Int? = nil) throws(TransportError) -> Endpoint {
        if text.hasPrefix("unix:") {
            var path = String(text.dropFirst("unix:".count))
            if path.hasPrefix("//") {
                path = String(path.dropFirst(2))
            }
            return try unixEndpoint(path: path, text: text)
        }
        if text.hasPrefix("/") {
            return try unixEndpoint(path: text, text: text)
        }
        if text.hasPrefix("[") {
            return try bracketedEndpoint(text, defaultPort: defaultPort)
        }
        let colonCount = text.utf8.count { $0 == UInt8(ascii: ":") }
        if colonCount > 1 {
            guard let defaultPort else {
                throw invalid(
                    text, "an IPv6 address with a port needs brackets, as in [::1]:6379"
                )
            }
            return .tcp(host: text, port: try validatedPort(defaultPort, text: text))
        }
        if colonCount == 1 {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let host = String(parts[0])
            guard !host.isEmpty else {
                throw invalid(text, "the host is empty")
            }
            return .tcp(host: host, port: try parsePort(String(parts[1]), text: text))
        }
        guard !text.isEmpty else {
            throw invalid(text, "the text is empty; expected host:port, [v6]:port or unix:/path")
        }
        guard let defaultPort else {
            throw invalid(text, "the port is missing; expected host:port")
        }
        return .tcp(host: text, port: try validatedPort(defaultPort, text: text))
    }

    private static func bracketedEndpoint(_ text: String, defaultPort: Int?) throws(TransportError)
        -> Endpoint
    {
        guard let close = text.firstIndex(of: "]") else {
            throw invalid(text, "the '[' has no matching ']'")
        }
        let host = String(text[text.index(after: text.startIndex)..<close])
        guard !host.isEmpty else {
            throw invalid(text, "the host between brackets is empty")
        }
        let rest = text[text.index(after: close)...]
        if rest.isEmpty {
            guard let defaultPort else {
                throw invalid(text, "the port is missing; expected [v6]:port")
            }
            return .tcp(host: host, port: try validatedPort(defaultPort, text: text))
        }
        guard rest.hasPrefix(":") else {
            throw invalid(text, "expected ':' after ']'")
        }
        return .tcp(host: host, port: try parsePort(String(rest.dropFirst()), text: text))
    }

    private static func unixEndpoint(path: String, text: String) throws(TransportError) -> Endpoint {
        guard path.hasPrefix("/") else {
            throw invalid(text, "a Unix socket path must be absolute")
        }
        guard path.utf8.count <= maximumUnixPathLength else {
            throw invalid(
                text,
                "the Unix socket path is \(path.utf8.count) bytes, over the limit of \(maximumUnixPathLength)"
            )
        }
        guard !path.utf8.contains(0) else {
            throw invalid(text, "the Unix socket path contains a NUL byte")
        }
        return .unix(path: path)
    }

    private static func parsePort(_ digits: String, text: String) throws(TransportError) -> Int {
        guard !digits.isEmpty else {
            throw invalid(text, "the port is empty")
        }
        guard digits.utf8.count <= 5,
            digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let port = Int(digits)
        else {
            throw invalid(text, "the port '\(digits)' is not a number in 1...65535")
        }
        return try validatedPort(port, text: text)
    }

    private static func validatedPort(_ port: Int, text: String) throws(TransportError) -> Int {
        guard (1...65_535).contains(port) else {
            throw invalid(text, "the port \(port) is outside 1...65535")
        }
        return port
    }

    private static func invalid(_ text: String, _ reason: String) -> TransportError {
        TransportError(.invalidEndpoint, "invalid endpoint '\(text)': \(reason)")
    }
}

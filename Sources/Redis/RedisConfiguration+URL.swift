import SocketTransport

extension RedisConfiguration {
    /// Parses `redis://[user[:password]@]host[:port][/db]` or `unix:///path/to/socket`.
    ///
    /// The host may be a name, an IPv4 address or a bracketed IPv6 address; the port defaults to
    /// 6379 and must be in 1...65535. An IPv6 address without brackets is rejected, because in
    /// `::1:6379` the port cannot be distinguished from the address. User, password and socket path are
    /// percent-decoded, so `%40` stands for `@` and `%3A` for `:`. `redis://:password@host` sets
    /// only a password. TLS (`rediss://`) is not supported and is rejected.
    public init(url: String) throws(RedisError) {
        if url.hasPrefix("unix://") {
            let path = String(url.dropFirst("unix://".count))
            guard path.hasPrefix("/"), path.count > 1 else {
                throw Self.urlError(
                    url, "a unix URL needs an absolute socket path, as in unix:///run/redis.sock")
            }
            let decoded = try Self.percentDecode(path, url: url)
            // The transport checks the length limit of sun_path and rejects a NUL from "%00".
            do {
                self.init(endpoint: try Endpoint.parse("unix:" + decoded))
            } catch {
                throw Self.urlError(url, "the socket path is invalid: \(error)")
            }
            return
        }
        if url.hasPrefix("rediss://") {
            throw Self.urlError(
                url, "rediss:// (TLS) is not supported by this client; use redis:// to a server "
                    + "or TLS proxy that accepts plain connections")
        }
        guard url.hasPrefix("redis://") else {
            throw Self.urlError(url, "the scheme must be redis:// or unix://")
        }
        var rest = Substring(url.dropFirst("redis://".count))

        var username: String?
        var password: String?
        // Delimiters are searched and stepped over as UTF-8 bytes. A Character search misses
        // an "@" or ":" followed by a combining mark, which would leave the password in the host
        // text, and stepping over a Character would drop that mark.
        if let at = rest.utf8.lastIndex(of: UInt8(ascii: "@")) {
            let credentials = rest[..<at]
            rest = rest[rest.utf8.index(after: at)...]
            if let colon = credentials.utf8.firstIndex(of: UInt8(ascii: ":")) {
                let user = credentials[..<colon]
                let secret = credentials[credentials.utf8.index(after: colon)...]
                username = user.isEmpty ? nil : try Self.percentDecode(user, url: url)
                // An empty password is no password, as redis-py reads `redis://:@host`.
                password = secret.isEmpty ? nil : try Self.percentDecode(secret, url: url)
            } else if !credentials.isEmpty {
                // A single credential is the password, as redis-cli -u and redis-py read it.
                password = try Self.percentDecode(credentials, url: url)
            }
        }

        var database: Int?
        if let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/")) {
            let text = rest[rest.utf8.index(after: slash)...]
            rest = rest[..<slash]
            if !text.isEmpty {
                guard let number = Int(text), number >= 0 else {
                    throw Self.urlError(url, "database \"\(text)\" is not a non-negative integer")
                }
                database = number
            }
        }

        guard !rest.isEmpty else {
            throw Self.urlError(url, "the host is missing")
        }
        let colonCount = rest.utf8.count { $0 == UInt8(ascii: ":") }
        if !rest.hasPrefix("["), colonCount > 1 {
            throw Self.urlError(
                url,
                "the host part \"\(rest)\" is an IPv6 address without brackets, so its port is "
                    + "ambiguous; write the address in brackets, as in [::1]:6379")
        }
        let endpoint: Endpoint
        do {
            endpoint = try Endpoint.parse(String(rest), defaultPort: 6379)
        } catch {
            throw Self.urlError(url, "host and port are invalid: \(error)")
        }
        guard case .tcp = endpoint else {
            throw Self.urlError(url, "use unix:///path for a Unix socket")
        }
        self.init(endpoint: endpoint)
        self.username = username
        self.password = password
        self.database = database
    }

    /// Returns the URL with any password replaced by `***`, for messages. Any scheme is
    /// redacted, so a rejected one such as `rediss://` does not show its password either.
    private static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.utf8.firstRange(of: "://".utf8)?.upperBound,
            let at = url.utf8.lastIndex(of: UInt8(ascii: "@")), at >= schemeEnd
        else { return url }
        let scheme = url[..<schemeEnd]
        let credentials = url[schemeEnd..<at]
        if let colon = credentials.utf8.firstIndex(of: UInt8(ascii: ":")) {
            return scheme + credentials[..<colon] + ":***" + url[at...]
        }
        return scheme + "***" + url[at...]
    }

    private static func urlError(_ url: String, _ reason: String) -> RedisError {
        // The description adds "Redis invalid URL: ", so the message is the URL and the reason.
        RedisError(.invalidURL, "\(redacted(url)): \(reason)")
    }

    private static func percentDecode<S: StringProtocol>(_ text: S, url: String) throws(RedisError) -> String
    {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue)
            else {
                throw urlError(url, "a % in the user, password or path is not followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        // Decoding with replacement would turn invalid bytes into U+FFFD and send another password.
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw urlError(url, "the percent-decoded user, password or path is not valid UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

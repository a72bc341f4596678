import Redis
import SocketTransport
import Testing

/// URL edge cases: what each rejects, what its error names, and that no error shows the password.
@Suite("Redis URL edge cases")
struct RedisURLEdgeCaseTests {
    static let secret = "hunter2secret"

    /// Parses `url`, expecting an invalid-URL error, and returns its message ("" when accepted).
    private func rejectionMessage(_ url: String) -> String {
        do {
            let configuration = try RedisConfiguration(url: url)
            Issue.record("accepted \(url) as \(configuration)")
            return ""
        } catch {
            #expect(error.code == .invalidURL, "\(url): \(error)")
            #expect(!error.description.contains(Self.secret), "\(url): \(error)")
            return error.message
        }
    }

    @Test("bare IPv6 with port rejected")
    func bareIPv6WithPort() {
        let message = rejectionMessage("redis://user:\(Self.secret)@::1:6379")
        #expect(message.contains("\"::1:6379\""), "\(message)")
        #expect(message.contains("[::1]:6379"), "\(message)")
        #expect(message.contains("brackets"), "\(message)")
    }

    @Test("bare IPv6 without port rejected")
    func bareIPv6WithoutPort() {
        let message = rejectionMessage("redis://::1")
        #expect(message.contains("\"::1\""), "\(message)")
        #expect(message.contains("[::1]:6379"), "\(message)")
    }

    @Test("bracketed IPv6 with credentials parses")
    func bracketedIPv6() throws {
        let configuration = try RedisConfiguration(url: "redis://user:\(Self.secret)@[::1]:6379")
        #expect(configuration.endpoint == .tcp(host: "::1", port: 6379))
        #expect(configuration.username == "user")
        #expect(configuration.password == Self.secret)
        let defaultPort = try RedisConfiguration(url: "redis://[::1]")
        #expect(defaultPort.endpoint == .tcp(host: "::1", port: 6379))
    }

    @Test("empty host rejected", arguments: [
        "redis://", "redis://user:\(secret)@", "redis://:6379", "redis://user:\(secret)@:6379",
        "redis://[]:6379", "redis:///0",
    ])
    func emptyHost(url: String) {
        let message = rejectionMessage(url)
        #expect(message.contains("host"), "\(message)")
    }

    @Test("port out of range rejected", arguments: ["0", "65536", "-1", "6379x", ""])
    func portOutOfRange(port: String) {
        let message = rejectionMessage("redis://:\(Self.secret)@127.0.0.1:\(port)")
        #expect(message.contains("port"), "\(message)")
    }

    @Test("port bounds accepted")
    func portBounds() throws {
        #expect(try RedisConfiguration(url: "redis://127.0.0.1:1").endpoint == .tcp(host: "127.0.0.1", port: 1))
        #expect(
            try RedisConfiguration(url: "redis://127.0.0.1:65535").endpoint
                == .tcp(host: "127.0.0.1", port: 65_535))
    }

    @Test("percent-encoded credentials decoded")
    func percentEncodedCredentials() throws {
        let configuration = try RedisConfiguration(url: "redis://a%20user:p%2Fw%3Ad%40%25@127.0.0.1")
        #expect(configuration.username == "a user")
        #expect(configuration.password == "p/w:d@%")
        let unencodedAt = try RedisConfiguration(url: "redis://user:p@ss@127.0.0.1")
        #expect(unencodedAt.password == "p@ss")
        #expect(unencodedAt.endpoint == .tcp(host: "127.0.0.1", port: 6379))
    }

    @Test("bad percent-encoding hides password")
    func badPercentEncoding() {
        let message = rejectionMessage("redis://user:\(Self.secret)%G1@127.0.0.1")
        #expect(message.contains("two hex digits"), "\(message)")
        #expect(message.contains("***"), "\(message)")
    }

    @Test("rediss rejected as unsupported TLS")
    func tlsRejected() {
        let message = rejectionMessage("rediss://user:\(Self.secret)@127.0.0.1:6380")
        #expect(message.contains("TLS"), "\(message)")
        #expect(message.contains("not supported"), "\(message)")
    }

    @Test("unix socket URLs")
    func unixSocketURLs() throws {
        let plain = try RedisConfiguration(url: "unix:///run/redis/redis.sock")
        #expect(plain.endpoint == .unix(path: "/run/redis/redis.sock"))
        let tooLong = rejectionMessage("unix:///" + String(repeating: "a", count: 200))
        #expect(tooLong.contains("limit of 107"), "\(tooLong)")
        let nul = rejectionMessage("unix:///tmp/a%00b.sock")
        #expect(nul.contains("NUL"), "\(nul)")
        let relative = rejectionMessage("unix://run/redis.sock")
        #expect(relative.contains("absolute"), "\(relative)")
    }
}

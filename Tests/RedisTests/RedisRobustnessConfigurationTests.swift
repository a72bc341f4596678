import Redis
import Testing

/// Hostile URLs: each either parses or throws an invalid-URL error, and the password never
/// appears in an error message or in `description`.
@Suite("Redis URL robustness")
struct RedisRobustnessConfigurationTests {
    static let secret = "hunter2secret"

    static let hostileURLs: [String] = [
        "redis://:@",
        "redis://:@127.0.0.1",
        "redis://:\(secret)@",
        "redis://:\(secret)@127.0.0.1:65536",
        "redis://:\(secret)@127.0.0.1:-1",
        "redis://:\(secret)@127.0.0.1:99999999999999999999999",
        "redis://:\(secret)@127.0.0.1:0x10",
        "redis://user:\(secret)%zz@127.0.0.1",
        "redis://user:\(secret)%4@127.0.0.1",
        "redis://user:\(secret)%@127.0.0.1",
        "redis://user:\(secret)@127.0.0.1\u{0}:6379",
        "redis://user:\(secret)@[::1",
        "redis://user:\(secret)@[::1]x",
        "redis://user:\(secret)@[::1]:70000",
        "redis://user:\(secret)@::1:6379",
        "redis://user:\(secret)@127.0.0.1/-1",
        "redis://user:\(secret)@127.0.0.1/zero",
        "redis://:\(secret)@\u{0301}127.0.0.1:6379",
        "redis://:\(secret)@\u{0301}",
        "redis://:\(secret)\u{0}@127.0.0.1",
        "rediss://:\(secret)@127.0.0.1",
        "redis://user:\(secret)@@",
    ]

    @Test("password absent from errors", arguments: hostileURLs)
    func passwordNeverShown(url: String) {
        do {
            let configuration = try RedisConfiguration(url: url)
            #expect(!configuration.description.contains(Self.secret), "\(configuration)")
        } catch {
            #expect(!error.description.contains(Self.secret), "\(error)")
            #expect(!error.message.contains(Self.secret), "\(error.message)")
        }
    }

    @Test("invalid UTF-8 password rejected")
    func invalidUTF8Password() {
        // %FF decodes to a byte that is not UTF-8; replacing it with U+FFFD would send another password.
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://:ab%FFcd@127.0.0.1") }
    }

    @Test("bracketed IPv6 host parses")
    func ipv6Host() throws {
        let configuration = try RedisConfiguration(url: "redis://:\(Self.secret)@[::1]:6380/2")
        #expect(configuration.endpoint == .tcp(host: "::1", port: 6380))
        #expect(configuration.password == Self.secret)
        #expect(configuration.database == 2)
        #expect(!configuration.description.contains(Self.secret))
    }

    @Test("empty password means no AUTH")
    func emptyPassword() throws {
        // As redis-py 8 reads these URLs: an empty password is no password, so no AUTH is sent.
        let anonymous = try RedisConfiguration(url: "redis://:@127.0.0.1")
        #expect(anonymous.password == nil)
        #expect(anonymous.username == nil)
        let userOnly = try RedisConfiguration(url: "redis://user:@127.0.0.1")
        #expect(userOnly.password == nil)
        #expect(userOnly.username == "user")
    }

    @Test("combining mark after delimiter kept")
    func combiningMarkAfterDelimiter() throws {
        // "\u{301}" combines with the ":" before it into one Character; the password keeps it.
        let raw = try RedisConfiguration(url: "redis://:\u{301}pw@127.0.0.1")
        #expect(raw.password == "\u{301}pw")
        let escaped = try RedisConfiguration(url: "redis://:%CC%81pw@127.0.0.1")
        #expect(escaped.password == "\u{301}pw")
    }
}

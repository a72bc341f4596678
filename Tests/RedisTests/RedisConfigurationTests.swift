@testable import Redis
import SocketTransport
import Testing

@Suite("Redis configuration")
struct RedisConfigurationTests {
    @Test("URL with user, password, port and database")
    func fullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://app:s3cret@127.0.0.1:7000/2")
        #expect(configuration.endpoint == .tcp(host: "127.0.0.1", port: 7000))
        #expect(configuration.username == "app")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == 2)
    }

    @Test("URL defaults and password only")
    func defaults() throws {
        let plain = try RedisConfiguration(url: "redis://localhost")
        #expect(plain.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(plain.username == nil)
        #expect(plain.password == nil)
        #expect(plain.database == nil)
        let passwordOnly = try RedisConfiguration(url: "redis://:pw@127.0.0.1:1234")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "pw")
        let bare = try RedisConfiguration(url: "redis://pw@127.0.0.1:1234/")
        #expect(bare.password == "pw")
        #expect(bare.database == nil)
    }

    @Test("URL IPv6 host and unix socket")
    func ipv6AndUnix() throws {
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6390")
        #expect(ipv6.endpoint == .tcp(host: "::1", port: 6390))
        let unix = try RedisConfiguration(url: "unix:///tmp/redis%20test.sock")
        #expect(unix.endpoint == .unix(path: "/tmp/redis test.sock"))
    }

    @Test("URL credentials percent-decoded")
    func percentDecoding() throws {
        let configuration = try RedisConfiguration(url: "redis://us%40er:p%3Aw%40rd%25@127.0.0.1:1/0")
        #expect(configuration.username == "us@er")
        #expect(configuration.password == "p:w@rd%")
        #expect(configuration.database == 0)
    }

    @Test("invalid URLs rejected without the password")
    func invalidURLs() {
        let cases = [
            "http://host", "rediss://host", "redis://", "redis://host:notaport", "redis://host/x",
            "redis://host/-1", "unix://relative", "redis://u:p%zz@host", "redis://u:hunter2@host:99999999",
        ]
        for url in cases {
            do {
                _ = try RedisConfiguration(url: url)
                Issue.record("accepted \(url)")
            } catch {
                #expect(error.code == .invalidURL, "\(url)")
                #expect(!error.description.contains("hunter2"), "\(url): \(error)")
            }
        }
    }

    @Test("description hides password")
    func descriptionHidesPassword() throws {
        let configuration = try RedisConfiguration(url: "redis://app:hunter2@127.0.0.1:7000")
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description.contains("***"))
        #expect(configuration.description.contains("app"))
    }

    @Test("handshake order AUTH, SELECT, CLIENT SETNAME")
    func handshakeOrder() throws {
        var configuration = try RedisConfiguration(url: "redis://app:pw@127.0.0.1:1/3")
        configuration.clientName = "dualstream"
        let commands = configuration.handshakeCommands(includeSelect: true)
        #expect(
            commands == [
                [bytes("AUTH"), bytes("app"), bytes("pw")], [bytes("SELECT"), bytes("3")],
                [bytes("CLIENT"), bytes("SETNAME"), bytes("dualstream")],
            ])
        #expect(configuration.handshakeCommands(includeSelect: false).count == 2)
    }
}

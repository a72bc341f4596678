import SocketTransport
import Testing

extension TransportSuite {
    @Suite struct EndpointTests {
        @Test(arguments: [
            ("127.0.0.1:6379", Endpoint.tcp(host: "127.0.0.1", port: 6379)),
            ("localhost:9092", .tcp(host: "localhost", port: 9092)),
            ("broker-1.example.com:1", .tcp(host: "broker-1.example.com", port: 1)),
            ("[::1]:6379", .tcp(host: "::1", port: 6379)),
            ("[fe80::1%eth0]:65535", .tcp(host: "fe80::1%eth0", port: 65535)),
            ("unix:/tmp/redis.sock", .unix(path: "/tmp/redis.sock")),
            ("unix:///tmp/redis.sock", .unix(path: "/tmp/redis.sock")),
            ("/var/run/redis.sock", .unix(path: "/var/run/redis.sock")),
        ])
        func parseValid(text: String, expected: Endpoint) throws {
            #expect(try Endpoint.parse(text) == expected)
        }

        @Test(arguments: [
            ("localhost", Endpoint.tcp(host: "localhost", port: 6379)),
            ("[::1]", .tcp(host: "::1", port: 6379)),
            ("::1", .tcp(host: "::1", port: 6379)),
            ("127.0.0.1:7000", .tcp(host: "127.0.0.1", port: 7000)),
        ])
        func parseWithDefaultPort(text: String, expected: Endpoint) throws {
            #expect(try Endpoint.parse(text, defaultPort: 6379) == expected)
        }

        @Test(arguments: [
            ("", "the text is empty"),
            ("localhost", "the port is missing"),
            (":6379", "the host is empty"),
            ("host:", "the port is empty"),
            ("host:0", "outside 1...65535"),
            ("host:65536", "outside 1...65535"),
            ("host:12a", "is not a number"),
            ("host:+80", "is not a number"),
            ("host:0000080", "is not a number"),
            ("::1", "needs brackets"),
            ("[::1", "no matching ']'"),
            ("[]:80", "between brackets is empty"),
            ("[::1]80", "expected ':' after ']'"),
            ("[::1]", "the port is missing"),
            ("unix:relative.sock", "must be absolute"),
            ("unix:", "must be absolute"),
        ])
        func parseInvalid(text: String, reason: String) {
            let error = #expect(throws: TransportError.self) { try Endpoint.parse(text) }
            #expect(error?.code == .invalidEndpoint)
            #expect(error?.description.contains("'\(text)'") == true)
            #expect(error?.description.contains(reason) == true, "\(error?.description ?? "no error")")
        }

        @Test func unixPathLengthLimit() throws {
            let longest = "/" + String(repeating: "a", count: Endpoint.maximumUnixPathLength - 1)
            #expect(try Endpoint.parse(longest) == .unix(path: longest))
            let error = #expect(throws: TransportError.self) { try Endpoint.parse(longest + "a") }
            #expect(error?.description.contains("108 bytes, over the limit of 107") == true)
        }

        @Test func descriptionFormats() {
            #expect(Endpoint.tcp(host: "127.0.0.1", port: 6390).description == "127.0.0.1:6390")
            #expect(Endpoint.tcp(host: "::1", port: 9092).description == "[::1]:9092")
            #expect(Endpoint.unix(path: "/tmp/s").description == "unix:/tmp/s")
        }

        @Test func descriptionRoundTrips() throws {
            let endpoints: [Endpoint] = [
                .tcp(host: "10.0.0.1", port: 80), .tcp(host: "2001:db8::1", port: 443),
                .unix(path: "/run/x.sock"),
            ]
            for endpoint in endpoints {
                #expect(try Endpoint.parse(endpoint.description) == endpoint)
            }
        }
    }
}

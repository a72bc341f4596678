import SocketTransport
import TestSupport
import Testing

extension TransportSuite {
    /// `Endpoint.parse` on text that a configuration file or command line could carry by mistake or
    /// by malice: it must return an endpoint or throw `.invalidEndpoint`, never trap.
    @Suite struct EndpointHostileInputTests {
        /// A combining mark after the colon merges with it into one `Character`, so splitting the
        /// text by `Character` finds no ":" although the UTF-8 bytes contain one.
        @Test(arguments: [
            "host:\u{301}80",
            "host:\u{301}",
            "127.0.0.1:\u{20DD}9092",
            "unix:\u{301}/tmp/x.sock",
        ])
        func combiningMarkAfterColonThrows(text: String) {
            let error = #expect(throws: TransportError.self) { try Endpoint.parse(text) }
            #expect(error?.code == .invalidEndpoint)
            #expect(error?.description.contains("is not a number") == true, "\(error?.description ?? "")")
        }

        @Test(arguments: ["127.0.0.1\u{0}.example.com:80", "a\u{0}:80", "[::1\u{0}]:80", "\u{0}"])
        func nulInHostIsRejected(text: String) {
            let error = #expect(throws: TransportError.self) { try Endpoint.parse(text, defaultPort: 80) }
            #expect(error?.code == .invalidEndpoint)
            #expect(error?.description.contains("NUL") == true, "\(error?.description ?? "")")
        }

        @Test func nulInHostIsRejectedOnConnect() {
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .tcp(host: "127.0.0.1\u{0}x", port: 1), timeout: .seconds(1))
            }
            #expect(error?.code == .invalidEndpoint)
        }

        @Test(arguments: [
            "host:99999999999999999999999",
            "host:-1",
            "host: 80",
            "host:80 ",
            "host:８０",
            "host:٨٠",
            "[::1]:99999",
            "[::1]:\u{301}80",
            "[[::1]]:80",
            "[::1]]:80",
            "]:80",
            "unix:",
            "unix://",
            "::",
            ":",
            "[",
            "]",
        ])
        func malformedTextThrowsOrParses(text: String) {
            do {
                _ = try Endpoint.parse(text)
            } catch {
                #expect(error.code == .invalidEndpoint, "\(error)")
                #expect(error.description.contains("invalid endpoint"), "\(error)")
            }
        }

        @Test func longHostParsesAndFailsToResolveCleanly() {
            let host = String(repeating: "a", count: 100_000)
            #expect((try? Endpoint.parse("\(host):80")) == .tcp(host: host, port: 80))
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .tcp(host: host, port: 80), timeout: .seconds(1))
            }
            #expect(error?.code == .resolveFailed)
        }

        @Test func manyColonsAndBracketsDoNotTrap() {
            var generator = SplitMix64(seed: 7)
            let alphabet: [String] = ["[", "]", ":", "/", "unix:", "1", "a", "\u{0}", "\u{301}", "%", " ", "é"]
            for _ in 0..<5_000 {
                let length = Int.random(in: 0...12, using: &generator)
                let text = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }.joined()
                do {
                    _ = try Endpoint.parse(text, defaultPort: Bool.random(using: &generator) ? 80 : nil)
                } catch {
                    #expect(error.code == .invalidEndpoint, "\(text.debugDescription): \(error)")
                }
            }
        }
    }
}

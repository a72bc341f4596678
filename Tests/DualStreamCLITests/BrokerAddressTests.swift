import Foundation
import TestSupport
import Testing

/// `--brokers` entries that are not HOST:PORT: exit status 2 and a message that names the
/// expected HOST:PORT form.
@Suite struct BrokerAddressTests {
    @Test(arguments: ["tcp://127.0.0.1:9092", "http://127.0.0.1:9092", "127.0.0.1:1,kafka://127.0.0.1:9092"])
    func schemeIsRejected(brokers: String) throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", brokers, "--no-redis", "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("is not allowed; write HOST:PORT"), "\(output)")
        #expect(output.contains("\"127.0.0.1:9092\""), "\(output)")
        #expect(!output.contains("IPv6"), "\(output)")
        #expect(!output.contains("6379"), "\(output)")
    }

    @Test func bareIPv6ShowsKafkaPort() throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", "::1:9092", "--no-redis", "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("needs brackets, as in [::1]:9092"), "\(output)")
        #expect(!output.contains("6379"), "\(output)")
    }

    @Test(arguments: [("127.0.0.1:1,", 2), (",127.0.0.1:1", 1), ("127.0.0.1:1,,127.0.0.1:2", 2), (" ", 1)])
    func emptyEntryIsRejected(brokers: String, entry: Int) throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", brokers, "--no-redis", "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("invalid --brokers \(brokers.debugDescription)"), "\(output)")
        #expect(output.contains("entry \(entry) is empty"), "\(output)")
    }
}

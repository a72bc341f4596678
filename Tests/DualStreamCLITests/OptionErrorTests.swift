import Foundation
import TestSupport
import Testing

/// Invalid options and settings: exit status 2 and a message that names the value and the option.
@Suite struct OptionErrorTests {
    @Test(arguments: ["127.0.0.1:abc", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:1,127.0.0.1:70000"])
    func malformedBrokerIsUsageError(brokers: String) throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", brokers, "--no-redis", "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("--brokers"), "\(output)")
        #expect(output.contains("DUALSTREAM_BROKERS"), "\(output)")
        #expect(!output.contains("cannot start publishing"), "\(output)")
        let invalidBroker = brokers.split(separator: ",").last.map(String.init) ?? brokers
        #expect(output.contains("\"\(invalidBroker)\""), "the message does not name \(invalidBroker): \(output)")
    }

    @Test func malformedBrokerFromEnvironment() throws {
        let (termination, output) = try ChildProcess.run(
            executable: try CLIHarness.binary(), arguments: ["publish", "--no-redis", "/dev/null"],
            environment: ["DUALSTREAM_BROKERS": "localhost:port"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("\"localhost:port\""), "\(output)")
    }
}

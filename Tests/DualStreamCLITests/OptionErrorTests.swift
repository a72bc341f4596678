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
        #expect(
            output.contains("\"\(invalidBroker)\""), "the message does not name \(invalidBroker): \(output)")
    }

    @Test func malformedBrokerFromEnvironment() throws {
        let (termination, output) = try ChildProcess.run(
            executable: try CLIHarness.binary(), arguments: ["publish", "--no-redis", "/dev/null"],
            environment: ["DUALSTREAM_BROKERS": "localhost:port"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("\"localhost:port\""), "\(output)")
    }

    @Test func invalidRedisURLSaysItOnce() throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", "127.0.0.1:1", "--redis-url", "http://127.0.0.1:1", "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("http://127.0.0.1:1"), "\(output)")
        #expect(output.contains("--redis-url"), "\(output)")
        #expect(output.components(separatedBy: "http://127.0.0.1:1").count == 2, "URL repeated: \(output)")
        #expect(output.components(separatedBy: "nvalid").count == 2, "invalid repeated: \(output)")
    }

    @Test func subscribeToClosedPortSaysItOnce() throws {
        let port = try FreePort.allocate()
        let (termination, output) = try CLIHarness.run(
            ["subscribe", "--redis-url", "redis://127.0.0.1:\(port)", "--timeout", "5", "events:*"],
            timeout: .seconds(60))
        #expect(termination == .exited(1), "\(output)")
        let failure = "connect to 127.0.0.1:\(port) failed"
        #expect(output.contains(failure), "\(output)")
        #expect(output.components(separatedBy: failure).count == 2, "failure repeated: \(output)")
        let endpoint = "127.0.0.1:\(port)"
        #expect(output.components(separatedBy: endpoint).count == 2, "endpoint repeated: \(output)")
    }

    @Test func unknownOptionPointsToCommandHelp() throws {
        let (termination, output) = try CLIHarness.run(["publish", "--bogus"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("unknown option --bogus; see dualstream help publish"), "\(output)")
    }
}

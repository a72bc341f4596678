import Foundation
import TestSupport
import Testing

/// Help text, unknown commands and option warnings of `dualstream`.
@Suite struct CommandLineTests {
    @Test func helpForUnknownCommandIsUsageError() throws {
        let (termination, output) = try CLIHarness.run(["help", "nosuch"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("unknown command \"nosuch\""), "\(output)")
        #expect(!output.contains("Usage:"), "\(output)")
    }

    @Test func unknownCommandIsUsageError() throws {
        let (termination, output) = try CLIHarness.run(["nosuch"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("unknown command \"nosuch\""), "\(output)")
    }

    @Test func helpNamesBatchSizeUnit() throws {
        let (termination, output) = try CLIHarness.run(["help", "publish"])
        #expect(termination == .exited(0), "\(output)")
        #expect(output.contains("--batch-size N            events per Kafka batch"), "\(output)")
    }

    @Test func bufferMemoryErrorNamesUnit() throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--brokers", "127.0.0.1:1", "--no-redis", "--buffer-memory", "5000", "/dev/null"])
        #expect(termination == .exited(2), "\(output)")
        #expect(output.contains("expected an integer from 1 to 4096 (MiB)"), "\(output)")
    }

    @Test func maxBlockAboveDeliveryTimeoutWarns() throws {
        let (termination, output) = try CLIHarness.run(
            [
                "publish", "--dry-run", "--max-block", "30", "--delivery-timeout", "10", "/dev/null",
            ])
        #expect(termination == .exited(0), "\(output)")
        #expect(
            output.contains("warning: --max-block 30 is above --delivery-timeout 10; events wait at most 10 s"),
            "\(output)")
        #expect(output.components(separatedBy: "warning:").count == 2, "\(output)")
    }

    @Test func maxBlockWithinDeliveryTimeoutIsQuiet() throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--dry-run", "--max-block", "10", "--delivery-timeout", "10", "/dev/null"])
        #expect(termination == .exited(0), "\(output)")
        #expect(!output.contains("warning"), "\(output)")
    }

    @Test func defaultMaxBlockIsLoweredQuietly() throws {
        let (termination, output) = try CLIHarness.run(
            ["publish", "--dry-run", "--delivery-timeout", "10", "/dev/null"])
        #expect(termination == .exited(0), "\(output)")
        #expect(!output.contains("warning"), "\(output)")
    }
}

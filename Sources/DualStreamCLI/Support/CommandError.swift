/// A failure that ends the command with a message on standard error and an exit status.
struct CommandError: Error, CustomStringConvertible {
    let message: String
    let exitStatus: Int32

    var description: String { message }

    /// Invalid arguments or settings: exit status 2.
    static func usage(_ message: String) -> CommandError {
        CommandError(message: message, exitStatus: ExitStatus.usage)
    }

    /// A failure at run time: exit status 1.
    static func failure(_ message: String) -> CommandError {
        CommandError(message: message, exitStatus: ExitStatus.notAcknowledged)
    }
}

/// Exit statuses of `dualstream`.
enum ExitStatus {
    static let success: Int32 = 0
    /// Some events were not acknowledged by Kafka, or the command failed at run time.
    static let notAcknowledged: Int32 = 1
    /// Invalid arguments, settings or an input file that cannot be opened.
    static let usage: Int32 = 2
    /// `--on-invalid stop` stopped at an invalid line.
    static let stoppedAtInvalidLine: Int32 = 3
}

import Glibc

/// Unbuffered writes to standard output and standard error with `write(2)`, so every line
/// reaches a pipe at once and no output waits in a buffer of this process when it is killed.
enum Output {
    static func line(_ text: String) {
        write(STDOUT_FILENO, text + "\n")
    }

    static func lineBytes(_ bytes: [UInt8]) {
        var output = bytes
        output.append(UInt8(ascii: "\n"))
        write(STDOUT_FILENO, output)
    }

    static func error(_ text: String) {
        write(STDERR_FILENO, text + "\n")
    }

    /// Whether standard error is a terminal, where progress lines are shown.
    static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    static func write(_ descriptor: Int32, _ text: String) {
        write(descriptor, Array(text.utf8))
    }

    /// Loops over partial writes and retries `EINTR`; other errors (a closed pipe) end the write.
    static func write(_ descriptor: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

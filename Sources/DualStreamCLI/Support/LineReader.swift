import Glibc

/// Reads a file descriptor line by line with `read(2)`, keeping each line's bytes exactly.
///
/// A line ends at `\n`, which is not part of it. A `\r` before the `\n` is removed too, so files
/// with CRLF line ends publish the same values as LF files. The last line needs no `\n`.
final class LineReader {
    /// Lines longer than this are reported as ``Line/tooLong`` and skipped to the next `\n`.
    static let maxLineBytes = 16 * 1024 * 1024

    enum Line {
        case bytes([UInt8])
        case tooLong(Int)
    }

    let name: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var endOfFile = false
    private var discarding = false
    private var discarded = 0

    /// Opens `path`; `-` reads standard input.
    init(path: String) throws(CommandError) {
        if path == "-" {
            name = "standard input"
            descriptor = STDIN_FILENO
            ownsDescriptor = false
            return
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CommandError.usage(
                "cannot open \(path): \(String(cString: strerror(errno))) (errno \(errno))")
        }
        self.name = path
        self.descriptor = descriptor
        self.ownsDescriptor = true
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// Whether the input is a regular file, which ends, unlike a pipe or a terminal that may wait
    /// for a writer.
    var isRegularFile: Bool {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return false }
        return status.st_mode & S_IFMT == S_IFREG
    }

    /// Whether `next()` can return without waiting: a whole line is buffered, the input ended,
    /// or `poll(2)` reports the descriptor readable. Regular files are always readable.
    var hasInputReady: Bool {
        if endOfFile || buffer[start...].contains(UInt8(ascii: "\n")) { return true }
        var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let result = poll(&descriptorPoll, 1, 0)
            if result < 0 && errno == EINTR { continue }
            return result != 0
        }
    }

    /// The next line, or `nil` at the end of the input.
    func next() throws(CommandError) -> Line? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let lineStart = start
                start = newline + 1
                if discarding {
                    discarding = false
                    let length = discarded + (newline - lineStart)
                    discarded = 0
                    return .tooLong(length)
                }
                var end = newline
                if end > lineStart && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                return .bytes(Array(buffer[lineStart..<end]))
            }
            if endOfFile {
                guard start < buffer.count || discarding else { return nil }
                let rest = Array(buffer[start...])
                start = buffer.count
                if discarding {
                    discarding = false
                    return .tooLong(discarded + rest.count)
                }
                return .bytes(rest)
            }
            if buffer.count - start > Self.maxLineBytes {
                discarding = true
                discarded += buffer.count - start
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            try fill()
        }
    }

    private func fill() throws(CommandError) {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let chunk = 256 * 1024
        let oldCount = buffer.count
        buffer.reserveCapacity(oldCount + chunk)
        var readError: Int32 = 0
        var count = 0
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        while true {
            count = buffer.withUnsafeMutableBytes { raw in
                read(descriptor, raw.baseAddress! + oldCount, chunk)
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { readError = errno }
            break
        }
        buffer.removeLast(chunk - max(0, count))
        if count < 0 {
            throw CommandError.failure(
                "cannot read \(name): \(String(cString: strerror(readError))) (errno \(readError))")
        }
        if count == 0 { endOfFile = true }
    }
}

/// Encodes RESP2: commands as arrays of bulk strings (the only form that is binary safe), and
/// reply values for fake servers in tests.
///
/// Every function appends to the caller's buffer and allocates nothing else, so a connection
/// can encode many commands into one write buffer.
public enum RESPEncoder {
    /// Appends `*<n>\r\n` followed by each argument as `$<len>\r\n<bytes>\r\n`.
    public static func encodeCommand(_ arguments: [[UInt8]], into buffer: inout [UInt8]) {
        writeInPlace(size: encodedSize(arguments), into: &buffer) { output in
            writeCommand(arguments, to: &output)
        }
    }

    /// Appends each command as ``encodeCommand(_:into:)`` does, growing `buffer` once for all
    /// of them, which saves a generic append per command in a pipeline.
    public static func encodeCommands(_ commands: [[[UInt8]]], into buffer: inout [UInt8]) {
        commands.withUnsafeBufferPointer { commands in
            var size = 0
            for command in commands.indices {
                size += encodedSize(commands[command])
            }
            writeInPlace(size: size, into: &buffer) { output in
                for command in commands.indices {
                    writeCommand(commands[command], to: &output)
                }
            }
        }
    }

    @inline(__always)
    private static func encodedSize(_ arguments: [[UInt8]]) -> Int {
        arguments.withUnsafeBufferPointer { arguments in
            var size = headerSize(arguments.count)
            for index in arguments.indices {
                let count = arguments[index].count
                size += headerSize(count) + count + 2
            }
            return size
        }
    }

    @inline(__always)
    private static func writeCommand(_ arguments: [[UInt8]], to output: inout UnsafeMutablePointer<UInt8>) {
        arguments.withUnsafeBufferPointer { arguments in
            writeHeader(UInt8(ascii: "*"), arguments.count, to: &output)
            for index in arguments.indices {
                writeBulkString(arguments[index], to: &output)
            }
        }
    }

    /// Appends `PUBLISH channel message` without building an argument array.
    public static func encodePublish(channel: [UInt8], message: [UInt8], into buffer: inout [UInt8]) {
        let size = publishSize(channelCount: channel.count, messageCount: message.count)
        writeInPlace(size: size, into: &buffer) { output in
            writePublishPrefix(to: &output)
            writeBulkString(channel, to: &output)
            writeBulkString(message, to: &output)
        }
    }

    /// Appends `PUBLISH channel message` for each pair, in order, as
    /// ``encodePublish(channel:message:into:)`` does, growing `buffer` once for the whole batch.
    public static func encodePublishes(
        _ publications: [(channel: [UInt8], message: [UInt8])], into buffer: inout [UInt8]
    ) {
        publications.withUnsafeBufferPointer { publications in
            var size = 0
            for index in publications.indices {
                size += publishSize(
                    channelCount: publications[index].channel.count,
                    messageCount: publications[index].message.count)
            }
            writeInPlace(size: size, into: &buffer) { output in
                for index in publications.indices {
                    writePublishPrefix(to: &output)
                    writeBulkString(publications[index].channel, to: &output)
                    writeBulkString(publications[index].message, to: &output)
                }
            }
        }
    }

    /// Writes `*3\r\n$7\r\nPUBLISH\r\n` from a literal, which needs no global's lazy
    /// initialization check or retain, unlike a static array.
    @inline(__always)
    private static func writePublishPrefix(to output: inout UnsafeMutablePointer<UInt8>) {
        let prefix: StaticString = "*3\r\n$7\r\nPUBLISH\r\n"
        output.update(from: prefix.utf8Start, count: publishPrefixCount)
        output += publishPrefixCount
    }

    private static let publishPrefixCount = 17

    @inline(__always)
    private static func publishSize(channelCount: Int, messageCount: Int) -> Int {
        publishPrefixCount + headerSize(channelCount) + channelCount + 2 + headerSize(messageCount)
            + messageCount + 2
    }

    /// Grows `buffer` by `size` bytes (geometrically, so repeated calls stay amortized O(1))
    /// and lets `body` fill them through a pointer, which avoids a capacity and uniqueness
    /// check per byte. `body` must write exactly `size` bytes.
    @inline(__always)
    private static func writeInPlace(
        size: Int, into buffer: inout [UInt8], _ body: (inout UnsafeMutablePointer<UInt8>) -> Void
    ) {
        let start = buffer.count
        if buffer.capacity < start + size {
            buffer.reserveCapacity(max(start + size, buffer.capacity * 2))
        }
        // Swift arrays cannot grow by uninitialized bytes, so the new bytes are first copied from
        // a block of zeros: one memcpy per 4 KiB, cheaper than appending piece by piece.
        var remaining = size
        while remaining > 0 {
            let chunk = min(remaining, zeroBlockSize)
            buffer.append(contentsOf: UnsafeBufferPointer(start: zeroBlock, count: chunk))
            remaining -= chunk
        }
        buffer.withUnsafeMutableBufferPointer { all in
            var output = all.baseAddress! + start
            body(&output)
            assert(output == all.baseAddress! + start + size, "encoded size differs from the computed size")
        }
    }

    /// Bytes of `$<count>\r\n` or `*<count>\r\n`.
    @inline(__always)
    private static func headerSize(_ count: Int) -> Int {
        1 + decimalDigitCount(count) + 2
    }

    /// Digits of a non-negative count; comparisons first, because lengths below 10,000 are the
    /// common case and a division costs more.
    @inline(__always)
    private static func decimalDigitCount(_ value: Int) -> Int {
        if value < 10 { return 1 }
        if value < 100 { return 2 }
        if value < 1_000 { return 3 }
        if value < 10_000 { return 4 }
        var digits = 5
        var rest = value / 100_000
        while rest > 0 {
            rest /= 10
            digits += 1
        }
        return digits
    }

    @inline(__always)
    private static func writeHeader(_ type: UInt8, _ count: Int, to output: inout UnsafeMutablePointer<UInt8>)
    {
        output[0] = type
        let digits = decimalDigitCount(count)
        let zero = UInt8(ascii: "0")
        // Up to three digits, the usual lengths and counts, are written without a loop.
        switch digits {
        case 1:
            output[1] = zero &+ UInt8(truncatingIfNeeded: count)
        case 2:
            output[1] = zero &+ UInt8(truncatingIfNeeded: count / 10)
            output[2] = zero &+ UInt8(truncatingIfNeeded: count % 10)
        case 3:
            output[1] = zero &+ UInt8(truncatingIfNeeded: count / 100)
            output[2] = zero &+ UInt8(truncatingIfNeeded: count / 10 % 10)
            output[3] = zero &+ UInt8(truncatingIfNeeded: count % 10)
        default:
            var rest = count
            var index = digits
            while index > 0 {
                output[index] = zero &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                index -= 1
            }
        }
        output[digits + 1] = UInt8(ascii: "\r")
        output[digits + 2] = UInt8(ascii: "\n")
        output += digits + 3
    }

    @inline(__always)
    private static func writeBulkString(_ bytes: [UInt8], to output: inout UnsafeMutablePointer<UInt8>) {
        writeHeader(UInt8(ascii: "$"), bytes.count, to: &output)
        write(bytes, to: &output)
        output[0] = UInt8(ascii: "\r")
        output[1] = UInt8(ascii: "\n")
        output += 2
    }

    @inline(__always)
    private static func write(_ bytes: [UInt8], to output: inout UnsafeMutablePointer<UInt8>) {
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress {
                output.update(from: base, count: source.count)
            }
        }
        output += bytes.count
    }

    /// Appends one bulk string argument: `$<len>\r\n<bytes>\r\n`.
    public static func appendBulkString(_ bytes: [UInt8], into buffer: inout [UInt8]) {
        appendHeader(UInt8(ascii: "$"), bytes.count, into: &buffer)
        buffer.append(contentsOf: bytes)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// Appends a reply value as a server would send it.
    public static func encode(_ value: RESPValue, into buffer: inout [UInt8]) {
        switch value {
        case .simpleString(let text):
            buffer.append(UInt8(ascii: "+"))
            buffer.append(contentsOf: text)
            buffer.append(contentsOf: crlf)
        case .error(let text):
            buffer.append(UInt8(ascii: "-"))
            buffer.append(contentsOf: text)
            buffer.append(contentsOf: crlf)
        case .integer(let number):
            buffer.append(UInt8(ascii: ":"))
            appendDecimal(number, into: &buffer)
            buffer.append(contentsOf: crlf)
        case .bulkString(let bytes):
            appendBulkString(bytes, into: &buffer)
        case .nullBulkString:
            buffer.append(contentsOf: nullBulkString)
        case .array(let elements):
            appendHeader(UInt8(ascii: "*"), elements.count, into: &buffer)
            for element in elements {
                encode(element, into: &buffer)
            }
        case .nullArray:
            buffer.append(contentsOf: nullArray)
        }
    }

    private static let zeroBlockSize = 4_096
    /// Zeroed memory that ``writeInPlace(size:into:_:)`` appends from; allocated once and never
    /// freed or written.
    private nonisolated(unsafe) static let zeroBlock: UnsafePointer<UInt8> = {
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: zeroBlockSize)
        block.initialize(repeating: 0, count: zeroBlockSize)
        return UnsafePointer(block)
    }()
    private static let crlf: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
    private static let nullBulkString: [UInt8] = Array("$-1\r\n".utf8)
    private static let nullArray: [UInt8] = Array("*-1\r\n".utf8)

    private static func appendHeader(_ type: UInt8, _ count: Int, into buffer: inout [UInt8]) {
        buffer.append(type)
        appendDecimal(Int64(count), into: &buffer)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// Appends the decimal digits of `number`, most significant first, without a String.
    static func appendDecimal(_ number: Int64, into buffer: inout [UInt8]) {
        // Lengths and counts of commands are mostly below 1000.
        if number >= 0 && number < 1_000 {
            let small = Int(number)
            if small >= 100 {
                buffer.append(UInt8(ascii: "0") + UInt8(small / 100))
            }
            if small >= 10 {
                buffer.append(UInt8(ascii: "0") + UInt8(small / 10 % 10))
            }
            buffer.append(UInt8(ascii: "0") + UInt8(small % 10))
            return
        }
        if number < 0 {
            buffer.append(UInt8(ascii: "-"))
        }
        // Work with the magnitude as UInt64 so Int64.min has one.
        let magnitude = number.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 {
            divisor *= 10
        }
        var rest = magnitude
        while divisor > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}

/// Encodes RESP2: commands as arrays of bulk strings (the only form that is binary safe), and
/// reply values for fake servers in tests.
///
/// Every function appends to the caller's buffer and allocates nothing else, so a connection
/// can encode many commands into one write buffer.
public enum RESPEncoder {
    /// Appends `*<n>\r\n` followed by each argument as `$<len>\r\n<bytes>\r\n`.
    public static func encodeCommand(_ arguments: [[UInt8]], into buffer: inout [UInt8]) {
        var size = headerSize(arguments.count)
        for argument in arguments {
            size += headerSize(argument.count) + argument.count + 2
        }
        writeInPlace(size: size, into: &buffer) { output in
            writeHeader(UInt8(ascii: "*"), arguments.count, to: &output)
            for argument in arguments {
                writeBulkString(argument, to: &output)
            }
        }
    }

    /// Appends `PUBLISH channel message` without building an argument array.
    public static func encodePublish(channel: [UInt8], message: [UInt8], into buffer: inout [UInt8]) {
        let size =
            publishPrefix.count + headerSize(channel.count) + channel.count + 2
            + headerSize(message.count) + message.count + 2
        writeInPlace(size: size, into: &buffer) { output in
            // "*3\r\n$7\r\nPUBLISH\r\n"
            write(publishPrefix, to: &output)
            writeBulkString(channel, to: &output)
            writeBulkString(message, to: &output)
        }
    }

    /// Grows `buffer` by `size` bytes (geometrically, so repeated calls stay amortized O(1))
    /// and lets `body` fill them through a pointer, which avoids a capacity and uniqueness
    /// check per byte. `body` must write exactly `size` bytes.
    private static func writeInPlace(
        size: Int, into buffer: inout [UInt8], _ body: (inout UnsafeMutablePointer<UInt8>) -> Void
    ) {
        let start = buffer.count
        if buffer.capacity < start + size {
            buffer.reserveCapacity(max(start + size, buffer.capacity * 2))
        }
        // Appending from a contiguous block is a memcpy; a repeated element is filled bytewise.
        var remaining = size
        while remaining > 0 {
            let chunk = min(remaining, zeroBlock.count)
            buffer.append(contentsOf: zeroBlock[0..<chunk])
            remaining -= chunk
        }
        buffer.withUnsafeMutableBufferPointer { all in
            var output = all.baseAddress! + start
            body(&output)
            assert(output == all.baseAddress! + start + size, "encoded size differs from the computed size")
        }
    }

    /// Bytes of `$<count>\r\n` or `*<count>\r\n`.
    private static func headerSize(_ count: Int) -> Int {
        1 + decimalDigitCount(count) + 2
    }

    private static func decimalDigitCount(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }

    private static func writeHeader(_ type: UInt8, _ count: Int, to output: inout UnsafeMutablePointer<UInt8>)
    {
        output[0] = type
        let digits = decimalDigitCount(count)
        var rest = count
        for index in stride(from: digits, through: 1, by: -1) {
            output[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        output[digits + 1] = UInt8(ascii: "\r")
        output[digits + 2] = UInt8(ascii: "\n")
        output += digits + 3
    }

    private static func writeBulkString(_ bytes: [UInt8], to output: inout UnsafeMutablePointer<UInt8>) {
        writeHeader(UInt8(ascii: "$"), bytes.count, to: &output)
        write(bytes, to: &output)
        output[0] = UInt8(ascii: "\r")
        output[1] = UInt8(ascii: "\n")
        output += 2
    }

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

    private static let zeroBlock = [UInt8](repeating: 0, count: 4_096)
    private static let publishPrefix: [UInt8] = Array("*3\r\n$7\r\nPUBLISH\r\n".utf8)
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

/// Encodes RESP2: commands as arrays of bulk strings (the only form that is binary safe), and
/// reply values for fake servers in tests.
///
/// Every function appends to the caller's buffer and allocates nothing else, so a connection
/// can encode many commands into one write buffer.
public enum RESPEncoder {
    /// Appends `*<n>\r\n` followed by each argument as `$<len>\r\n<bytes>\r\n`.
    public static func encodeCommand(_ arguments: [[UInt8]], into buffer: inout [UInt8]) {
        appendHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            appendBulkString(argument, into: &buffer)
        }
    }

    /// Appends `PUBLISH channel message` without building an argument array.
    public static func encodePublish(channel: [UInt8], message: [UInt8], into buffer: inout [UInt8]) {
        // "*3\r\n$7\r\nPUBLISH\r\n"
        buffer.append(contentsOf: publishPrefix)
        appendBulkString(channel, into: &buffer)
        appendBulkString(message, into: &buffer)
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

/// One RESP2 reply value.
///
/// RESP2 has two distinct nils: the null bulk string `$-1\r\n` (for example GET of a missing key)
/// and the null array `*-1\r\n` (for example a BLPOP that timed out). They stay distinct here.
public enum RESPValue: Sendable, Hashable {
    /// `+<text>\r\n`; the text never contains CR or LF.
    case simpleString([UInt8])
    /// `-<text>\r\n`; the text usually starts with an error prefix such as `ERR` or `NOPERM`.
    case error([UInt8])
    /// `:<int>\r\n`, a signed 64-bit integer.
    case integer(Int64)
    /// `$<len>\r\n<bytes>\r\n`, binary safe.
    case bulkString([UInt8])
    /// `$-1\r\n`.
    case nullBulkString
    /// `*<count>\r\n` followed by `count` values.
    case array([RESPValue])
    /// `*-1\r\n`.
    case nullArray
}

extension RESPValue {
    /// The bytes of a simple string or bulk string, otherwise `nil`.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let bytes), .bulkString(let bytes): bytes
        default: nil
        }
    }

    /// The elements of an array, otherwise `nil`.
    public var arrayElements: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

extension RESPValue: CustomStringConvertible {
    /// A debugging rendering that shows at most 64 bytes of each string, escaped, and at most
    /// 16 elements of each array, so a reply quoted in an error message stays short.
    public var description: String {
        switch self {
        case .simpleString(let bytes): "+" + RESPBytesDescription.render(bytes, limit: 64)
        case .error(let bytes): "-" + RESPBytesDescription.render(bytes, limit: 64)
        case .integer(let value): ":\(value)"
        case .bulkString(let bytes): "$\(bytes.count) " + RESPBytesDescription.render(bytes, limit: 64)
        case .nullBulkString: "$-1"
        case .array(let elements):
            "[" + elements.prefix(16).map(\.description).joined(separator: ", ")
                + (elements.count > 16 ? ", ... (\(elements.count) elements)]" : "]")
        case .nullArray: "*-1"
        }
    }
}

/// Renders bytes for error messages and debugging: printable ASCII as is, the rest as `\xNN`.
package enum RESPBytesDescription {
    package static func render<C: Collection>(_ bytes: C, limit: Int) -> String where C.Element == UInt8 {
        var text = "\""
        for byte in bytes.prefix(limit) {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x22: text += "\\\""
            case 0x5C: text += "\\\\"
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        text += "\""
        if bytes.count > limit { text += "... (\(bytes.count) bytes)" }
        return text
    }
}

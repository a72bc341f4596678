/// A malformed RESP2 reply. The connection that produced it must be closed: the parser never
/// resynchronises after an error.
public struct RESPParsingError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The kind of error, compared with the static members (`error.code == .invalidLength`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidTypeByte = "invalid type byte"
            case invalidInteger = "invalid integer"
            case integerOverflow = "integer overflow"
            case invalidLength = "invalid length"
            case bulkStringTooLong = "bulk string too long"
            case arrayTooLong = "array too long"
            case nestingTooDeep = "nesting too deep"
            case lineTooLong = "line too long"
            case bareLineFeed = "bare line feed"
            case missingLineFeed = "missing line feed"
            case missingBulkStringTerminator = "missing bulk string terminator"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The first byte of a value is not one of `+ - : $ *`.
        public static var invalidTypeByte: Code { Code(.invalidTypeByte) }
        /// An integer, length or count contains something other than an optional `-` and digits.
        public static var invalidInteger: Code { Code(.invalidInteger) }
        /// An integer, length or count does not fit in a signed 64-bit integer.
        public static var integerOverflow: Code { Code(.integerOverflow) }
        /// A bulk string length or array count is negative and not -1.
        public static var invalidLength: Code { Code(.invalidLength) }
        /// A bulk string length exceeds ``RESPLimits/maxBulkStringLength``.
        public static var bulkStringTooLong: Code { Code(.bulkStringTooLong) }
        /// An array count exceeds ``RESPLimits/maxArrayCount``.
        public static var arrayTooLong: Code { Code(.arrayTooLong) }
        /// Arrays are nested deeper than ``RESPLimits/maxNestingDepth``.
        public static var nestingTooDeep: Code { Code(.nestingTooDeep) }
        /// A simple string or error line exceeds ``RESPLimits/maxLineLength``.
        public static var lineTooLong: Code { Code(.lineTooLong) }
        /// A line ends with LF alone; RESP requires CRLF.
        public static var bareLineFeed: Code { Code(.bareLineFeed) }
        /// A CR is followed by something other than LF.
        public static var missingLineFeed: Code { Code(.missingLineFeed) }
        /// The two bytes after a bulk string's data are not CRLF.
        public static var missingBulkStringTerminator: Code { Code(.missingBulkStringTerminator) }

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// Offset of the offending byte, counted from the first byte this parser ever consumed.
    public let offset: Int
    /// A description of what failed, on which value, and what it means for the caller.
    public let message: String

    init(_ code: Code, offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String {
        "invalid RESP2 reply at byte offset \(offset): \(message); close the connection"
    }
}

/// Limits applied to every reply before anything is allocated for it.
public struct RESPLimits: Sendable, Hashable {
    /// Maximum bulk string length. Default 512 MiB, the server's default `proto-max-bulk-len`.
    public var maxBulkStringLength: Int
    /// Maximum array count. Default 2^32 - 1, the cap hiredis applies.
    public var maxArrayCount: Int
    /// Maximum array nesting depth. Default 128.
    public var maxNestingDepth: Int
    /// Maximum length of a simple string or error line, without its CRLF. Default 1 MiB.
    public var maxLineLength: Int

    public init(
        maxBulkStringLength: Int = 512 * 1024 * 1024,
        maxArrayCount: Int = 4_294_967_295,
        maxNestingDepth: Int = 128,
        maxLineLength: Int = 1024 * 1024
    ) {
        precondition(
            maxBulkStringLength >= 0 && maxArrayCount >= 0 && maxNestingDepth >= 1 && maxLineLength >= 0)
        self.maxBulkStringLength = maxBulkStringLength
        self.maxArrayCount = maxArrayCount
        self.maxNestingDepth = maxNestingDepth
        self.maxLineLength = maxLineLength
    }
}

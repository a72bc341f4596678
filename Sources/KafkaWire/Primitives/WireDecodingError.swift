/// A malformed Kafka message: names the API, version, field and byte offset that failed.
///
/// Decoders throw this only for malformed input. Input that is merely incomplete is reported by
/// the frame splitter returning `nil`, so a thrown error means the connection should be closed.
public struct WireDecodingError: Error, Hashable, CustomStringConvertible, Sendable {
    private enum Code: Hashable, Sendable {
        case truncated(needed: Int, remaining: Int)
        case invalidLength(Int64)
        case countTooLarge(count: Int64, remaining: Int)
        case frameTooLarge(size: Int, maximum: Int)
        case crcMismatch(expected: UInt32, actual: UInt32)
        case invalidVarint
        case invalidString
        case unsupportedVersion
        case invalidValue(String)
        case trailingBytes(Int)
    }

    /// The kind of failure, for comparisons in callers and tests.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }

        public static let truncated = Kind(name: "truncated")
        public static let invalidLength = Kind(name: "invalidLength")
        public static let countTooLarge = Kind(name: "countTooLarge")
        public static let frameTooLarge = Kind(name: "frameTooLarge")
        public static let crcMismatch = Kind(name: "crcMismatch")
        public static let invalidVarint = Kind(name: "invalidVarint")
        public static let invalidString = Kind(name: "invalidString")
        public static let unsupportedVersion = Kind(name: "unsupportedVersion")
        public static let invalidValue = Kind(name: "invalidValue")
        public static let trailingBytes = Kind(name: "trailingBytes")
    }

    private let code: Code
    /// The message being decoded, for example `Produce response` or `RecordBatch`.
    public let api: String
    /// The API version being decoded, or nil where versions do not apply (frames, record batches).
    public let version: Int16?
    /// The field whose bytes were malformed.
    public let field: String
    /// The byte offset of the field within the buffer being decoded.
    public let offset: Int

    private init(_ code: Code, api: String, version: Int16?, field: String, offset: Int) {
        self.code = code
        self.api = api
        self.version = version
        self.field = field
        self.offset = offset
    }

    public var kind: Kind {
        switch code {
        case .truncated: .truncated
        case .invalidLength: .invalidLength
        case .countTooLarge: .countTooLarge
        case .frameTooLarge: .frameTooLarge
        case .crcMismatch: .crcMismatch
        case .invalidVarint: .invalidVarint
        case .invalidString: .invalidString
        case .unsupportedVersion: .unsupportedVersion
        case .invalidValue: .invalidValue
        case .trailingBytes: .trailingBytes
        }
    }

    /// The stored and computed CRC-32C of a record batch, when the failure is a CRC mismatch.
    public var crcMismatch: (expected: UInt32, actual: UInt32)? {
        if case .crcMismatch(let expected, let actual) = code { return (expected, actual) }
        return nil
    }

    public var description: String {
        let versionText = version.map { " v\($0)" } ?? ""
        let location = "\(api)\(versionText), field \(field) at byte offset \(offset)"
        switch code {
        case .truncated(let needed, let remaining):
            return "\(location): truncated, needed \(needed) bytes but \(remaining) remain. "
                + "The message is shorter than its fields declare; close the connection."
        case .invalidLength(let length):
            return "\(location): invalid length \(length). Only -1 (null) or a non-negative length "
                + "is valid; close the connection."
        case .countTooLarge(let count, let remaining):
            return "\(location): count \(count) exceeds the \(remaining) bytes remaining. "
                + "The message is corrupt; close the connection."
        case .frameTooLarge(let size, let maximum):
            return "\(location): frame size \(size) exceeds the maximum frame size \(maximum). "
                + "Raise the maximum if the peer is trusted, else close the connection."
        case .crcMismatch(let expected, let actual):
            return "\(location): CRC-32C mismatch, expected \(hex(expected)) (stored) but computed "
                + "\(hex(actual)). The batch is corrupt; discard it."
        case .invalidVarint:
            return "\(location): invalid varint, longer than its type allows. Close the connection."
        case .invalidString:
            return "\(location): invalid string, the bytes are not valid UTF-8. Close the connection."
        case .unsupportedVersion:
            return "\(location): version not supported by this decoder. Negotiate a supported "
                + "version with ApiVersions first."
        case .invalidValue(let detail):
            return "\(location): invalid value, \(detail)."
        case .trailingBytes(let count):
            return "\(location): \(count) unread bytes after the last field. The version used to "
                + "decode does not match the one the peer encoded."
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

extension WireDecodingError {
    static func truncated(
        _ context: WireContext, field: String, offset: Int, needed: Int, remaining: Int
    )
        -> Self
    {
        Self(.truncated(needed: needed, remaining: remaining), context, field, offset)
    }

    static func invalidLength(_ context: WireContext, field: String, offset: Int, length: Int64) -> Self {
        Self(.invalidLength(length), context, field, offset)
    }

    static func countTooLarge(
        _ context: WireContext, field: String, offset: Int, count: Int64, remaining: Int
    )
        -> Self
    {
        Self(.countTooLarge(count: count, remaining: remaining), context, field, offset)
    }

    static func frameTooLarge(field: String, offset: Int, size: Int, maximum: Int) -> Self {
        Self(
            .frameTooLarge(size: size, maximum: maximum), api: "Frame", version: nil, field: field,
            offset: offset)
    }

    static func negativeFrameSize(field: String, offset: Int, size: Int32) -> Self {
        Self(.invalidLength(Int64(size)), api: "Frame", version: nil, field: field, offset: offset)
    }

    static func crcMismatch(
        _ context: WireContext, field: String, offset: Int, expected: UInt32, actual: UInt32
    )
        -> Self
    {
        Self(.crcMismatch(expected: expected, actual: actual), context, field, offset)
    }

    static func invalidVarint(_ context: WireContext, field: String, offset: Int) -> Self {
        Self(.invalidVarint, context, field, offset)
    }

    static func invalidString(_ context: WireContext, field: String, offset: Int) -> Self {
        Self(.invalidString, context, field, offset)
    }

    static func unsupportedVersion(_ context: WireContext, field: String, offset: Int) -> Self {
        Self(.unsupportedVersion, context, field, offset)
    }

    static func invalidValue(_ context: WireContext, field: String, offset: Int, detail: String) -> Self {
        Self(.invalidValue(detail), context, field, offset)
    }

    static func trailingBytes(_ context: WireContext, offset: Int, count: Int) -> Self {
        Self(.trailingBytes(count), context, "end of message", offset)
    }

    private init(_ code: Code, _ context: WireContext, _ field: String, _ offset: Int) {
        self.init(code, api: context.api, version: context.version, field: field, offset: offset)
    }
}

/// The message and version a reader is decoding, carried into every error it throws.
public struct WireContext: Hashable, Sendable {
    public var api: String
    public var version: Int16?

    public init(api: String, version: Int16? = nil) {
        self.api = api
        self.version = version
    }
}

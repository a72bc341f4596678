/// A malformed request from a client: names the message, field and byte offset that failed.
///
/// The fake broker never crashes on malformed input. It records this error in the request log
/// and closes the connection, the way a Kafka broker does when it cannot parse a request.
struct RequestDecodingError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case truncated(needed: Int, remaining: Int)
        case invalidLength(Int64)
        case countTooLarge(count: Int64, maximum: Int)
        case invalidVarint
        case invalidString
        case unsupportedAPI(key: Int16, version: Int16)
    }

    private let code: Code
    /// The message being decoded, for example `Produce v9 request`.
    let context: String
    /// The field being decoded.
    let field: String
    /// Offset of the failing byte from the start of the request (after the size prefix).
    let offset: Int

    static func truncated(_ context: String, field: String, offset: Int, needed: Int, remaining: Int)
        -> RequestDecodingError
    {
        RequestDecodingError(
            code: .truncated(needed: needed, remaining: remaining), context: context, field: field,
            offset: offset)
    }

    static func invalidLength(_ context: String, field: String, offset: Int, length: Int64)
        -> RequestDecodingError
    {
        RequestDecodingError(code: .invalidLength(length), context: context, field: field, offset: offset)
    }

    static func countTooLarge(_ context: String, field: String, offset: Int, count: Int64, maximum: Int)
        -> RequestDecodingError
    {
        RequestDecodingError(
            code: .countTooLarge(count: count, maximum: maximum), context: context, field: field,
            offset: offset)
    }

    static func invalidVarint(_ context: String, field: String, offset: Int) -> RequestDecodingError {
        RequestDecodingError(code: .invalidVarint, context: context, field: field, offset: offset)
    }

    static func invalidString(_ context: String, field: String, offset: Int) -> RequestDecodingError {
        RequestDecodingError(code: .invalidString, context: context, field: field, offset: offset)
    }

    static func unsupportedAPI(key: Int16, version: Int16) -> RequestDecodingError {
        RequestDecodingError(
            code: .unsupportedAPI(key: key, version: version), context: "request header", field: "ApiKey",
            offset: 4)
    }

    var description: String {
        let place = "\(context), field \(field) at byte \(offset)"
        switch code {
        case .truncated(let needed, let remaining):
            return "\(place): needs \(needed) bytes but \(remaining) remain; the request is truncated"
        case .invalidLength(let length):
            return "\(place): length \(length) is invalid"
        case .countTooLarge(let count, let maximum):
            return "\(place): count \(count) exceeds the maximum \(maximum) that the remaining bytes allow"
        case .invalidVarint:
            return "\(place): varint is longer than its type allows"
        case .invalidString:
            return "\(place): string is not valid UTF-8"
        case .unsupportedAPI(let key, let version):
            return "API key \(key) version \(version) is not supported by the fake broker; "
                + "choose a version from its ApiVersions response"
        }
    }
}

/// A value that cannot be encoded: names the API, version, field and value that failed.
public struct WireEncodingError: Error, Hashable, CustomStringConvertible, Sendable {
    private enum Code: Hashable, Sendable {
        case valueTooLong(length: Int, maximum: Int)
        case nullNotAllowed
        case unsupportedVersion(Int16)
        case invalidValue(String)
    }

    /// The kind of failure, for comparisons in callers and tests.
    public struct Kind: Hashable, Sendable {
        fileprivate let name: String
        public static let valueTooLong = Kind(name: "valueTooLong")
        public static let nullNotAllowed = Kind(name: "nullNotAllowed")
        public static let unsupportedVersion = Kind(name: "unsupportedVersion")
        public static let invalidValue = Kind(name: "invalidValue")
    }

    private let code: Code
    public let api: String
    public let field: String

    private init(_ code: Code, api: String, field: String) {
        self.code = code
        self.api = api
        self.field = field
    }

    public var kind: Kind {
        switch code {
        case .valueTooLong: .valueTooLong
        case .nullNotAllowed: .nullNotAllowed
        case .unsupportedVersion: .unsupportedVersion
        case .invalidValue: .invalidValue
        }
    }

    public var description: String {
        switch code {
        case .valueTooLong(let length, let maximum):
            return "\(api), field \(field): length \(length) exceeds the maximum \(maximum) "
                + "the wire format allows. Shorten the value."
        case .nullNotAllowed:
            return "\(api), field \(field): null is not allowed in this version. Pass a value."
        case .unsupportedVersion(let version):
            return "\(api): version \(version) is not supported by this encoder. "
                + "Pick a version from ApiKey.supportedVersions."
        case .invalidValue(let detail):
            return "\(api), field \(field): invalid value, \(detail)."
        }
    }

    static func valueTooLong(api: String, field: String, length: Int, maximum: Int) -> Self {
        Self(.valueTooLong(length: length, maximum: maximum), api: api, field: field)
    }

    static func nullNotAllowed(api: String, field: String) -> Self {
        Self(.nullNotAllowed, api: api, field: field)
    }

    static func unsupportedVersion(api: String, version: Int16) -> Self {
        Self(.unsupportedVersion(version), api: api, field: "version")
    }

    static func invalidValue(api: String, field: String, detail: String) -> Self {
        Self(.invalidValue(detail), api: api, field: field)
    }
}

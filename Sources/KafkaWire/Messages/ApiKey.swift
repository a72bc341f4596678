/// A Kafka API key, with the versions this module encodes and decodes.
public struct ApiKey: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int16

    public init(_ rawValue: Int16) {
        self.rawValue = rawValue
    }

    public static let produce = ApiKey(0)
    public static let metadata = ApiKey(3)
    public static let apiVersions = ApiKey(18)
    public static let initProducerId = ApiKey(22)

    /// The APIs this module implements, in the order a producer needs them.
    public static let supported: [ApiKey] = [.apiVersions, .metadata, .initProducerId, .produce]

    public var name: String {
        switch self {
        case .produce: "Produce"
        case .metadata: "Metadata"
        case .apiVersions: "ApiVersions"
        case .initProducerId: "InitProducerId"
        default: "ApiKey(\(rawValue))"
        }
    }

    public var description: String { name }

    /// The versions this module encodes and decodes, nil for APIs it does not implement.
    ///
    /// Produce starts at v3 because v3 is the first to carry RecordBatch v2 (Kafka 4 lists v0-v2
    /// but rejects them) and stops at v12 because v13 replaces topic names with topic ids.
    /// Metadata starts at v1 because v0 reads an empty topic list as "all topics".
    public var supportedVersions: ClosedRange<Int16>? {
        switch self {
        case .produce: 3...12
        case .metadata: 1...12
        case .apiVersions: 0...4
        case .initProducerId: 0...5
        default: nil
        }
    }

    /// The first flexible version (compact types, tagged fields, request header v2), per the
    /// message definitions in Apache Kafka.
    public var firstFlexibleVersion: Int16? {
        switch self {
        case .produce: 9
        case .metadata: 9
        case .apiVersions: 3
        case .initProducerId: 2
        default: nil
        }
    }

    /// Returns whether `version` of this API uses compact types and tagged fields.
    public func isFlexible(_ version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }

    /// The request header version: 2 for flexible versions, else 1.
    public func requestHeaderVersion(_ version: Int16) -> Int16 {
        isFlexible(version) ? 2 : 1
    }

    /// Returns the response header version: 1 for flexible versions, else 0. ApiVersions responses
    /// always use v0, so a client can read the correlation id before versions are negotiated.
    public func responseHeaderVersion(_ version: Int16) -> Int16 {
        self == .apiVersions ? 0 : (isFlexible(version) ? 1 : 0)
    }
}

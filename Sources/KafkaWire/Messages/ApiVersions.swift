/// ApiVersions request (key 18). v0-v2 bodies are empty; v3+ carry the client software name and
/// version as compact strings, which brokers validate against
/// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?` (ApiVersionsRequest.java in Apache Kafka).
public struct ApiVersionsRequest: KafkaRequest {
    public static let apiKey = ApiKey.apiVersions

    public var clientSoftwareName: String
    public var clientSoftwareVersion: String
    public var taggedFields: [TaggedField]

    public init(
        clientSoftwareName: String = "", clientSoftwareVersion: String = "",
        taggedFields: [TaggedField] = []
    ) {
        self.clientSoftwareName = clientSoftwareName
        self.clientSoftwareVersion = clientSoftwareVersion
        self.taggedFields = taggedFields
    }

    /// Returns whether `value` passes the broker's check for ClientSoftwareName and ClientSoftwareVersion.
    public static func isValidSoftwareField(_ value: String) -> Bool {
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        }
        let bytes = Array(value.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last)
        else {
            return false
        }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == 0x2D || $0 == 0x2E }
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "request")
        guard version >= 3 else { return }
        try writer.writeCompactNullableString(clientSoftwareName, field: "ClientSoftwareName")
        try writer.writeCompactNullableString(clientSoftwareVersion, field: "ClientSoftwareVersion")
        writer.writeTaggedFields(taggedFields)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        guard version >= 3 else { return Self() }
        return Self(
            clientSoftwareName: try reader.readCompactString("ClientSoftwareName"),
            clientSoftwareVersion: try reader.readCompactString("ClientSoftwareVersion"),
            taggedFields: try reader.readTaggedFields("ApiVersions request tagged fields"))
    }
}

/// ApiVersions response (key 18): the version range a broker supports for each API.
public struct ApiVersionsResponse: KafkaResponse {
    public static let apiKey = ApiKey.apiVersions

    public struct ApiVersionRange: Hashable, Sendable {
        public var apiKey: ApiKey
        public var minVersion: Int16
        public var maxVersion: Int16
        public var taggedFields: [TaggedField]

        public init(apiKey: ApiKey, minVersion: Int16, maxVersion: Int16, taggedFields: [TaggedField] = []) {
            self.apiKey = apiKey
            self.minVersion = minVersion
            self.maxVersion = maxVersion
            self.taggedFields = taggedFields
        }
    }

    public var errorCode: KafkaErrorCode
    public var apiKeys: [ApiVersionRange]
    /// v1+.
    public var throttleTimeMs: Int32
    /// v3+: SupportedFeatures (tag 0), FinalizedFeaturesEpoch (1), FinalizedFeatures (2) and
    /// ZkMigrationReady (3) are kept here undecoded, with any tag added later.
    public var taggedFields: [TaggedField]

    public init(
        errorCode: KafkaErrorCode = .none, apiKeys: [ApiVersionRange], throttleTimeMs: Int32 = 0,
        taggedFields: [TaggedField] = []
    ) {
        self.errorCode = errorCode
        self.apiKeys = apiKeys
        self.throttleTimeMs = throttleTimeMs
        self.taggedFields = taggedFields
    }

    /// Creates the refusal a broker sends for an ApiVersions request above `supportedVersions`:
    /// UNSUPPORTED_VERSION with one ApiKeys entry, for ApiVersions itself. Encode it at version 0.
    public static func unsupportedVersionRefusal(
        supportedVersions: ClosedRange<Int16> = ApiKey.apiVersions.supportedVersions!
    ) -> ApiVersionsResponse {
        ApiVersionsResponse(
            errorCode: .unsupportedVersion,
            apiKeys: [
                ApiVersionRange(
                    apiKey: .apiVersions, minVersion: supportedVersions.lowerBound,
                    maxVersion: supportedVersions.upperBound)
            ])
    }

    /// Returns the range for `apiKey`, or nil when the broker does not list it.
    public func range(for apiKey: ApiKey) -> ApiVersionRange? {
        apiKeys.first { $0.apiKey == apiKey }
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "response")
        let flexible = Self.apiKey.isFlexible(version)
        writer.writeInt16(errorCode.rawValue)
        try writer.writeArray(apiKeys, field: "ApiKeys", compact: flexible) {
            (writer, range) throws(WireEncodingError) in
            writer.writeInt16(range.apiKey.rawValue)
            writer.writeInt16(range.minVersion)
            writer.writeInt16(range.maxVersion)
            writer.writeTaggedFieldsIfFlexible(flexible, range.taggedFields)
        }
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeTaggedFieldsIfFlexible(flexible, taggedFields)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        let flexible = apiKey.isFlexible(version)
        let errorCode = KafkaErrorCode(try reader.readInt16("ErrorCode"))
        let minimumEntrySize = flexible ? 7 : 6
        let apiKeys = try reader.readArray("ApiKeys", compact: flexible, minimumElementSize: minimumEntrySize)
        {
            (reader) throws(WireDecodingError) in
            ApiVersionRange(
                apiKey: ApiKey(try reader.readInt16("ApiKey")),
                minVersion: try reader.readInt16("MinVersion"),
                maxVersion: try reader.readInt16("MaxVersion"),
                taggedFields: try reader.readTaggedFieldsIfFlexible(flexible, "ApiKeys tagged fields"))
        }
        let throttleTimeMs = version >= 1 ? try reader.readInt32("ThrottleTimeMs") : 0
        let taggedFields = try reader.readTaggedFieldsIfFlexible(
            flexible, "ApiVersions response tagged fields")
        return Self(
            errorCode: errorCode, apiKeys: apiKeys, throttleTimeMs: throttleTimeMs, taggedFields: taggedFields
        )
    }

    /// Decodes a response to a request sent at `version`. Returns the response and the version it
    /// was decoded as, and consumes the whole body.
    ///
    /// A broker that does not support `version` sends a v0-encoded UNSUPPORTED_VERSION response, so
    /// when the error code (the first field in every version) is 35, the body is read as v0, then
    /// as `version`. If neither layout fits, as with librdkafka's mock cluster, the result is an
    /// UNSUPPORTED_VERSION response with no ApiKeys entries, whose `retryVersion` is v0. Any other
    /// error code is decoded strictly at `version`.
    public static func decodeWithFallback(
        from reader: inout WireReader, version: Int16
    ) throws(WireDecodingError)
        -> (response: ApiVersionsResponse, decodedVersion: Int16)
    {
        let errorCode = KafkaErrorCode(try reader.peekInt16("ErrorCode"))
        guard version != 0 && errorCode == .unsupportedVersion else {
            let response = try decode(from: &reader, version: version)
            try reader.requireAtEnd()
            return (response, version)
        }
        for candidate in [0, version] {
            var attempt = reader
            attempt.context.version = candidate
            if let response = try? decode(from: &attempt, version: candidate), attempt.isAtEnd {
                reader = attempt
                return (response, candidate)
            }
        }
        reader.moveReaderIndex(to: reader.endIndex)
        return (ApiVersionsResponse(errorCode: .unsupportedVersion, apiKeys: []), 0)
    }

    /// Decodes an ApiVersions response frame body (size prefix removed) to a request sent at
    /// `version`, with the v0 fallback of `decodeWithFallback`.
    public static func decodeFrame(
        _ frame: [UInt8], version: Int16
    ) throws(WireDecodingError)
        -> (header: ResponseHeader, response: ApiVersionsResponse, decodedVersion: Int16)
    {
        var reader = WireReader(frame)
        let header = try ResponseHeader.decode(from: &reader, headerVersion: 0)
        reader.context = WireContext(api: "ApiVersions response", version: version)
        let (response, decodedVersion) = try decodeWithFallback(from: &reader, version: version)
        return (header, response, decodedVersion)
    }

    /// Returns the version to retry ApiVersions with after this response to a request sent at
    /// `sentVersion`, or nil when no retry should be made.
    ///
    /// Only UNSUPPORTED_VERSION is retried: with the MaxVersion of the broker's ApiVersions entry
    /// when it is lower than `sentVersion`, else with v0. A request already sent at v0 is never
    /// retried, and each retry uses a lower version, so the exchange cannot loop.
    public func retryVersion(sentVersion: Int16) -> Int16? {
        guard errorCode == .unsupportedVersion, sentVersion > 0 else { return nil }
        if let entry = range(for: .apiVersions), entry.maxVersion < sentVersion, entry.maxVersion >= 0 {
            let ours = ApiKey.apiVersions.supportedVersions!
            return min(entry.maxVersion, ours.upperBound)
        }
        return 0
    }

    /// The version to use for each API: the highest that both this module and the broker
    /// support. APIs with no common version are absent.
    public func negotiatedVersions() -> NegotiatedVersions {
        var versions: [ApiKey: Int16] = [:]
        for apiKey in ApiKey.supported {
            guard let ours = apiKey.supportedVersions, let theirs = range(for: apiKey) else { continue }
            let high = min(ours.upperBound, theirs.maxVersion)
            let low = max(ours.lowerBound, theirs.minVersion)
            if high >= low { versions[apiKey] = high }
        }
        return NegotiatedVersions(versions: versions)
    }
}

/// The version chosen for each API on one connection; renegotiate after every reconnect.
public struct NegotiatedVersions: Hashable, Sendable {
    public let versions: [ApiKey: Int16]

    public init(versions: [ApiKey: Int16]) {
        self.versions = versions
    }

    /// The version to use for `apiKey`, nil when the broker and this module share none.
    public func version(for apiKey: ApiKey) -> Int16? { versions[apiKey] }
}

/// A request header (RequestHeader.json in Apache Kafka).
///
/// v1: api_key int16, api_version int16, correlation_id int32, client_id NULLABLE_STRING.
/// v2 adds a tagged-field section; client_id keeps its int16 length even in v2.
public struct RequestHeader: Hashable, Sendable {
    public var apiKey: ApiKey
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?
    /// Tagged fields of a v2 header, none of which this module interprets.
    public var taggedFields: [TaggedField]

    public init(
        apiKey: ApiKey, apiVersion: Int16, correlationId: Int32, clientId: String?,
        taggedFields: [TaggedField] = []
    ) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
        self.taggedFields = taggedFields
    }

    public var headerVersion: Int16 { apiKey.requestHeaderVersion(apiVersion) }

    public func encode(into writer: inout WireWriter) throws(WireEncodingError) {
        writer.writeInt16(apiKey.rawValue)
        writer.writeInt16(apiVersion)
        writer.writeInt32(correlationId)
        try writer.writeNullableString(clientId, field: "ClientId")
        if headerVersion >= 2 {
            writer.writeTaggedFields(taggedFields)
        }
    }

    /// Decodes a header, choosing v1 or v2 from the API key and version it contains. For an API
    /// this module does not implement, reads v1 and leaves any tagged fields in the body.
    public static func decode(from reader: inout WireReader) throws(WireDecodingError) -> RequestHeader {
        let saved = reader.context
        reader.context = WireContext(api: "Request header")
        defer { reader.context = saved }
        let apiKey = ApiKey(try reader.readInt16("ApiKey"))
        let apiVersion = try reader.readInt16("ApiVersion")
        let correlationId = try reader.readInt32("CorrelationId")
        let clientId = try reader.readNullableString("ClientId")
        var header = RequestHeader(
            apiKey: apiKey, apiVersion: apiVersion, correlationId: correlationId, clientId: clientId)
        if header.headerVersion >= 2 {
            header.taggedFields = try reader.readTaggedFields("Request header tagged fields")
        }
        return header
    }
}

/// A response header (ResponseHeader.json in Apache Kafka): v0 correlation_id int32; v1 adds a
/// tagged-field section. Which version applies depends on the request: see
/// `ApiKey.responseHeaderVersion(_:)`.
public struct ResponseHeader: Hashable, Sendable {
    public var correlationId: Int32
    public var taggedFields: [TaggedField]

    public init(correlationId: Int32, taggedFields: [TaggedField] = []) {
        self.correlationId = correlationId
        self.taggedFields = taggedFields
    }

    public func encode(into writer: inout WireWriter, headerVersion: Int16) {
        writer.writeInt32(correlationId)
        if headerVersion >= 1 {
            writer.writeTaggedFields(taggedFields)
        }
    }

    public static func decode(
        from reader: inout WireReader, headerVersion: Int16
    ) throws(WireDecodingError)
        -> ResponseHeader
    {
        let saved = reader.context
        reader.context = WireContext(api: "Response header", version: headerVersion)
        defer { reader.context = saved }
        var header = ResponseHeader(correlationId: try reader.readInt32("CorrelationId"))
        if headerVersion >= 1 {
            header.taggedFields = try reader.readTaggedFields("Response header tagged fields")
        }
        return header
    }

    /// Reads the correlation id at the start of a response frame without consuming it, so a client
    /// can find the pending request (and its API and version) before decoding the rest.
    public static func peekCorrelationId(frame: [UInt8]) throws(WireDecodingError) -> Int32 {
        try WireReader(frame, context: WireContext(api: "Response header")).peekInt32("CorrelationId")
    }
}

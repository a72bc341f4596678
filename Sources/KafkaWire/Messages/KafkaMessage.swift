/// A request body that can be encoded and decoded at any version in `apiKey.supportedVersions`.
public protocol KafkaRequest: Hashable, Sendable {
    static var apiKey: ApiKey { get }
    /// Appends the body for `version`; throws `unsupportedVersion` outside the supported range.
    func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError)
    /// Decodes a body of `version`, consuming exactly its bytes.
    static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
}

/// A response body that can be encoded and decoded at any version in `apiKey.supportedVersions`.
public protocol KafkaResponse: Hashable, Sendable {
    static var apiKey: ApiKey { get }
    func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError)
    static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
}

/// Whole frames: the int32 size prefix, the header and the body.
public enum KafkaFrame {
    /// Encodes a request frame, size prefix included, ready to send.
    public static func encodeRequest<Request: KafkaRequest>(
        _ request: Request, version: Int16, correlationId: Int32, clientId: String?
    ) throws(WireEncodingError) -> [UInt8] {
        try checkVersion(Request.apiKey, version, kind: "request")
        var writer = WireWriter(capacity: 256, api: "\(Request.apiKey.name) request")
        writer.writeInt32(0)
        let header = RequestHeader(
            apiKey: Request.apiKey, apiVersion: version, correlationId: correlationId, clientId: clientId)
        try header.encode(into: &writer)
        try request.encode(into: &writer, version: version)
        return try sealSize(writer)
    }

    /// Encodes a response frame, size prefix included, with the header version the API requires.
    public static func encodeResponse<Response: KafkaResponse>(
        _ response: Response, version: Int16, correlationId: Int32
    ) throws(WireEncodingError) -> [UInt8] {
        try checkVersion(Response.apiKey, version, kind: "response")
        var writer = WireWriter(capacity: 256, api: "\(Response.apiKey.name) response")
        writer.writeInt32(0)
        ResponseHeader(correlationId: correlationId)
            .encode(into: &writer, headerVersion: Response.apiKey.responseHeaderVersion(version))
        try response.encode(into: &writer, version: version)
        return try sealSize(writer)
    }

    /// Decodes the header of a request frame body (size prefix already removed) and returns a
    /// reader positioned at the body, for a server that dispatches on `header.apiKey`.
    public static func decodeRequestHeader(
        frame: [UInt8]
    ) throws(WireDecodingError)
        -> (header: RequestHeader, body: WireReader)
    {
        var reader = WireReader(frame, context: WireContext(api: "Request header"))
        let header = try RequestHeader.decode(from: &reader)
        reader.context = WireContext(api: "\(header.apiKey.name) request", version: header.apiVersion)
        return (header, reader)
    }

    /// Decodes a whole request frame body of a known type, rejecting trailing bytes.
    public static func decodeRequest<Request: KafkaRequest>(
        _ type: Request.Type, frame: [UInt8]
    )
        throws(WireDecodingError) -> (header: RequestHeader, request: Request)
    {
        var (header, reader) = try decodeRequestHeader(frame: frame)
        guard header.apiKey == Request.apiKey else {
            throw .invalidValue(
                WireContext(api: "Request header"), field: "ApiKey", offset: 0,
                detail: "\(header.apiKey.rawValue) is not \(Request.apiKey.name) (\(Request.apiKey.rawValue))"
            )
        }
        let request = try Request.decode(from: &reader, version: header.apiVersion)
        try reader.requireAtEnd()
        return (header, request)
    }

    /// Decodes a whole response frame body (size prefix already removed) of `version`.
    public static func decodeResponse<Response: KafkaResponse>(
        _ type: Response.Type, frame: [UInt8], version: Int16
    )
        throws(WireDecodingError) -> (header: ResponseHeader, response: Response)
    {
        var reader = WireReader(frame)
        let header = try ResponseHeader.decode(
            from: &reader, headerVersion: Response.apiKey.responseHeaderVersion(version))
        reader.context = WireContext(api: "\(Response.apiKey.name) response", version: version)
        let response = try Response.decode(from: &reader, version: version)
        try reader.requireAtEnd()
        return (header, response)
    }

    static func checkVersion(_ apiKey: ApiKey, _ version: Int16, kind: String) throws(WireEncodingError) {
        guard let range = apiKey.supportedVersions, range.contains(version) else {
            throw .unsupportedVersion(api: "\(apiKey.name) \(kind)", version: version)
        }
    }

    private static func sealSize(_ writer: WireWriter) throws(WireEncodingError) -> [UInt8] {
        var writer = writer
        let size = writer.count - 4
        guard size <= Int(Int32.max) else {
            throw .valueTooLong(api: writer.api, field: "frame size", length: size, maximum: Int(Int32.max))
        }
        writer.setInteger(Int32(size), at: 0)
        return writer.bytes
    }
}

extension WireReader {
    /// Throws `unsupportedVersion` unless `apiKey` implements `version`.
    mutating func requireSupported(_ apiKey: ApiKey, _ version: Int16) throws(WireDecodingError) {
        context.version = version
        guard let range = apiKey.supportedVersions, range.contains(version) else {
            throw .unsupportedVersion(context, field: "version", offset: readerIndex)
        }
    }
}

import Testing

@testable import KafkaWire

/// Decodes a recorded frame body (size prefix removed) with this module's decoders, choosing the
/// message type from the fixture's sidecar.
enum FixtureDecoding {
    static func apiKey(_ name: String) -> ApiKey {
        ApiKey(Int16(int(KafkaFixtures.sidecar(name)["api_key"]) ?? 18))
    }

    /// The version the request was sent at, from the sidecar.
    static func version(_ name: String) -> Int16 {
        let sidecar = KafkaFixtures.sidecar(name)
        // The hand-written refusal has no request; treat it as the response to a v3 request.
        return Int16(int(sidecar["api_version"]) ?? int(sidecar["api_version_requested"]) ?? 3)
    }

    /// Fixtures whose peer writes one byte after the last field: librdkafka 2.16.0's mock cluster
    /// ends its Metadata v12 response with a 00 byte after the top-level tagged-field section.
    static let oneTrailingByte: Set<String> = ["librdkafka-mock/metadata-v12-missing-topic-response"]

    /// Returns whether the fixture is an ApiVersions response with error 35, which is decoded
    /// leniently so a client can always retry (see `ApiVersionsResponse.decodeWithFallback`).
    static func isApiVersionsRefusal(_ name: String) -> Bool {
        let bytes = KafkaFixtures.bytes(name)
        let isResponse = string(KafkaFixtures.sidecar(name)["direction"]) == "response"
        let errorCode = bytes.count >= 10 ? Int(bytes[8]) << 8 | Int(bytes[9]) : nil
        return isResponse && apiKey(name) == .apiVersions && errorCode == 35
    }

    /// Returns the decoded header and body. Bodies of versions this module does not implement are
    /// returned as raw bytes.
    static func decode(name: String, frame: [UInt8]) throws -> [AnyHashable] {
        let sidecar = KafkaFixtures.sidecar(name)
        let key = apiKey(name)
        let version = version(name)
        if string(sidecar["direction"]) == "request" {
            var (header, reader) = try KafkaFrame.decodeRequestHeader(frame: frame)
            guard key.supportedVersions?.contains(version) == true else {
                return [header, Array(frame[reader.readerIndex...])]
            }
            let body: AnyHashable
            switch key {
            case .apiVersions: body = try ApiVersionsRequest.decode(from: &reader, version: version)
            case .metadata: body = try MetadataRequest.decode(from: &reader, version: version)
            case .initProducerId: body = try InitProducerIdRequest.decode(from: &reader, version: version)
            case .produce: body = try ProduceRequest.decode(from: &reader, version: version)
            default: throw FixtureError(message: "no decoder for \(key)")
            }
            try reader.requireAtEnd()
            return [header, body]
        }
        if key == .apiVersions {
            // Tansu responds to ApiVersions above v4 in the v3 layout with error 0, so versions
            // above ours are decoded as our highest, v4, whose layout equals v3.
            let decoded = try ApiVersionsResponse.decodeFrame(frame, version: min(version, 4))
            return [decoded.header, decoded.response, decoded.decodedVersion]
        }
        var reader = WireReader(frame)
        let header = try ResponseHeader.decode(
            from: &reader, headerVersion: key.responseHeaderVersion(version))
        guard key.supportedVersions?.contains(version) == true else {
            return [header, Array(frame[reader.readerIndex...])]
        }
        let body: AnyHashable
        switch key {
        case .metadata where oneTrailingByte.contains(name):
            var bodyReader = reader
            bodyReader.context = WireContext(api: "Metadata response", version: version)
            body = try MetadataResponse.decode(from: &bodyReader, version: version)
            // Exactly the one extra byte must follow; anything else is malformed as usual.
            if bodyReader.readableBytes == 0 {
                throw WireDecodingError.truncated(
                    bodyReader.context, field: "trailing byte", offset: bodyReader.readerIndex, needed: 1,
                    remaining: 0)
            }
            try bodyReader.skip(1, field: "trailing byte")
            try bodyReader.requireAtEnd()
        case .metadata:
            body = try KafkaFrame.decodeResponse(MetadataResponse.self, frame: frame, version: version)
                .response
        case .initProducerId:
            body = try KafkaFrame.decodeResponse(InitProducerIdResponse.self, frame: frame, version: version)
                .response
        case .produce:
            body = try KafkaFrame.decodeResponse(ProduceResponse.self, frame: frame, version: version)
                .response
        default: throw FixtureError(message: "no decoder for \(key)")
        }
        return [header, body]
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

import KafkaWire

/// API keys the producer sends.
enum APIKey: Int16 {
    case produce = 0
    case metadata = 3
    case apiVersions = 18
    case initProducerID = 22

    var name: String {
        switch self {
        case .produce: "Produce"
        case .metadata: "Metadata"
        case .apiVersions: "ApiVersions"
        case .initProducerID: "InitProducerId"
        }
    }

    /// First version that uses compact types and tagged fields.
    var firstFlexibleVersion: Int16 {
        switch self {
        case .produce: 9
        case .metadata: 9
        case .apiVersions: 3
        case .initProducerID: 2
        }
    }

    /// Versions the producer can encode and decode. Produce starts at 3 (one magic-2 batch per
    /// partition; Kafka 4 rejects 0-2) and stops at 12, because 13 replaces topic names by ids.
    var supportedVersions: ClosedRange<Int16> {
        switch self {
        case .produce: 3...12
        case .metadata: 1...12
        case .apiVersions: 0...3
        case .initProducerID: 0...4
        }
    }
}

/// Builds one request: int32 size, request header (v1, or v2 with tagged fields for flexible
/// versions), body. Call ``finish()`` to fill in the size.
struct RequestFrame {
    var writer: WireWriter
    let flexible: Bool

    init(api: APIKey, version: Int16, correlationID: Int32, clientID: String, capacity: Int = 256) {
        writer = WireWriter(capacity: capacity, api: "\(api.name) v\(version) request")
        flexible = version >= api.firstFlexibleVersion
        writer.writeInt32(0)
        writer.writeInt16(api.rawValue)
        writer.writeInt16(version)
        writer.writeInt32(correlationID)
        // client_id stays an int16-length string in header v2 too.
        let clientBytes = Array(clientID.utf8.prefix(Int(Int16.max)))
        writer.writeInt16(Int16(clientBytes.count))
        writer.writeRawBytes(clientBytes)
        if flexible { writer.writeUInt8(0) }
    }

    mutating func finish() -> [UInt8] {
        writer.setInteger(Int32(writer.count - 4), at: 0)
        return writer.bytes
    }

    // Helpers that pick the classic or compact form.

    mutating func writeString(_ value: String, field: String) throws(WireEncodingError) {
        try writer.writeString(value, field: field, compact: flexible)
    }

    mutating func writeNullableString(_ value: String?, field: String) throws(WireEncodingError) {
        try writer.writeNullableString(value, field: field, compact: flexible)
    }

    mutating func writeArrayCount(_ count: Int, field: String) throws(WireEncodingError) {
        try writer.writeArrayCount(count, field: field, compact: flexible)
    }

    mutating func writeEmptyTaggedFields() {
        if flexible { writer.writeUInt8(0) }
    }
}

/// InitProducerId request (key 22), v0-v5 (InitProducerIdRequest.json in Apache Kafka). An
/// idempotent, non-transactional producer sends a null TransactionalId.
public struct InitProducerIdRequest: KafkaRequest {
    public static let apiKey = ApiKey.initProducerId

    public var transactionalId: String?
    public var transactionTimeoutMs: Int32
    /// v3+; -1 to get a new producer id.
    public var producerId: Int64
    /// v3+; -1 to get a new producer id.
    public var producerEpoch: Int16
    public var taggedFields: [TaggedField]

    public init(
        transactionalId: String? = nil, transactionTimeoutMs: Int32 = -1, producerId: Int64 = -1,
        producerEpoch: Int16 = -1, taggedFields: [TaggedField] = []
    ) {
        self.transactionalId = transactionalId
        self.transactionTimeoutMs = transactionTimeoutMs
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.taggedFields = taggedFields
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "request")
        let flexible = Self.apiKey.isFlexible(version)
        try writer.writeNullableString(transactionalId, field: "TransactionalId", compact: flexible)
        writer.writeInt32(transactionTimeoutMs)
        if version >= 3 {
            writer.writeInt64(producerId)
            writer.writeInt16(producerEpoch)
        }
        writer.writeTaggedFieldsIfFlexible(flexible, taggedFields)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        let flexible = apiKey.isFlexible(version)
        var request = Self(
            transactionalId: try reader.readNullableString("TransactionalId", compact: flexible),
            transactionTimeoutMs: try reader.readInt32("TransactionTimeoutMs"))
        if version >= 3 {
            request.producerId = try reader.readInt64("ProducerId")
            request.producerEpoch = try reader.readInt16("ProducerEpoch")
        }
        request.taggedFields = try reader.readTaggedFieldsIfFlexible(
            flexible, "InitProducerId request tagged fields")
        return request
    }
}

/// InitProducerId response (key 22), v0-v5.
public struct InitProducerIdResponse: KafkaResponse {
    public static let apiKey = ApiKey.initProducerId

    public var throttleTimeMs: Int32
    public var errorCode: KafkaErrorCode
    public var producerId: Int64
    public var producerEpoch: Int16
    public var taggedFields: [TaggedField]

    public init(
        throttleTimeMs: Int32 = 0, errorCode: KafkaErrorCode = .none, producerId: Int64,
        producerEpoch: Int16, taggedFields: [TaggedField] = []
    ) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.taggedFields = taggedFields
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "response")
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeInt64(producerId)
        writer.writeInt16(producerEpoch)
        writer.writeTaggedFieldsIfFlexible(Self.apiKey.isFlexible(version), taggedFields)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        return Self(
            throttleTimeMs: try reader.readInt32("ThrottleTimeMs"),
            errorCode: KafkaErrorCode(try reader.readInt16("ErrorCode")),
            producerId: try reader.readInt64("ProducerId"),
            producerEpoch: try reader.readInt16("ProducerEpoch"),
            taggedFields: try reader.readTaggedFieldsIfFlexible(
                apiKey.isFlexible(version), "InitProducerId response tagged fields"))
    }
}

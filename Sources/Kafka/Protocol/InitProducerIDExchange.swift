import KafkaWire

/// InitProducerId (key 22) without a transactional id: obtains the producer id for idempotence.
enum InitProducerIDExchange {
    static func request(version: Int16, correlationID: Int32, clientID: String) throws(WireEncodingError) -> [UInt8] {
        var frame = RequestFrame(api: .initProducerID, version: version, correlationID: correlationID,
                                 clientID: clientID)
        try frame.writeNullableString(nil, field: "TransactionalId")
        frame.writer.writeInt32(Int32.max)
        if version >= 3 {
            frame.writer.writeInt64(-1)
            frame.writer.writeInt16(-1)
        }
        frame.writeEmptyTaggedFields()
        return frame.finish()
    }

    struct Response: Equatable {
        var errorCode: KafkaErrorCode
        var producerID: Int64
        var producerEpoch: Int16
    }

    static func decode(_ body: inout WireReader, version: Int16) throws(WireDecodingError) -> Response {
        _ = try body.readInt32("ThrottleTimeMs")
        let errorCode = KafkaErrorCode(try body.readInt16("ErrorCode"))
        let producerID = try body.readInt64("ProducerId")
        let epoch = try body.readInt16("ProducerEpoch")
        if version >= APIKey.initProducerID.firstFlexibleVersion { _ = try body.readTaggedFields("tagged fields") }
        return Response(errorCode: errorCode, producerID: producerID, producerEpoch: epoch)
    }
}

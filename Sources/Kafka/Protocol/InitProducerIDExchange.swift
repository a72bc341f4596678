import KafkaWire

/// InitProducerId (key 22) without a transactional id: obtains the producer id for idempotence.
enum InitProducerIDExchange {
    /// Encodes the request. `bumping` names the producer id and epoch to bump. From v3 the request
    /// carries them; before v3, or with `nil`, it requests a new producer id.
    static func request(
        version: Int16, correlationID: Int32, clientID: String, bumping: (producerID: Int64, epoch: Int16)? = nil
    ) throws(WireEncodingError) -> [UInt8] {
        let current = version >= 3 ? bumping : nil
        // Kafka's InitProducerIdRequest.NO_TRANSACTION_TIMEOUT_MS: Int32.max without a transactional id.
        let request = InitProducerIdRequest(
            transactionalId: nil, transactionTimeoutMs: Int32.max, producerId: current?.producerID ?? -1,
            producerEpoch: current?.epoch ?? -1)
        return try KafkaFrame.encodeRequest(request, version: version, correlationId: correlationID, clientId: clientID)
    }

    struct Response: Equatable {
        var errorCode: KafkaErrorCode
        var producerID: Int64
        var producerEpoch: Int16
    }

    static func decode(frame: [UInt8], version: Int16) throws(WireDecodingError) -> (Int32, Response) {
        let (header, message) = try KafkaFrame.decodeResponse(InitProducerIdResponse.self, frame: frame,
                                                              version: version)
        return (header.correlationId, Response(errorCode: message.errorCode, producerID: message.producerId,
                                               producerEpoch: message.producerEpoch))
    }
}

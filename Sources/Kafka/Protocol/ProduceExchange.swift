import KafkaWire

/// Produce (key 0), versions 3 to 12: one record batch per partition.
enum ProduceExchange {
    /// Encodes the batches (grouped by topic, in the given order) into one request, returned as
    /// chunks to write in order. Batches of `inlineLimit` bytes or more are their own chunk, so
    /// the request does not copy them.
    static func request(
        version: Int16, correlationID: Int32, clientID: String, acks: Int16, timeoutMs: Int32,
        batches: [ProducerBatch], inlineLimit: Int = 16_384
    ) throws(WireEncodingError) -> [[UInt8]] {
        var topicOrder = [String]()
        var byTopic = [String: [ProducerBatch]]()
        for batch in batches {
            if byTopic[batch.topic] == nil { topicOrder.append(batch.topic) }
            byTopic[batch.topic, default: []].append(batch)
        }

        var frame = RequestFrame(api: .produce, version: version, correlationID: correlationID,
                                 clientID: clientID, capacity: 256)
        try frame.writeNullableString(nil, field: "TransactionalId")
        frame.writer.writeInt16(acks)
        frame.writer.writeInt32(timeoutMs)
        try frame.writeArrayCount(topicOrder.count, field: "TopicData")

        var chunks = [[UInt8]]()
        var total = 0
        for topic in topicOrder {
            let partitions = byTopic[topic]!
            try frame.writeString(topic, field: "TopicData.Name")
            try frame.writeArrayCount(partitions.count, field: "PartitionData")
            for batch in partitions {
                frame.writer.writeInt32(batch.partition)
                if frame.flexible {
                    frame.writer.writeUnsignedVarint(UInt32(batch.byteCount + 1))
                } else {
                    frame.writer.writeInt32(Int32(batch.byteCount))
                }
                if batch.byteCount < inlineLimit {
                    frame.writer.writeRawBytes(batch.bytes)
                } else {
                    total += frame.writer.bytes.count + batch.byteCount
                    chunks.append(frame.writer.bytes)
                    chunks.append(batch.bytes)
                    frame.writer.bytes = []
                    frame.writer.bytes.reserveCapacity(256)
                }
                frame.writeEmptyTaggedFields()
            }
            frame.writeEmptyTaggedFields()
        }
        frame.writeEmptyTaggedFields()
        total += frame.writer.bytes.count
        chunks.append(frame.writer.bytes)
        chunks[0].storeBigEndian(Int32(total - 4), at: 0)
        return chunks
    }

    struct PartitionResult {
        var topic: String
        var partition: Int32
        var errorCode: KafkaErrorCode
        var baseOffset: Int64
        var logAppendTime: Int64
        var errorMessage: String?
        /// The partition's log start offset (v5+), -1 when the broker did not send it.
        var logStartOffset: Int64 = -1
        /// KIP-951 CurrentLeader hint (v10+), when the broker sent one.
        var currentLeader: (id: Int32, epoch: Int32)?
    }

    struct Response {
        var partitions: [PartitionResult] = []
        /// KIP-951 NodeEndpoints (v10+): addresses of the leaders named in CurrentLeader hints.
        var nodeEndpoints: [Int32: MetadataCache.Broker] = [:]
    }

    static func decode(frame: [UInt8], version: Int16) throws(WireDecodingError) -> (Int32, Response) {
        let (header, message) = try KafkaFrame.decodeResponse(ProduceResponse.self, frame: frame, version: version)
        var response = Response()
        for topic in message.responses {
            for partition in topic.partitionResponses {
                response.partitions.append(PartitionResult(
                    topic: topic.name, partition: partition.index, errorCode: partition.errorCode,
                    baseOffset: partition.baseOffset, logAppendTime: partition.logAppendTimeMs,
                    errorMessage: partition.errorMessage, logStartOffset: partition.logStartOffset,
                    currentLeader: partition.currentLeader.map { ($0.leaderId, $0.leaderEpoch) }))
            }
        }
        for endpoint in message.nodeEndpoints {
            let broker = MetadataCache.Broker(host: endpoint.host, port: Int(endpoint.port))
            response.nodeEndpoints[endpoint.nodeId] = broker
        }
        return (header.correlationId, response)
    }
}

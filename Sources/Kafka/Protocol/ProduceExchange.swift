import KafkaWire

/// Produce (key 0), versions 3 to 12: one record batch per partition.
enum ProduceExchange {
    /// Encodes the batches (grouped by topic, in the given order) into one request.
    static func request(
        version: Int16, correlationID: Int32, clientID: String, acks: Int16, timeoutMs: Int32,
        batches: [ProducerBatch]
    ) throws(WireEncodingError) -> [UInt8] {
        var capacity = 128
        var topicOrder = [String]()
        var byTopic = [String: [ProducerBatch]]()
        for batch in batches {
            capacity += batch.byteCount + 16 + batch.topic.utf8.count
            if byTopic[batch.topic] == nil { topicOrder.append(batch.topic) }
            byTopic[batch.topic, default: []].append(batch)
        }
        var frame = RequestFrame(api: .produce, version: version, correlationID: correlationID,
                                 clientID: clientID, capacity: capacity)
        try frame.writeNullableString(nil, field: "TransactionalId")
        frame.writer.writeInt16(acks)
        frame.writer.writeInt32(timeoutMs)
        try frame.writeArrayCount(topicOrder.count, field: "TopicData")
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
                frame.writer.bytes.append(contentsOf: batch.bytes)
                frame.writeEmptyTaggedFields()
            }
            frame.writeEmptyTaggedFields()
        }
        frame.writeEmptyTaggedFields()
        return frame.finish()
    }

    struct PartitionResult {
        var topic: String
        var partition: Int32
        var errorCode: KafkaErrorCode
        var baseOffset: Int64
        var logAppendTime: Int64
        var errorMessage: String?
        /// KIP-951 CurrentLeader hint (v10+), when the broker sent one.
        var currentLeader: (id: Int32, epoch: Int32)?
    }

    struct Response {
        var partitions: [PartitionResult] = []
        /// KIP-951 NodeEndpoints (v10+): addresses of the leaders named in CurrentLeader hints.
        var nodeEndpoints: [Int32: MetadataCache.Broker] = [:]
    }

    static func decode(_ body: inout WireReader, version: Int16) throws(WireDecodingError) -> Response {
        let compact = version >= APIKey.produce.firstFlexibleVersion
        var response = Response()
        let topicCount = try body.readArrayCount("Responses", compact: compact, minimumElementSize: 6)
        for _ in 0..<topicCount {
            let topic = try body.readString("Responses.Name", compact: compact)
            let count = try body.readArrayCount("PartitionResponses", compact: compact, minimumElementSize: 14)
            for _ in 0..<count {
                var result = PartitionResult(
                    topic: topic, partition: try body.readInt32("Index"),
                    errorCode: KafkaErrorCode(try body.readInt16("ErrorCode")),
                    baseOffset: try body.readInt64("BaseOffset"), logAppendTime: -1)
                if version >= 2 { result.logAppendTime = try body.readInt64("LogAppendTimeMs") }
                if version >= 5 { _ = try body.readInt64("LogStartOffset") }
                if version >= 8 {
                    let errorCount = try body.readArrayCount("RecordErrors", compact: compact, minimumElementSize: 5)
                    for _ in 0..<errorCount {
                        _ = try body.readInt32("RecordErrors.BatchIndex")
                        _ = try body.readNullableString("RecordErrors.BatchIndexErrorMessage", compact: compact)
                        if compact { _ = try body.readTaggedFields("RecordErrors tagged fields") }
                    }
                    result.errorMessage = try body.readNullableString("ErrorMessage", compact: compact)
                }
                if compact {
                    _ = try body.readTaggedFields("PartitionResponses tagged fields") { tag, field throws(WireDecodingError) in
                        guard tag == 0, version >= 10 else { return false }
                        let leader = try field.readInt32("CurrentLeader.LeaderId")
                        let epoch = try field.readInt32("CurrentLeader.LeaderEpoch")
                        _ = try field.readTaggedFields("CurrentLeader tagged fields")
                        result.currentLeader = (leader, epoch)
                        return true
                    }
                }
                response.partitions.append(result)
            }
            if compact { _ = try body.readTaggedFields("Responses tagged fields") }
        }
        if version >= 1 { _ = try body.readInt32("ThrottleTimeMs") }
        if compact {
            _ = try body.readTaggedFields("tagged fields") { tag, field throws(WireDecodingError) in
                guard tag == 0, version >= 10 else { return false }
                let count = try field.readArrayCount("NodeEndpoints", compact: true, minimumElementSize: 10)
                for _ in 0..<count {
                    let node = try field.readInt32("NodeEndpoints.NodeId")
                    let host = try field.readString("NodeEndpoints.Host", compact: true)
                    let port = try field.readInt32("NodeEndpoints.Port")
                    _ = try field.readNullableString("NodeEndpoints.Rack", compact: true)
                    _ = try field.readTaggedFields("NodeEndpoints tagged fields")
                    response.nodeEndpoints[node] = MetadataCache.Broker(host: host, port: Int(port))
                }
                return true
            }
        }
        return response
    }
}

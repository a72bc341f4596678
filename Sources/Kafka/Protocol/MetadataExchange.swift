import KafkaWire

/// Metadata (key 3) for the topics in use, versions 1 to 12.
enum MetadataExchange {
    static func request(
        version: Int16, correlationID: Int32, clientID: String, topics: [String]
    ) throws(WireEncodingError) -> [UInt8] {
        var frame = RequestFrame(api: .metadata, version: version, correlationID: correlationID,
                                 clientID: clientID, capacity: 64 + topics.count * 32)
        try frame.writeArrayCount(topics.count, field: "Topics")
        for topic in topics {
            if version >= 10 { frame.writer.writeUUID(.zero) }
            try frame.writeString(topic, field: "Topics.Name")
            frame.writeEmptyTaggedFields()
        }
        // Topics must be created explicitly, as with a producer on a cluster that disables auto-creation.
        if version >= 4 { frame.writer.writeBool(false) }
        if version >= 8 && version <= 10 { frame.writer.writeBool(false) }
        if version >= 8 { frame.writer.writeBool(false) }
        frame.writeEmptyTaggedFields()
        return frame.finish()
    }

    struct Response {
        var brokers: [Int32: MetadataCache.Broker] = [:]
        var topics: [String: MetadataCache.Topic] = [:]
    }

    static func decode(_ body: inout WireReader, version: Int16) throws(WireDecodingError) -> Response {
        let compact = version >= APIKey.metadata.firstFlexibleVersion
        var response = Response()
        if version >= 3 { _ = try body.readInt32("ThrottleTimeMs") }
        let brokerCount = try body.readArrayCount("Brokers", compact: compact, minimumElementSize: 10)
        for _ in 0..<brokerCount {
            let nodeID = try body.readInt32("Brokers.NodeId")
            let host = try body.readString("Brokers.Host", compact: compact)
            let port = try body.readInt32("Brokers.Port")
            _ = try body.readNullableString("Brokers.Rack", compact: compact)
            if compact { _ = try body.readTaggedFields("Brokers tagged fields") }
            response.brokers[nodeID] = MetadataCache.Broker(host: host, port: Int(port))
        }
        if version >= 2 { _ = try body.readNullableString("ClusterId", compact: compact) }
        _ = try body.readInt32("ControllerId")
        let topicCount = try body.readArrayCount("Topics", compact: compact, minimumElementSize: 8)
        for _ in 0..<topicCount {
            let errorCode = try body.readInt16("Topics.ErrorCode")
            let name = try body.readNullableString("Topics.Name", compact: compact)
            if version >= 10 { _ = try body.readUUID("Topics.TopicId") }
            _ = try body.readBool("Topics.IsInternal")
            let partitionCount = try body.readArrayCount("Topics.Partitions", compact: compact,
                                                         minimumElementSize: 18)
            var leaders = [Int32](repeating: -1, count: partitionCount)
            var epochs = [Int32](repeating: -1, count: partitionCount)
            var valid = true
            for _ in 0..<partitionCount {
                let partitionError = try body.readInt16("Partitions.ErrorCode")
                let index = try body.readInt32("Partitions.PartitionIndex")
                let leader = try body.readInt32("Partitions.LeaderId")
                let epoch = version >= 7 ? try body.readInt32("Partitions.LeaderEpoch") : -1
                _ = try body.readInt32Array("Partitions.ReplicaNodes", compact: compact)
                _ = try body.readInt32Array("Partitions.IsrNodes", compact: compact)
                if version >= 5 { _ = try body.readInt32Array("Partitions.OfflineReplicas", compact: compact) }
                if compact { _ = try body.readTaggedFields("Partitions tagged fields") }
                guard index >= 0, Int(index) < partitionCount else {
                    valid = false
                    continue
                }
                let noLeader = partitionError == KafkaErrorCode.leaderNotAvailable.rawValue
                leaders[Int(index)] = noLeader ? -1 : leader
                epochs[Int(index)] = epoch
            }
            if version >= 8 { _ = try body.readInt32("Topics.TopicAuthorizedOperations") }
            if compact { _ = try body.readTaggedFields("Topics tagged fields") }
            guard let name, valid else { continue }
            response.topics[name] = MetadataCache.Topic(errorCode: errorCode, leaders: leaders, leaderEpochs: epochs)
        }
        if version >= 8 && version <= 10 { _ = try body.readInt32("ClusterAuthorizedOperations") }
        if compact { _ = try body.readTaggedFields("tagged fields") }
        return response
    }
}

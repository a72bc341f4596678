import KafkaWire

/// Metadata (key 3) for the topics in use, versions 1 to 12, through KafkaWire's message types.
enum MetadataExchange {
    static func request(
        version: Int16, correlationID: Int32, clientID: String, topics: [String]
    ) throws(WireEncodingError) -> [UInt8] {
        // Topics must be created explicitly, as with a producer on a cluster that disables auto-creation.
        let request = MetadataRequest(topicNames: topics, allowAutoTopicCreation: false)
        return try KafkaFrame.encodeRequest(request, version: version, correlationId: correlationID, clientId: clientID)
    }

    struct Response {
        var brokers: [Int32: MetadataCache.Broker] = [:]
        var topics: [String: MetadataCache.Topic] = [:]
    }

    static func decode(frame: [UInt8], version: Int16) throws(WireDecodingError) -> (Int32, Response) {
        let (header, message) = try KafkaFrame.decodeResponse(MetadataResponse.self, frame: frame, version: version)
        var response = Response()
        for broker in message.brokers {
            response.brokers[broker.nodeId] = MetadataCache.Broker(host: broker.host, port: Int(broker.port))
        }
        for topic in message.topics {
            guard let name = topic.name else { continue }
            let count = topic.partitions.count
            var leaders = [Int32](repeating: -1, count: count)
            var epochs = [Int32](repeating: -1, count: count)
            var valid = true
            for partition in topic.partitions {
                let index = Int(partition.partitionIndex)
                guard index >= 0, index < count else {
                    valid = false
                    continue
                }
                leaders[index] = partition.errorCode == .leaderNotAvailable ? -1 : partition.leaderId
                epochs[index] = partition.leaderEpoch
            }
            guard valid else { continue }
            response.topics[name] = MetadataCache.Topic(
                errorCode: topic.errorCode.rawValue, leaders: leaders, leaderEpochs: epochs)
        }
        return (header.correlationId, response)
    }
}

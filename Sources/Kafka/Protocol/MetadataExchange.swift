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
        /// Topics left out because their partition list is unusable, with the reason.
        var invalidTopics: [String: String] = [:]
    }

    static func decode(frame: [UInt8], version: Int16) throws(WireDecodingError) -> (Int32, Response) {
        let (header, message) = try KafkaFrame.decodeResponse(MetadataResponse.self, frame: frame, version: version)
        var response = Response()
        for broker in message.brokers {
            response.brokers[broker.nodeId] = MetadataCache.Broker(host: broker.host, port: Int(broker.port))
        }
        for topic in message.topics {
            guard let name = topic.name else { continue }
            switch partitionTable(topic.partitions) {
            case .success(let table):
                response.topics[name] = MetadataCache.Topic(
                    errorCode: topic.errorCode.rawValue, leaders: table.leaders, leaderEpochs: table.epochs)
            case .failure(let problem):
                response.invalidTopics[name] = problem.reason
            }
        }
        return (header.correlationId, response)
    }

    struct InvalidPartitions: Error {
        var reason: String
    }

    /// Builds the leader and leader-epoch tables, indexed by partition id. A partition id listed
    /// twice counts once, with its last entry. The ids must be exactly 0 to N-1: a producer
    /// hashes keys over N partitions, so with a hole some keys would map to a partition that does
    /// not exist, and the topic is rejected rather than guessed at.
    static func partitionTable(
        _ partitions: [MetadataResponse.Partition]
    ) -> Result<(leaders: [Int32], epochs: [Int32]), InvalidPartitions> {
        var entries: [Int32: MetadataResponse.Partition] = [:]
        for partition in partitions {
            entries[partition.partitionIndex] = partition
        }
        let count = entries.count
        guard entries.keys.allSatisfy({ $0 >= 0 && Int($0) < count }) else {
            let ids = entries.keys.sorted()
            let listedIDs = ids.prefix(10).map(String.init).joined(separator: ", ") + (ids.count > 10 ? ", ..." : "")
            return .failure(InvalidPartitions(
                reason: "partition ids [\(listedIDs)] are not 0 to \(count - 1) without gaps, so the topic's "
                    + "partition count is unknown"))
        }
        var leaders = [Int32](repeating: -1, count: count)
        var epochs = [Int32](repeating: -1, count: count)
        for (id, partition) in entries {
            leaders[Int(id)] = partition.errorCode == .leaderNotAvailable ? -1 : partition.leaderId
            epochs[Int(id)] = partition.leaderEpoch
        }
        return .success((leaders, epochs))
    }
}

extension ClusterState {
    /// Builds a Metadata response. Every broker not in `unlistedBrokers` is listed, each at
    /// 127.0.0.1 (or its `advertisedHosts` entry) and its own port. A partition without a leader
    /// gets LEADER_NOT_AVAILABLE and LeaderId -1. An error fault sets the error code of every
    /// topic it covers (all topics in the response when it names none).
    mutating func metadata(
        _ body: MetadataRequestBody, errorFault: (fault: FakeKafkaFault, code: Int16)?
    )
        -> MetadataResponseData
    {
        var response = MetadataResponseData(
            brokers: endpoints, clusterID: configuration.clusterID, controllerID: configuration.controllerID,
            topics: [])
        var requested: [MetadataRequestTopic]
        if let topics = body.topics {
            requested = topics
        } else {
            requested = topicOrder.map { MetadataRequestTopic(topicID: nil, name: $0) }
        }
        for request in requested {
            var topicResponse = topicMetadata(request, allowAutoTopicCreation: body.allowAutoTopicCreation)
            if let errorFault, errorFault.fault.topic == nil || errorFault.fault.topic == topicResponse.name {
                topicResponse.errorCode = errorFault.code
            }
            response.topics.append(topicResponse)
        }
        return response
    }

    private mutating func topicMetadata(
        _ request: MetadataRequestTopic, allowAutoTopicCreation: Bool
    )
        -> MetadataResponseTopic
    {
        var name = request.name
        if name == nil, let id = request.topicID {
            name = topics.values.first { $0.topicID == id }?.name
            if name == nil {
                return MetadataResponseTopic(
                    errorCode: FakeKafkaErrorCode.unknownTopicId, name: nil, topicID: id, partitions: [])
            }
        }
        guard let name else {
            return MetadataResponseTopic(
                errorCode: FakeKafkaErrorCode.unknownTopicOrPartition, name: nil, topicID: zeroTopicID,
                partitions: [])
        }
        if topics[name] == nil && configuration.autoCreateTopics && allowAutoTopicCreation {
            try? createTopic(
                name, partitions: max(1, configuration.autoCreatePartitions), maxMessageBytes: nil,
                leaders: nil)
        }
        guard let topic = topics[name] else {
            return MetadataResponseTopic(
                errorCode: FakeKafkaErrorCode.unknownTopicOrPartition, name: name, topicID: zeroTopicID,
                partitions: [])
        }
        let listed = metadataPartitionIDs[name].map { ids in
            ids.filter { $0 >= 0 && Int($0) < topic.partitions.count }.map { (Int($0), topic.partitions[Int($0)]) }
        } ?? Array(topic.partitions.enumerated())
        let partitions = listed.map { index, partition in
            MetadataResponsePartition(
                errorCode: partition.leader == -1
                    ? FakeKafkaErrorCode.leaderNotAvailable : FakeKafkaErrorCode.none,
                index: Int32(index), leaderID: partition.leader, leaderEpoch: partition.leaderEpoch,
                replicas: partition.replicas, isr: partition.replicas)
        }
        return MetadataResponseTopic(errorCode: 0, name: name, topicID: topic.topicID, partitions: partitions)
    }

    private var zeroTopicID: [UInt8] { [UInt8](repeating: 0, count: 16) }
}

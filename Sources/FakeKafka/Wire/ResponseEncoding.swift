import KafkaWire

struct SupportedAPI: Sendable {
    var key: Int16
    var minimumVersion: Int16
    var maximumVersion: Int16
}

struct BrokerEndpoint: Sendable {
    var nodeID: Int32
    var host: String
    var port: Int32
}

struct MetadataResponsePartition: Sendable {
    var errorCode: Int16
    var index: Int32
    var leaderID: Int32
    var leaderEpoch: Int32
    var replicas: [Int32]
    var isr: [Int32]
}

struct MetadataResponseTopic: Sendable {
    var errorCode: Int16
    var name: String?
    var topicID: [UInt8]
    var partitions: [MetadataResponsePartition]
}

struct MetadataResponseData: Sendable {
    var brokers: [BrokerEndpoint]
    var clusterID: String
    var controllerID: Int32
    var topics: [MetadataResponseTopic]
}

struct PartitionProduceResponse: Sendable {
    var index: Int32
    var errorCode: Int16
    var baseOffset: Int64
    var logAppendTime: Int64
    var logStartOffset: Int64
    var errorMessage: String?
    /// Sent as the KIP-951 CurrentLeader tag (v10+) with NOT_LEADER_OR_FOLLOWER.
    var currentLeader: (id: Int32, epoch: Int32)?
}

struct TopicProduceResponse: Sendable {
    var name: String
    var partitions: [PartitionProduceResponse]
}

/// Builds response frames with KafkaWire's message encoders. Each returns a whole frame, size
/// prefix included, with the response header version the API and version require.
enum ResponseEncoding {
    static func apiVersions(
        correlationID: Int32, version: Int16, errorCode: Int16, apis: [SupportedAPI]
    ) throws(WireEncodingError) -> [UInt8] {
        let response = ApiVersionsResponse(
            errorCode: KafkaErrorCode(errorCode),
            apiKeys: apis.map {
                ApiVersionsResponse.ApiVersionRange(
                    apiKey: ApiKey($0.key), minVersion: $0.minimumVersion, maxVersion: $0.maximumVersion)
            })
        return try KafkaFrame.encodeResponse(response, version: version, correlationId: correlationID)
    }

    static func metadata(
        correlationID: Int32, version: Int16, response data: MetadataResponseData
    )
        throws(WireEncodingError) -> [UInt8]
    {
        var response = MetadataResponse(
            brokers: data.brokers.map {
                MetadataResponse.Broker(nodeId: $0.nodeID, host: $0.host, port: $0.port)
            },
            topics: [])
        response.clusterId = data.clusterID
        response.controllerId = data.controllerID
        response.topics = data.topics.map { topic in
            MetadataResponse.Topic(
                errorCode: KafkaErrorCode(topic.errorCode),
                name: version >= 12 ? topic.name : topic.name ?? "",
                topicId: KafkaUUID(bytes: topic.topicID),
                partitions: topic.partitions.map { partition in
                    MetadataResponse.Partition(
                        errorCode: KafkaErrorCode(partition.errorCode), partitionIndex: partition.index,
                        leaderId: partition.leaderID, leaderEpoch: partition.leaderEpoch,
                        replicaNodes: partition.replicas, isrNodes: partition.isr)
                })
        }
        return try KafkaFrame.encodeResponse(response, version: version, correlationId: correlationID)
    }

    static func initProducerId(
        correlationID: Int32, version: Int16, errorCode: Int16, producerID: Int64, producerEpoch: Int16
    ) throws(WireEncodingError) -> [UInt8] {
        let response = InitProducerIdResponse(
            errorCode: KafkaErrorCode(errorCode), producerId: producerID, producerEpoch: producerEpoch)
        return try KafkaFrame.encodeResponse(response, version: version, correlationId: correlationID)
    }

    /// `nodeEndpoints` are sent at v10+ (KIP-951), as are each partition's CurrentLeader.
    static func produce(
        correlationID: Int32, version: Int16, topics: [TopicProduceResponse], nodeEndpoints: [BrokerEndpoint]
    ) throws(WireEncodingError) -> [UInt8] {
        let responses = topics.map { topic in
            ProduceResponse.TopicResponse(
                name: topic.name,
                partitionResponses: topic.partitions.map { partition in
                    ProduceResponse.PartitionResponse(
                        index: partition.index, errorCode: KafkaErrorCode(partition.errorCode),
                        baseOffset: partition.baseOffset, logAppendTimeMs: partition.logAppendTime,
                        logStartOffset: partition.logStartOffset, errorMessage: partition.errorMessage,
                        currentLeader: partition.currentLeader.map {
                            ProduceResponse.LeaderIdAndEpoch(leaderId: $0.id, leaderEpoch: $0.epoch)
                        })
                })
        }
        let response = ProduceResponse(
            responses: responses,
            nodeEndpoints: nodeEndpoints.map {
                ProduceResponse.NodeEndpoint(nodeId: $0.nodeID, host: $0.host, port: $0.port)
            })
        return try KafkaFrame.encodeResponse(response, version: version, correlationId: correlationID)
    }
}

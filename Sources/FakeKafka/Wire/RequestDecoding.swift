import KafkaWire

struct ApiVersionsRequestBody: Sendable {
    /// nil before v3, where the body is empty.
    var clientSoftwareName: String?
    var clientSoftwareVersion: String?
}

struct MetadataRequestTopic: Sendable {
    var topicID: [UInt8]?
    var name: String?
}

struct MetadataRequestBody: Sendable {
    /// nil = all topics, empty = no topics.
    var topics: [MetadataRequestTopic]?
    var allowAutoTopicCreation: Bool
}

struct InitProducerIdRequestBody: Sendable {
    var transactionalID: String?
    var transactionTimeoutMilliseconds: Int32
    var producerID: Int64
    var producerEpoch: Int16
}

struct ProducePartitionData: Sendable {
    var index: Int32
    var records: [UInt8]?
}

struct ProduceTopicData: Sendable {
    var name: String
    var partitions: [ProducePartitionData]
}

struct ProduceRequestBody: Sendable {
    var transactionalID: String?
    var acks: Int16
    var timeoutMilliseconds: Int32
    var topics: [ProduceTopicData]
}

/// A request body decoded for one of the APIs the fake serves.
enum DecodedRequest {
    case apiVersions(ApiVersionsRequestBody)
    case metadata(MetadataRequestBody)
    case initProducerId(InitProducerIdRequestBody)
    case produce(ProduceRequestBody)

    /// Decodes a body with KafkaWire's request decoders and requires that it fills the frame.
    /// Returns nil for an API the fake does not serve.
    static func decode(
        header: RequestHeader, body reader: inout WireReader
    ) throws(WireDecodingError)
        -> DecodedRequest?
    {
        let version = header.apiVersion
        let decoded: DecodedRequest
        switch header.apiKey {
        case .apiVersions:
            let request = try ApiVersionsRequest.decode(from: &reader, version: version)
            decoded = .apiVersions(
                ApiVersionsRequestBody(
                    clientSoftwareName: version >= 3 ? request.clientSoftwareName : nil,
                    clientSoftwareVersion: version >= 3 ? request.clientSoftwareVersion : nil))
        case .metadata:
            let request = try MetadataRequest.decode(from: &reader, version: version)
            let topics = request.topics?.map { topic in
                MetadataRequestTopic(
                    topicID: topic.topicId == .zero ? nil : topic.topicId.bytes, name: topic.name)
            }
            // AllowAutoTopicCreation exists from v4; earlier versions always allow it.
            decoded = .metadata(
                MetadataRequestBody(
                    topics: topics, allowAutoTopicCreation: version < 4 || request.allowAutoTopicCreation))
        case .initProducerId:
            let request = try InitProducerIdRequest.decode(from: &reader, version: version)
            decoded = .initProducerId(
                InitProducerIdRequestBody(
                    transactionalID: request.transactionalId,
                    transactionTimeoutMilliseconds: request.transactionTimeoutMs,
                    producerID: request.producerId, producerEpoch: request.producerEpoch))
        case .produce:
            let request = try ProduceRequest.decode(from: &reader, version: version)
            let topics = request.topicData.map { topic in
                ProduceTopicData(
                    name: topic.name,
                    partitions: topic.partitionData.map {
                        ProducePartitionData(index: $0.index, records: $0.records)
                    })
            }
            decoded = .produce(
                ProduceRequestBody(
                    transactionalID: request.transactionalId, acks: request.acks,
                    timeoutMilliseconds: request.timeoutMs, topics: topics))
        default:
            return nil
        }
        try reader.requireAtEnd()
        return decoded
    }

    /// The topic/partition pairs a request names, for fault filters; nil when it names none.
    var partitions: [(topic: String, partition: Int32)]? {
        switch self {
        case .produce(let body):
            return body.topics.flatMap { topic in topic.partitions.map { (topic.name, $0.index) } }
        case .metadata(let body):
            // Partition -1 lets a fault with only a topic filter match a Metadata request.
            return body.topics?.compactMap { topic in topic.name.map { ($0, -1) } }
        case .apiVersions, .initProducerId:
            return nil
        }
    }
}

/// Request header v1 or v2 (v2 adds tagged fields after ClientId).
struct RequestHeader: Sendable {
    var apiKey: Int16
    var apiVersion: Int16
    var correlationID: Int32
    var clientID: String?
}

struct ApiVersionsRequestBody: Sendable {
    var clientSoftwareName: String?
    var clientSoftwareVersion: String?
}

struct MetadataRequestTopic: Sendable {
    var topicID: [UInt8]?
    var name: String?
}

struct MetadataRequestBody: Sendable {
    /// nil = all topics (v1+), empty = no topics. Version 0 uses an empty array for all topics.
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

/// Decoders for the request bodies the fake broker serves. Field layouts follow Kafka's message
/// definitions (clients/src/main/resources/common/message/*Request.json).
enum RequestDecoding {
    /// Flexible (compact, tagged) encoding starts at these versions.
    static func isFlexible(apiKey: Int16, version: Int16) -> Bool {
        switch apiKey {
        case FakeKafkaAPIKey.produce.rawValue: version >= 9
        case FakeKafkaAPIKey.metadata.rawValue: version >= 9
        case FakeKafkaAPIKey.apiVersions.rawValue: version >= 3
        case FakeKafkaAPIKey.initProducerId.rawValue: version >= 2
        default: false
        }
    }

    /// Reads the header fields up to ClientId. The caller skips the v2 tagged fields once it
    /// knows the API version is served, because the header version depends on it.
    static func decodeHeader(_ reader: inout RequestReader) throws(RequestDecodingError) -> RequestHeader {
        let apiKey = try reader.readInt16("ApiKey")
        let apiVersion = try reader.readInt16("ApiVersion")
        let correlationID = try reader.readInt32("CorrelationId")
        // ClientId is an int16-length string even in header v2.
        let clientID = try reader.readNullableString("ClientId", flexible: false)
        return RequestHeader(apiKey: apiKey, apiVersion: apiVersion, correlationID: correlationID, clientID: clientID)
    }

    static func decodeApiVersions(_ reader: inout RequestReader, version: Int16)
        throws(RequestDecodingError) -> ApiVersionsRequestBody
    {
        guard version >= 3 else { return ApiVersionsRequestBody() }
        let name = try reader.readString("ClientSoftwareName", flexible: true)
        let softwareVersion = try reader.readString("ClientSoftwareVersion", flexible: true)
        try reader.skipTaggedFields()
        return ApiVersionsRequestBody(clientSoftwareName: name, clientSoftwareVersion: softwareVersion)
    }

    static func decodeMetadata(_ reader: inout RequestReader, version: Int16)
        throws(RequestDecodingError) -> MetadataRequestBody
    {
        let flexible = version >= 9
        var topics: [MetadataRequestTopic]?
        // An element is at least a one-byte compact name, or an int16 length.
        let minimumSize = (version >= 10 ? 16 : 0) + 2
        if let count = try reader.readArrayCount("Topics", flexible: flexible, minimumElementSize: minimumSize) {
            var list: [MetadataRequestTopic] = []
            list.reserveCapacity(count)
            for _ in 0..<count {
                var topic = MetadataRequestTopic()
                if version >= 10 {
                    topic.topicID = try reader.readBytes(16, "Topics.TopicId")
                    topic.name = try reader.readNullableString("Topics.Name", flexible: flexible)
                } else {
                    topic.name = try reader.readString("Topics.Name", flexible: flexible)
                }
                if flexible { try reader.skipTaggedFields("Topics.TaggedFields") }
                list.append(topic)
            }
            topics = list
        } else if version == 0 {
            throw .invalidLength(reader.context, field: "Topics", offset: 0, length: -1)
        }
        if version == 0 && topics?.isEmpty == true { topics = nil }
        var allowAutoTopicCreation = true
        if version >= 4 { allowAutoTopicCreation = try reader.readBool("AllowAutoTopicCreation") }
        if (8...10).contains(version) { _ = try reader.readBool("IncludeClusterAuthorizedOperations") }
        if version >= 8 { _ = try reader.readBool("IncludeTopicAuthorizedOperations") }
        if flexible { try reader.skipTaggedFields() }
        return MetadataRequestBody(topics: topics, allowAutoTopicCreation: allowAutoTopicCreation)
    }

    static func decodeInitProducerId(_ reader: inout RequestReader, version: Int16)
        throws(RequestDecodingError) -> InitProducerIdRequestBody
    {
        let flexible = version >= 2
        let transactionalID = try reader.readNullableString("TransactionalId", flexible: flexible)
        let timeout = try reader.readInt32("TransactionTimeoutMs")
        var producerID: Int64 = -1
        var producerEpoch: Int16 = -1
        if version >= 3 {
            producerID = try reader.readInt64("ProducerId")
            producerEpoch = try reader.readInt16("ProducerEpoch")
        }
        if flexible { try reader.skipTaggedFields() }
        return InitProducerIdRequestBody(
            transactionalID: transactionalID, transactionTimeoutMilliseconds: timeout, producerID: producerID,
            producerEpoch: producerEpoch)
    }

    static func decodeProduce(_ reader: inout RequestReader, version: Int16)
        throws(RequestDecodingError) -> ProduceRequestBody
    {
        let flexible = version >= 9
        let transactionalID = try reader.readNullableString("TransactionalId", flexible: flexible)
        let acks = try reader.readInt16("Acks")
        let timeout = try reader.readInt32("TimeoutMs")
        let topicCount = try reader.readArrayCount("TopicData", flexible: flexible, minimumElementSize: 2) ?? 0
        var topics: [ProduceTopicData] = []
        topics.reserveCapacity(topicCount)
        for _ in 0..<topicCount {
            let name = try reader.readString("TopicData.Name", flexible: flexible)
            let partitionCount = try reader.readArrayCount(
                "TopicData.PartitionData", flexible: flexible, minimumElementSize: 5) ?? 0
            var partitions: [ProducePartitionData] = []
            partitions.reserveCapacity(partitionCount)
            for _ in 0..<partitionCount {
                let index = try reader.readInt32("PartitionData.Index")
                let records = try reader.readNullableBytes("PartitionData.Records", flexible: flexible)
                if flexible { try reader.skipTaggedFields("PartitionData.TaggedFields") }
                partitions.append(ProducePartitionData(index: index, records: records))
            }
            if flexible { try reader.skipTaggedFields("TopicData.TaggedFields") }
            topics.append(ProduceTopicData(name: name, partitions: partitions))
        }
        if flexible { try reader.skipTaggedFields() }
        return ProduceRequestBody(
            transactionalID: transactionalID, acks: acks, timeoutMilliseconds: timeout, topics: topics)
    }
}

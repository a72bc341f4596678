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

struct MetadataPartitionAnswer: Sendable {
    var errorCode: Int16
    var index: Int32
    var leaderID: Int32
    var leaderEpoch: Int32
    var replicas: [Int32]
    var isr: [Int32]
}

struct MetadataTopicAnswer: Sendable {
    var errorCode: Int16
    var name: String?
    var topicID: [UInt8]
    var partitions: [MetadataPartitionAnswer]
}

struct MetadataAnswer: Sendable {
    var brokers: [BrokerEndpoint]
    var clusterID: String
    var controllerID: Int32
    var topics: [MetadataTopicAnswer]
}

struct ProducePartitionAnswer: Sendable {
    var index: Int32
    var errorCode: Int16
    var baseOffset: Int64
    var logAppendTime: Int64
    var logStartOffset: Int64
    var errorMessage: String?
    /// Sent as the KIP-951 CurrentLeader tag (v10+) with NOT_LEADER_OR_FOLLOWER.
    var currentLeader: (id: Int32, epoch: Int32)?
}

struct ProduceTopicAnswer: Sendable {
    var name: String
    var partitions: [ProducePartitionAnswer]
}

/// Encoders for the responses the fake broker sends, following Kafka's message definitions
/// (clients/src/main/resources/common/message/*Response.json). Each returns a whole frame.
enum ResponseEncoding {
    /// ApiVersions always uses response header v0 (no tagged fields), even at v3+ (KIP-511).
    static func apiVersions(
        correlationID: Int32, version: Int16, errorCode: Int16, apis: [SupportedAPI]
    ) -> [UInt8] {
        let flexible = version >= 3
        var writer = ResponseWriter()
        writer.writeResponseHeader(correlationID: correlationID, flexible: false)
        writer.writeInt16(errorCode)
        writer.writeArrayCount(apis.count, flexible: flexible)
        for api in apis {
            writer.writeInt16(api.key)
            writer.writeInt16(api.minimumVersion)
            writer.writeInt16(api.maximumVersion)
            if flexible { writer.writeEmptyTaggedFields() }
        }
        if version >= 1 { writer.writeInt32(0) }
        if flexible { writer.writeEmptyTaggedFields() }
        return writer.finish()
    }

    static func metadata(correlationID: Int32, version: Int16, answer: MetadataAnswer) -> [UInt8] {
        let flexible = version >= 9
        var writer = ResponseWriter()
        writer.writeResponseHeader(correlationID: correlationID, flexible: flexible)
        if version >= 3 { writer.writeInt32(0) }
        writer.writeArrayCount(answer.brokers.count, flexible: flexible)
        for broker in answer.brokers {
            writer.writeInt32(broker.nodeID)
            writer.writeString(broker.host, flexible: flexible)
            writer.writeInt32(broker.port)
            if version >= 1 { writer.writeNullableString(nil, flexible: flexible) }
            if flexible { writer.writeEmptyTaggedFields() }
        }
        if version >= 2 { writer.writeNullableString(answer.clusterID, flexible: flexible) }
        if version >= 1 { writer.writeInt32(answer.controllerID) }
        writer.writeArrayCount(answer.topics.count, flexible: flexible)
        for topic in answer.topics {
            writer.writeInt16(topic.errorCode)
            if version >= 12 {
                writer.writeNullableString(topic.name, flexible: flexible)
            } else {
                writer.writeString(topic.name ?? "", flexible: flexible)
            }
            if version >= 10 { writer.writeBytes(topic.topicID) }
            if version >= 1 { writer.writeBool(false) }
            writer.writeArrayCount(topic.partitions.count, flexible: flexible)
            for partition in topic.partitions {
                writer.writeInt16(partition.errorCode)
                writer.writeInt32(partition.index)
                writer.writeInt32(partition.leaderID)
                if version >= 7 { writer.writeInt32(partition.leaderEpoch) }
                writeInt32Array(&writer, partition.replicas, flexible: flexible)
                writeInt32Array(&writer, partition.isr, flexible: flexible)
                if version >= 5 { writeInt32Array(&writer, [], flexible: flexible) }
                if flexible { writer.writeEmptyTaggedFields() }
            }
            // TopicAuthorizedOperations: Int32.min means "not requested".
            if version >= 8 { writer.writeInt32(Int32.min) }
            if flexible { writer.writeEmptyTaggedFields() }
        }
        if (8...10).contains(version) { writer.writeInt32(Int32.min) }
        if flexible { writer.writeEmptyTaggedFields() }
        return writer.finish()
    }

    static func initProducerId(
        correlationID: Int32, version: Int16, errorCode: Int16, producerID: Int64, producerEpoch: Int16
    ) -> [UInt8] {
        let flexible = version >= 2
        var writer = ResponseWriter()
        writer.writeResponseHeader(correlationID: correlationID, flexible: flexible)
        writer.writeInt32(0)
        writer.writeInt16(errorCode)
        writer.writeInt64(producerID)
        writer.writeInt16(producerEpoch)
        if flexible { writer.writeEmptyTaggedFields() }
        return writer.finish()
    }

    /// `nodeEndpoints` is sent as the top-level tag 0 at v10+ when it is not empty.
    static func produce(
        correlationID: Int32, version: Int16, topics: [ProduceTopicAnswer], nodeEndpoints: [BrokerEndpoint]
    ) -> [UInt8] {
        let flexible = version >= 9
        var writer = ResponseWriter()
        writer.writeResponseHeader(correlationID: correlationID, flexible: flexible)
        writer.writeArrayCount(topics.count, flexible: flexible)
        for topic in topics {
            writer.writeString(topic.name, flexible: flexible)
            writer.writeArrayCount(topic.partitions.count, flexible: flexible)
            for partition in topic.partitions {
                writer.writeInt32(partition.index)
                writer.writeInt16(partition.errorCode)
                writer.writeInt64(partition.baseOffset)
                writer.writeInt64(partition.logAppendTime)
                if version >= 5 { writer.writeInt64(partition.logStartOffset) }
                if version >= 8 {
                    writer.writeArrayCount(0, flexible: flexible)
                    writer.writeNullableString(partition.errorMessage, flexible: flexible)
                }
                if flexible {
                    if version >= 10, let leader = partition.currentLeader {
                        var tag = ResponseWriter()
                        tag.writeInt32(leader.id)
                        tag.writeInt32(leader.epoch)
                        tag.writeEmptyTaggedFields()
                        writeTaggedSection(&writer, tag: 0, body: Array(tag.bytes.dropFirst(4)))
                    } else {
                        writer.writeEmptyTaggedFields()
                    }
                }
            }
            if flexible { writer.writeEmptyTaggedFields() }
        }
        writer.writeInt32(0)
        if flexible {
            if version >= 10 && !nodeEndpoints.isEmpty {
                var tag = ResponseWriter()
                tag.writeArrayCount(nodeEndpoints.count, flexible: true)
                for endpoint in nodeEndpoints {
                    tag.writeInt32(endpoint.nodeID)
                    tag.writeString(endpoint.host, flexible: true)
                    tag.writeInt32(endpoint.port)
                    tag.writeNullableString(nil, flexible: true)
                    tag.writeEmptyTaggedFields()
                }
                writeTaggedSection(&writer, tag: 0, body: Array(tag.bytes.dropFirst(4)))
            } else {
                writer.writeEmptyTaggedFields()
            }
        }
        return writer.finish()
    }

    private static func writeInt32Array(_ writer: inout ResponseWriter, _ values: [Int32], flexible: Bool) {
        writer.writeArrayCount(values.count, flexible: flexible)
        for value in values { writer.writeInt32(value) }
    }

    /// Writes a tagged-field section holding one field.
    private static func writeTaggedSection(_ writer: inout ResponseWriter, tag: UInt32, body: [UInt8]) {
        writer.writeUnsignedVarint(1)
        writer.writeUnsignedVarint(tag)
        writer.writeUnsignedVarint(UInt32(body.count))
        writer.writeBytes(body)
    }
}

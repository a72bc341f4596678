/// Produce response (key 0), v3-v12 (ProduceResponse.json in Apache Kafka).
///
/// Per version: ThrottleTimeMs v1+, LogAppendTimeMs v2+, LogStartOffset v5+, RecordErrors and
/// ErrorMessage v8+, flexible v9+, and from v10 the tagged fields CurrentLeader (tag 0, per
/// partition) and NodeEndpoints (tag 0, top level) that point a producer at a new leader.
/// A request with acks=0 gets no response at all.
public struct ProduceResponse: KafkaResponse {
    public static let apiKey = ApiKey.produce

    public struct RecordError: Hashable, Sendable {
        public var batchIndex: Int32
        public var batchIndexErrorMessage: String?
        public var taggedFields: [TaggedField]

        public init(batchIndex: Int32, batchIndexErrorMessage: String?, taggedFields: [TaggedField] = []) {
            self.batchIndex = batchIndex
            self.batchIndexErrorMessage = batchIndexErrorMessage
            self.taggedFields = taggedFields
        }
    }

    public struct LeaderIdAndEpoch: Hashable, Sendable {
        public var leaderId: Int32
        public var leaderEpoch: Int32
        public var taggedFields: [TaggedField]

        public init(leaderId: Int32, leaderEpoch: Int32, taggedFields: [TaggedField] = []) {
            self.leaderId = leaderId
            self.leaderEpoch = leaderEpoch
            self.taggedFields = taggedFields
        }
    }

    public struct NodeEndpoint: Hashable, Sendable {
        public var nodeId: Int32
        public var host: String
        public var port: Int32
        public var rack: String?
        public var taggedFields: [TaggedField]

        public init(
            nodeId: Int32, host: String, port: Int32, rack: String? = nil, taggedFields: [TaggedField] = []
        ) {
            self.nodeId = nodeId
            self.host = host
            self.port = port
            self.rack = rack
            self.taggedFields = taggedFields
        }
    }

    public struct PartitionResponse: Hashable, Sendable {
        public var index: Int32
        public var errorCode: KafkaErrorCode
        public var baseOffset: Int64
        /// v2+; -1 unless the topic uses LogAppendTime.
        public var logAppendTimeMs: Int64
        /// v5+.
        public var logStartOffset: Int64
        /// v8+.
        public var recordErrors: [RecordError]
        /// v8+.
        public var errorMessage: String?
        /// v10+, tag 0. Set when this broker is no longer the leader and can name the new one.
        public var currentLeader: LeaderIdAndEpoch?
        public var taggedFields: [TaggedField]

        public init(
            index: Int32, errorCode: KafkaErrorCode = .none, baseOffset: Int64, logAppendTimeMs: Int64 = -1,
            logStartOffset: Int64 = -1, recordErrors: [RecordError] = [], errorMessage: String? = nil,
            currentLeader: LeaderIdAndEpoch? = nil, taggedFields: [TaggedField] = []
        ) {
            self.index = index
            self.errorCode = errorCode
            self.baseOffset = baseOffset
            self.logAppendTimeMs = logAppendTimeMs
            self.logStartOffset = logStartOffset
            self.recordErrors = recordErrors
            self.errorMessage = errorMessage
            self.currentLeader = currentLeader
            self.taggedFields = taggedFields
        }
    }

    public struct TopicResponse: Hashable, Sendable {
        public var name: String
        public var partitionResponses: [PartitionResponse]
        public var taggedFields: [TaggedField]

        public init(name: String, partitionResponses: [PartitionResponse], taggedFields: [TaggedField] = []) {
            self.name = name
            self.partitionResponses = partitionResponses
            self.taggedFields = taggedFields
        }
    }

    public var responses: [TopicResponse]
    public var throttleTimeMs: Int32
    /// v10+, tag 0; endpoints of the leaders named in `currentLeader`.
    public var nodeEndpoints: [NodeEndpoint]
    /// Tagged fields other than NodeEndpoints.
    public var taggedFields: [TaggedField]

    public init(
        responses: [TopicResponse], throttleTimeMs: Int32 = 0, nodeEndpoints: [NodeEndpoint] = [],
        taggedFields: [TaggedField] = []
    ) {
        self.responses = responses
        self.throttleTimeMs = throttleTimeMs
        self.nodeEndpoints = nodeEndpoints
        self.taggedFields = taggedFields
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "response")
        let flexible = Self.apiKey.isFlexible(version)
        try writer.writeArray(responses, field: "Responses", compact: flexible) {
            (writer, topic) throws(WireEncodingError) in
            try writer.writeString(topic.name, field: "Responses.Name", compact: flexible)
            try writer.writeArray(topic.partitionResponses, field: "PartitionResponses", compact: flexible) {
                (writer, partition) throws(WireEncodingError) in
                try Self.encode(partition, into: &writer, version: version, flexible: flexible)
            }
            writer.writeTaggedFieldsIfFlexible(flexible, topic.taggedFields)
        }
        writer.writeInt32(throttleTimeMs)
        if flexible {
            var tags = taggedFields
            if version >= 10 && !nodeEndpoints.isEmpty {
                // Tag 0 is NodeEndpoints from v10, so an unknown tag 0 kept from a v9 decode is replaced.
                tags.removeAll { $0.tag == 0 }
                let api = writer.api
                tags.append(
                    try WireWriter.taggedField(tag: 0, api: api) { (writer) throws(WireEncodingError) in
                        try writer.writeArray(nodeEndpoints, field: "NodeEndpoints", compact: true) {
                            (writer, node) throws(WireEncodingError) in
                            writer.writeInt32(node.nodeId)
                            try writer.writeCompactNullableString(node.host, field: "NodeEndpoints.Host")
                            writer.writeInt32(node.port)
                            try writer.writeCompactNullableString(node.rack, field: "NodeEndpoints.Rack")
                            writer.writeTaggedFields(node.taggedFields)
                        }
                    })
            }
            writer.writeTaggedFields(tags)
        }
    }

    private static func encode(
        _ partition: PartitionResponse, into writer: inout WireWriter, version: Int16,
        flexible: Bool
    ) throws(WireEncodingError) {
        writer.writeInt32(partition.index)
        writer.writeInt16(partition.errorCode.rawValue)
        writer.writeInt64(partition.baseOffset)
        writer.writeInt64(partition.logAppendTimeMs)
        if version >= 5 { writer.writeInt64(partition.logStartOffset) }
        if version >= 8 {
            try writer.writeArray(partition.recordErrors, field: "RecordErrors", compact: flexible) {
                (writer, recordError) throws(WireEncodingError) in
                writer.writeInt32(recordError.batchIndex)
                try writer.writeNullableString(
                    recordError.batchIndexErrorMessage, field: "BatchIndexErrorMessage", compact: flexible)
                writer.writeTaggedFieldsIfFlexible(flexible, recordError.taggedFields)
            }
            try writer.writeNullableString(partition.errorMessage, field: "ErrorMessage", compact: flexible)
        }
        guard flexible else { return }
        var tags = partition.taggedFields
        if version >= 10, let leader = partition.currentLeader {
            tags.removeAll { $0.tag == 0 }
            var leaderWriter = WireWriter(capacity: 16, api: writer.api)
            leaderWriter.writeInt32(leader.leaderId)
            leaderWriter.writeInt32(leader.leaderEpoch)
            leaderWriter.writeTaggedFields(leader.taggedFields)
            tags.append(TaggedField(tag: 0, data: leaderWriter.bytes))
        }
        writer.writeTaggedFields(tags)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        let flexible = apiKey.isFlexible(version)
        let responses = try reader.readArray("Responses", compact: flexible, minimumElementSize: 2) {
            (reader) throws(WireDecodingError) in
            let name = try reader.readString("Responses.Name", compact: flexible)
            let partitions = try reader.readArray(
                "PartitionResponses", compact: flexible, minimumElementSize: 22
            ) {
                (reader) throws(WireDecodingError) in
                try decodePartition(from: &reader, version: version, flexible: flexible)
            }
            let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Responses tagged fields")
            return TopicResponse(name: name, partitionResponses: partitions, taggedFields: tags)
        }
        let throttleTimeMs = try reader.readInt32("ThrottleTimeMs")
        var nodeEndpoints: [NodeEndpoint] = []
        var tags: [TaggedField] = []
        if flexible {
            tags = try reader.readTaggedFields("Produce response tagged fields") {
                (tag, fieldReader) throws(WireDecodingError) in
                guard version >= 10 && tag == 0 else { return false }
                nodeEndpoints = try fieldReader.readArray(
                    "NodeEndpoints", compact: true, minimumElementSize: 11
                ) {
                    (reader) throws(WireDecodingError) in
                    NodeEndpoint(
                        nodeId: try reader.readInt32("NodeEndpoints.NodeId"),
                        host: try reader.readCompactString("NodeEndpoints.Host"),
                        port: try reader.readInt32("NodeEndpoints.Port"),
                        rack: try reader.readCompactNullableString("NodeEndpoints.Rack"),
                        taggedFields: try reader.readTaggedFields("NodeEndpoints tagged fields"))
                }
                return true
            }
        }
        return Self(
            responses: responses, throttleTimeMs: throttleTimeMs, nodeEndpoints: nodeEndpoints,
            taggedFields: tags)
    }

    private static func decodePartition(
        from reader: inout WireReader, version: Int16, flexible: Bool
    )
        throws(WireDecodingError) -> PartitionResponse
    {
        var partition = PartitionResponse(
            index: try reader.readInt32("PartitionResponses.Index"),
            errorCode: KafkaErrorCode(try reader.readInt16("PartitionResponses.ErrorCode")),
            baseOffset: try reader.readInt64("PartitionResponses.BaseOffset"),
            logAppendTimeMs: try reader.readInt64("PartitionResponses.LogAppendTimeMs"))
        if version >= 5 {
            partition.logStartOffset = try reader.readInt64("PartitionResponses.LogStartOffset")
        }
        if version >= 8 {
            partition.recordErrors = try reader.readArray(
                "RecordErrors", compact: flexible, minimumElementSize: 5
            ) {
                (reader) throws(WireDecodingError) in
                RecordError(
                    batchIndex: try reader.readInt32("RecordErrors.BatchIndex"),
                    batchIndexErrorMessage: try reader.readNullableString(
                        "RecordErrors.BatchIndexErrorMessage", compact: flexible),
                    taggedFields: try reader.readTaggedFieldsIfFlexible(
                        flexible, "RecordErrors tagged fields"))
            }
            partition.errorMessage = try reader.readNullableString(
                "PartitionResponses.ErrorMessage", compact: flexible)
        }
        if flexible {
            var currentLeader: LeaderIdAndEpoch? = nil
            partition.taggedFields = try reader.readTaggedFields("PartitionResponses tagged fields") {
                (tag, fieldReader) throws(WireDecodingError) in
                guard version >= 10 && tag == 0 else { return false }
                currentLeader = LeaderIdAndEpoch(
                    leaderId: try fieldReader.readInt32("CurrentLeader.LeaderId"),
                    leaderEpoch: try fieldReader.readInt32("CurrentLeader.LeaderEpoch"),
                    taggedFields: try fieldReader.readTaggedFields("CurrentLeader tagged fields"))
                return true
            }
            partition.currentLeader = currentLeader
        }
        return partition
    }
}

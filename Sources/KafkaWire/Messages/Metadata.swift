/// Metadata request (key 3), v1-v12 (MetadataRequest.json in Apache Kafka).
public struct MetadataRequest: KafkaRequest {
    public static let apiKey = ApiKey.metadata

    public struct Topic: Hashable, Sendable {
        /// v10+; all zero when requesting by name.
        public var topicId: KafkaUUID
        /// Nullable from v10, but brokers before v12 need a name.
        public var name: String?
        public var taggedFields: [TaggedField]

        public init(name: String?, topicId: KafkaUUID = .zero, taggedFields: [TaggedField] = []) {
            self.topicId = topicId
            self.name = name
            self.taggedFields = taggedFields
        }
    }

    /// nil requests every topic; an empty list requests none.
    public var topics: [Topic]?
    /// v4+; always true on the wire before v4.
    public var allowAutoTopicCreation: Bool
    /// v8-v10.
    public var includeClusterAuthorizedOperations: Bool
    /// v8+.
    public var includeTopicAuthorizedOperations: Bool
    public var taggedFields: [TaggedField]

    public init(
        topics: [Topic]?, allowAutoTopicCreation: Bool = false,
        includeClusterAuthorizedOperations: Bool = false, includeTopicAuthorizedOperations: Bool = false,
        taggedFields: [TaggedField] = []
    ) {
        self.topics = topics
        self.allowAutoTopicCreation = allowAutoTopicCreation
        self.includeClusterAuthorizedOperations = includeClusterAuthorizedOperations
        self.includeTopicAuthorizedOperations = includeTopicAuthorizedOperations
        self.taggedFields = taggedFields
    }

    /// Creates a request for the named topics.
    public init(topicNames: [String], allowAutoTopicCreation: Bool = false) {
        self.init(topics: topicNames.map { Topic(name: $0) }, allowAutoTopicCreation: allowAutoTopicCreation)
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "request")
        let flexible = Self.apiKey.isFlexible(version)
        try writer.writeNullableArray(topics, field: "Topics", compact: flexible) {
            (writer, topic) throws(WireEncodingError) in
            if version >= 10 { writer.writeUUID(topic.topicId) }
            if version >= 10 {
                try writer.writeNullableString(topic.name, field: "Topics.Name", compact: flexible)
            } else {
                guard let name = topic.name else {
                    throw .nullNotAllowed(api: writer.api, field: "Topics.Name")
                }
                try writer.writeString(name, field: "Topics.Name", compact: flexible)
            }
            writer.writeTaggedFieldsIfFlexible(flexible, topic.taggedFields)
        }
        if version >= 4 { writer.writeBool(allowAutoTopicCreation) }
        if version >= 8 && version <= 10 { writer.writeBool(includeClusterAuthorizedOperations) }
        if version >= 8 { writer.writeBool(includeTopicAuthorizedOperations) }
        writer.writeTaggedFieldsIfFlexible(flexible, taggedFields)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        let flexible = apiKey.isFlexible(version)
        let topics = try reader.readNullableArray("Topics", compact: flexible) {
            (reader) throws(WireDecodingError) in
            let topicId = version >= 10 ? try reader.readUUID("Topics.TopicId") : .zero
            let name =
                version >= 10
                ? try reader.readNullableString("Topics.Name", compact: flexible)
                : try reader.readString("Topics.Name", compact: flexible)
            let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Topics tagged fields")
            return Topic(name: name, topicId: topicId, taggedFields: tags)
        }
        let allowAutoTopicCreation = version >= 4 ? try reader.readBool("AllowAutoTopicCreation") : true
        let includeCluster =
            version >= 8 && version <= 10 ? try reader.readBool("IncludeClusterAuthorizedOperations") : false
        let includeTopic = version >= 8 ? try reader.readBool("IncludeTopicAuthorizedOperations") : false
        let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Metadata request tagged fields")
        return Self(
            topics: topics, allowAutoTopicCreation: allowAutoTopicCreation,
            includeClusterAuthorizedOperations: includeCluster,
            includeTopicAuthorizedOperations: includeTopic,
            taggedFields: tags)
    }
}

/// Metadata response (key 3), v1-v12 (MetadataResponse.json in Apache Kafka).
public struct MetadataResponse: KafkaResponse {
    public static let apiKey = ApiKey.metadata

    public struct Broker: Hashable, Sendable {
        public var nodeId: Int32
        public var host: String
        public var port: Int32
        /// v1+.
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

    public struct Partition: Hashable, Sendable {
        public var errorCode: KafkaErrorCode
        public var partitionIndex: Int32
        /// -1 when the partition has no leader yet.
        public var leaderId: Int32
        /// v7+, -1 when unknown.
        public var leaderEpoch: Int32
        public var replicaNodes: [Int32]
        public var isrNodes: [Int32]
        /// v5+.
        public var offlineReplicas: [Int32]
        public var taggedFields: [TaggedField]

        public init(
            errorCode: KafkaErrorCode = .none, partitionIndex: Int32, leaderId: Int32,
            leaderEpoch: Int32 = -1,
            replicaNodes: [Int32] = [], isrNodes: [Int32] = [], offlineReplicas: [Int32] = [],
            taggedFields: [TaggedField] = []
        ) {
            self.errorCode = errorCode
            self.partitionIndex = partitionIndex
            self.leaderId = leaderId
            self.leaderEpoch = leaderEpoch
            self.replicaNodes = replicaNodes
            self.isrNodes = isrNodes
            self.offlineReplicas = offlineReplicas
            self.taggedFields = taggedFields
        }
    }

    public struct Topic: Hashable, Sendable {
        public var errorCode: KafkaErrorCode
        /// Nullable from v12.
        public var name: String?
        /// v10+.
        public var topicId: KafkaUUID
        /// v1+.
        public var isInternal: Bool
        public var partitions: [Partition]
        /// v8+; Int32.min when not requested.
        public var topicAuthorizedOperations: Int32
        public var taggedFields: [TaggedField]

        public init(
            errorCode: KafkaErrorCode = .none, name: String?, topicId: KafkaUUID = .zero,
            isInternal: Bool = false, partitions: [Partition], topicAuthorizedOperations: Int32 = Int32.min,
            taggedFields: [TaggedField] = []
        ) {
            self.errorCode = errorCode
            self.name = name
            self.topicId = topicId
            self.isInternal = isInternal
            self.partitions = partitions
            self.topicAuthorizedOperations = topicAuthorizedOperations
            self.taggedFields = taggedFields
        }
    }

    /// v3+.
    public var throttleTimeMs: Int32
    public var brokers: [Broker]
    /// v2+.
    public var clusterId: String?
    /// v1+; -1 when unknown.
    public var controllerId: Int32
    public var topics: [Topic]
    /// v8-v10; Int32.min when not requested.
    public var clusterAuthorizedOperations: Int32
    public var taggedFields: [TaggedField]

    public init(
        throttleTimeMs: Int32 = 0, brokers: [Broker], clusterId: String? = nil, controllerId: Int32 = -1,
        topics: [Topic], clusterAuthorizedOperations: Int32 = Int32.min, taggedFields: [TaggedField] = []
    ) {
        self.throttleTimeMs = throttleTimeMs
        self.brokers = brokers
        self.clusterId = clusterId
        self.controllerId = controllerId
        self.topics = topics
        self.clusterAuthorizedOperations = clusterAuthorizedOperations
        self.taggedFields = taggedFields
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "response")
        let flexible = Self.apiKey.isFlexible(version)
        if version >= 3 { writer.writeInt32(throttleTimeMs) }
        try writer.writeArray(brokers, field: "Brokers", compact: flexible) {
            (writer, broker) throws(WireEncodingError) in
            writer.writeInt32(broker.nodeId)
            try writer.writeString(broker.host, field: "Brokers.Host", compact: flexible)
            writer.writeInt32(broker.port)
            if version >= 1 {
                try writer.writeNullableString(broker.rack, field: "Brokers.Rack", compact: flexible)
            }
            writer.writeTaggedFieldsIfFlexible(flexible, broker.taggedFields)
        }
        if version >= 2 { try writer.writeNullableString(clusterId, field: "ClusterId", compact: flexible) }
        if version >= 1 { writer.writeInt32(controllerId) }
        try writer.writeArray(topics, field: "Topics", compact: flexible) {
            (writer, topic) throws(WireEncodingError) in
            try Self.encode(topic, into: &writer, version: version, flexible: flexible)
        }
        if version >= 8 && version <= 10 { writer.writeInt32(clusterAuthorizedOperations) }
        writer.writeTaggedFieldsIfFlexible(flexible, taggedFields)
    }

    private static func encode(
        _ topic: Topic, into writer: inout WireWriter, version: Int16, flexible: Bool
    )
        throws(WireEncodingError)
    {
        writer.writeInt16(topic.errorCode.rawValue)
        if version >= 12 {
            try writer.writeNullableString(topic.name, field: "Topics.Name", compact: flexible)
        } else {
            guard let name = topic.name else { throw .nullNotAllowed(api: writer.api, field: "Topics.Name") }
            try writer.writeString(name, field: "Topics.Name", compact: flexible)
        }
        if version >= 10 { writer.writeUUID(topic.topicId) }
        if version >= 1 { writer.writeBool(topic.isInternal) }
        try writer.writeArray(topic.partitions, field: "Partitions", compact: flexible) {
            (writer, partition) throws(WireEncodingError) in
            writer.writeInt16(partition.errorCode.rawValue)
            writer.writeInt32(partition.partitionIndex)
            writer.writeInt32(partition.leaderId)
            if version >= 7 { writer.writeInt32(partition.leaderEpoch) }
            try writer.writeInt32Array(partition.replicaNodes, field: "ReplicaNodes", compact: flexible)
            try writer.writeInt32Array(partition.isrNodes, field: "IsrNodes", compact: flexible)
            if version >= 5 {
                try writer.writeInt32Array(
                    partition.offlineReplicas, field: "OfflineReplicas", compact: flexible)
            }
            writer.writeTaggedFieldsIfFlexible(flexible, partition.taggedFields)
        }
        if version >= 8 { writer.writeInt32(topic.topicAuthorizedOperations) }
        writer.writeTaggedFieldsIfFlexible(flexible, topic.taggedFields)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        let flexible = apiKey.isFlexible(version)
        let throttleTimeMs = version >= 3 ? try reader.readInt32("ThrottleTimeMs") : 0
        let brokers = try reader.readArray("Brokers", compact: flexible, minimumElementSize: 9) {
            (reader) throws(WireDecodingError) in
            let nodeId = try reader.readInt32("Brokers.NodeId")
            let host = try reader.readString("Brokers.Host", compact: flexible)
            let port = try reader.readInt32("Brokers.Port")
            let rack = version >= 1 ? try reader.readNullableString("Brokers.Rack", compact: flexible) : nil
            let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Brokers tagged fields")
            return Broker(nodeId: nodeId, host: host, port: port, rack: rack, taggedFields: tags)
        }
        let clusterId = version >= 2 ? try reader.readNullableString("ClusterId", compact: flexible) : nil
        let controllerId = version >= 1 ? try reader.readInt32("ControllerId") : -1
        let topics = try reader.readArray("Topics", compact: flexible, minimumElementSize: 7) {
            (reader) throws(WireDecodingError) in
            try decodeTopic(from: &reader, version: version, flexible: flexible)
        }
        let clusterOperations =
            version >= 8 && version <= 10 ? try reader.readInt32("ClusterAuthorizedOperations") : Int32.min
        let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Metadata response tagged fields")
        return Self(
            throttleTimeMs: throttleTimeMs, brokers: brokers, clusterId: clusterId,
            controllerId: controllerId,
            topics: topics, clusterAuthorizedOperations: clusterOperations, taggedFields: tags)
    }

    private static func decodeTopic(
        from reader: inout WireReader, version: Int16, flexible: Bool
    )
        throws(WireDecodingError) -> Topic
    {
        let errorCode = KafkaErrorCode(try reader.readInt16("Topics.ErrorCode"))
        let name =
            version >= 12
            ? try reader.readNullableString("Topics.Name", compact: flexible)
            : try reader.readString("Topics.Name", compact: flexible)
        let topicId = version >= 10 ? try reader.readUUID("Topics.TopicId") : .zero
        let isInternal = version >= 1 ? try reader.readBool("Topics.IsInternal") : false
        let partitions = try reader.readArray("Partitions", compact: flexible, minimumElementSize: 10) {
            (reader) throws(WireDecodingError) in
            let errorCode = KafkaErrorCode(try reader.readInt16("Partitions.ErrorCode"))
            let partitionIndex = try reader.readInt32("Partitions.PartitionIndex")
            let leaderId = try reader.readInt32("Partitions.LeaderId")
            let leaderEpoch = version >= 7 ? try reader.readInt32("Partitions.LeaderEpoch") : -1
            let replicas = try reader.readInt32Array("Partitions.ReplicaNodes", compact: flexible)
            let isr = try reader.readInt32Array("Partitions.IsrNodes", compact: flexible)
            let offline =
                version >= 5 ? try reader.readInt32Array("Partitions.OfflineReplicas", compact: flexible) : []
            let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Partitions tagged fields")
            return Partition(
                errorCode: errorCode, partitionIndex: partitionIndex, leaderId: leaderId,
                leaderEpoch: leaderEpoch,
                replicaNodes: replicas, isrNodes: isr, offlineReplicas: offline, taggedFields: tags)
        }
        let operations = version >= 8 ? try reader.readInt32("Topics.TopicAuthorizedOperations") : Int32.min
        let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Topics tagged fields")
        return Topic(
            errorCode: errorCode, name: name, topicId: topicId, isInternal: isInternal,
            partitions: partitions,
            topicAuthorizedOperations: operations, taggedFields: tags)
    }
}

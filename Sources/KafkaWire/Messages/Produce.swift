/// Produce request (key 0), v3-v12 (ProduceRequest.json in Apache Kafka). Each partition carries
/// exactly one RecordBatch v2 as raw bytes, so a retried batch is re-sent byte-identical.
public struct ProduceRequest: KafkaRequest {
    public static let apiKey = ApiKey.produce

    public struct PartitionData: Hashable, Sendable {
        public var index: Int32
        /// One encoded RecordBatch, for example from `RecordBatchBuilder.finish()`.
        public var records: [UInt8]?
        public var taggedFields: [TaggedField]

        public init(index: Int32, records: [UInt8]?, taggedFields: [TaggedField] = []) {
            self.index = index
            self.records = records
            self.taggedFields = taggedFields
        }

        /// Decodes the record batches in `records`, verifying each CRC.
        public func decodeBatches() throws(WireDecodingError) -> [RecordBatch] {
            guard let records else { return [] }
            return try RecordBatch.decodeAll(records)
        }
    }

    public struct TopicData: Hashable, Sendable {
        public var name: String
        public var partitionData: [PartitionData]
        public var taggedFields: [TaggedField]

        public init(name: String, partitionData: [PartitionData], taggedFields: [TaggedField] = []) {
            self.name = name
            self.partitionData = partitionData
            self.taggedFields = taggedFields
        }
    }

    public var transactionalId: String?
    /// 0 (no response at all), 1 (leader only) or -1 (all in-sync replicas).
    public var acks: Int16
    public var timeoutMs: Int32
    public var topicData: [TopicData]
    public var taggedFields: [TaggedField]

    public init(
        transactionalId: String? = nil, acks: Int16, timeoutMs: Int32, topicData: [TopicData],
        taggedFields: [TaggedField] = []
    ) {
        self.transactionalId = transactionalId
        self.acks = acks
        self.timeoutMs = timeoutMs
        self.topicData = topicData
        self.taggedFields = taggedFields
    }

    public func encode(into writer: inout WireWriter, version: Int16) throws(WireEncodingError) {
        try KafkaFrame.checkVersion(Self.apiKey, version, kind: "request")
        let flexible = Self.apiKey.isFlexible(version)
        try writer.writeNullableString(transactionalId, field: "TransactionalId", compact: flexible)
        writer.writeInt16(acks)
        writer.writeInt32(timeoutMs)
        try writer.writeArray(topicData, field: "TopicData", compact: flexible) {
            (writer, topic) throws(WireEncodingError) in
            try writer.writeString(topic.name, field: "TopicData.Name", compact: flexible)
            try writer.writeArray(topic.partitionData, field: "PartitionData", compact: flexible) {
                (writer, partition) throws(WireEncodingError) in
                writer.writeInt32(partition.index)
                try writer.writeNullableByteArray(partition.records, field: "Records", compact: flexible)
                writer.writeTaggedFieldsIfFlexible(flexible, partition.taggedFields)
            }
            writer.writeTaggedFieldsIfFlexible(flexible, topic.taggedFields)
        }
        writer.writeTaggedFieldsIfFlexible(flexible, taggedFields)
    }

    public static func decode(from reader: inout WireReader, version: Int16) throws(WireDecodingError) -> Self
    {
        try reader.requireSupported(apiKey, version)
        let flexible = apiKey.isFlexible(version)
        let transactionalId = try reader.readNullableString("TransactionalId", compact: flexible)
        let acks = try reader.readInt16("Acks")
        let timeoutMs = try reader.readInt32("TimeoutMs")
        let topics = try reader.readArray("TopicData", compact: flexible, minimumElementSize: 2) {
            (reader) throws(WireDecodingError) in
            let name = try reader.readString("TopicData.Name", compact: flexible)
            let partitions = try reader.readArray("PartitionData", compact: flexible, minimumElementSize: 5) {
                (reader) throws(WireDecodingError) in
                let index = try reader.readInt32("PartitionData.Index")
                let range = try reader.readNullableByteRange("Records", compact: flexible)
                let tags = try reader.readTaggedFieldsIfFlexible(flexible, "PartitionData tagged fields")
                return PartitionData(
                    index: index, records: range.map { Array(reader.bytes[$0]) }, taggedFields: tags)
            }
            let tags = try reader.readTaggedFieldsIfFlexible(flexible, "TopicData tagged fields")
            return TopicData(name: name, partitionData: partitions, taggedFields: tags)
        }
        let tags = try reader.readTaggedFieldsIfFlexible(flexible, "Produce request tagged fields")
        return Self(
            transactionalId: transactionalId, acks: acks, timeoutMs: timeoutMs, topicData: topics,
            taggedFields: tags)
    }
}

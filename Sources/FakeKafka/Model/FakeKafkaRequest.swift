/// One request received by a fake broker, in the order of arrival.
public struct FakeKafkaRequest: Sendable {
    /// Node id of the broker that received the request.
    public var broker: Int32
    /// Connection number, unique in the cluster, counting from 1 in order of acceptance.
    public var connection: Int
    /// 1-based position of this request on its connection.
    public var sequenceOnConnection: Int
    public var apiKey: FakeKafkaAPIKey
    public var apiVersion: Int16
    public var correlationID: Int32
    public var clientID: String?
    /// Produce requests only: the required acks and every batch with its outcome.
    public var produce: FakeKafkaProduceRequest?
    /// InitProducerId requests only: the producer id and epoch the request named.
    public var initProducerID: FakeKafkaInitProducerIDRequest?
    /// Metadata requests only: the topic names requested, or nil for all topics.
    public var metadataTopics: [String]?
    /// Note on what the fake did instead of a normal response: a fault applied or a decoding failure.
    public var note: String?
}

/// The decoded content of a Produce request.
public struct FakeKafkaProduceRequest: Sendable {
    public var transactionalID: String?
    public var acks: Int16
    public var timeoutMilliseconds: Int32
    public var batches: [FakeKafkaProducedBatch]
}

/// One partition's batch in a Produce request and the response the fake gave for it.
public struct FakeKafkaProducedBatch: Sendable {
    public var batch: FakeKafkaBatch
    public var errorCode: Int16
    /// Reason the batch was rejected, or nil when it was appended or recognised as a duplicate.
    public var errorMessage: String?
    /// True when the batch repeated a sequence range already in the de-duplication window.
    public var isDuplicate: Bool
}

/// The producer id and epoch of an InitProducerId request: -1 and -1 ask for a new producer id,
/// a producer id and its current epoch (v3+) ask for an epoch bump.
public struct FakeKafkaInitProducerIDRequest: Sendable, Equatable {
    public var producerID: Int64
    public var producerEpoch: Int16

    public init(producerID: Int64, producerEpoch: Int16) {
        self.producerID = producerID
        self.producerEpoch = producerEpoch
    }
}

/// Settings of a fake Kafka cluster. The defaults match a Kafka 3.x/4.x broker where one exists.
public struct FakeKafkaConfiguration: Sendable {
    /// The response to a batch whose sequence range is already in the de-duplication window.
    public enum DuplicateHandling: Sendable, Hashable {
        /// Success with the offset first assigned to the batch, as Kafka 0.11 and later do
        /// (UnifiedLog.analyzeAndValidateProducerState returns the cached batch's offsets).
        case returnOriginalOffset
        /// DUPLICATE_SEQUENCE_NUMBER (46), which producers treat as success without an offset.
        case duplicateSequenceError
    }

    /// Brokers in the cluster, with node ids 1 through `brokerCount`.
    public var brokerCount: Int
    public var clusterID: String = "fake-kafka-cluster"
    /// Node id sent as ControllerId in Metadata responses.
    public var controllerID: Int32 = 1
    /// Produce versions advertised and served. Clamped to 3...12, the versions KafkaWire decodes.
    public var produceVersions: ClosedRange<Int16> = 3...12
    /// Produce versions advertised in ApiVersions in place of `produceVersions`, not clamped, to
    /// imitate an older broker (for example 0...2). Only `produceVersions` are served.
    public var advertisedProduceVersions: ClosedRange<Int16>?
    /// Metadata versions advertised and served. Clamped to 1...12, the versions KafkaWire decodes.
    public var metadataVersions: ClosedRange<Int16> = 1...12
    /// InitProducerId versions advertised and served. Clamped to 0...5.
    public var initProducerIdVersions: ClosedRange<Int16> = 0...5
    /// ApiVersions versions served. Clamped to 0...4. A request above the maximum gets the
    /// v0-encoded UNSUPPORTED_VERSION response.
    public var apiVersionsVersions: ClosedRange<Int16> = 0...4
    /// Creates a topic named in a Metadata request when it does not exist and the request allows it.
    public var autoCreateTopics = false
    public var autoCreatePartitions: Int32 = 1
    /// Largest record batch a topic accepts, in bytes (Kafka's `max.message.bytes`, default 1048588).
    public var defaultMaxMessageBytes = 1_048_588
    /// Largest request frame accepted, in bytes after the size prefix (Kafka's
    /// `socket.request.max.bytes`, default 104857600). A larger frame closes the connection.
    public var maxRequestSize = 104_857_600
    public var duplicateHandling: DuplicateHandling = .returnOriginalOffset
    /// When true, the first batch of a producer id on a partition must have BaseSequence 0.
    /// Kafka accepts any first sequence when it has no state for the producer. The fake is
    /// stricter by default, so a producer that skips sequence numbers is caught.
    public var requireFirstSequenceZero = true
    /// First producer id handed out by InitProducerId.
    public var firstProducerID: Int64 = 1000
    /// When true, InitProducerId v3+ naming a producer id and its current epoch bumps the epoch, as
    /// Kafka's transaction coordinator does for a transactional id. When false, every request
    /// gets a new producer id with epoch 0, as Kafka's transaction coordinator does for every
    /// request without a transactional id (TransactionCoordinator.handleInitProducerId).
    public var initProducerIdBumpsEpoch = true

    public init(brokerCount: Int = 1) {
        self.brokerCount = brokerCount
    }
}

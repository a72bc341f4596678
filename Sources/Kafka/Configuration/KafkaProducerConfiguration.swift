import SocketTransport

/// Acknowledgement level a Produce request asks for (`acks` in the Java and librdkafka clients).
public enum KafkaAcks: Sendable, Hashable {
    /// `acks=0`: the broker sends no response, so delivery is reported once the bytes are written.
    case none
    /// `acks=1`: the partition leader has appended the records.
    case leader
    /// `acks=-1`: every in-sync replica has the records.
    case all

    var wireValue: Int16 {
        switch self {
        case .none: 0
        case .leader: 1
        case .all: -1
        }
    }
}

/// Settings of a ``KafkaProducer``. Defaults follow the Java producer of Kafka 4.0 except
/// `batchSize`, which follows librdkafka's `batch.size` (1,000,000 bytes).
public struct KafkaProducerConfiguration: Sendable {
    /// Brokers to bootstrap from, each `host:port` (`[::1]:port` for IPv6 literals).
    public var bootstrapServers: [String]
    /// Client id sent in every request header.
    public var clientID = "dualstream"
    public var acks: KafkaAcks = .all
    /// Time a batch waits for more records before it is sent.
    public var linger: Duration = .milliseconds(5)
    /// Maximum bytes of one record batch (its header included).
    public var batchSize = 1_000_000
    /// Maximum bytes of one Produce request (its size prefix included).
    public var maxRequestSize = 1_048_576
    /// Requests sent on one connection before a response is needed. Capped at 5 with idempotence.
    public var maxInFlightRequestsPerConnection = 5
    /// Time a broker has to answer a request before the connection is closed and the request retried.
    public var requestTimeout: Duration = .seconds(30)
    /// Time from `enqueue` to a final result; retries stop when it runs out.
    public var deliveryTimeout: Duration = .seconds(120)
    /// First backoff before a retry or a metadata refresh after an error; doubles up to the maximum.
    public var retryBackoff: Duration = .milliseconds(100)
    public var retryBackoffMaximum: Duration = .seconds(1)
    /// Metadata is refreshed at least this often, even without errors.
    public var metadataMaxAge: Duration = .seconds(300)
    /// Uses a producer id and sequence numbers, so a retried batch is written once and in order.
    ///
    /// Left at its default (`true`, not assigned), idempotence follows the Java producer's rule for
    /// an unset `enable.idempotence`. It turns itself off when `acks` is not `.all` or more than 5
    /// requests may be in flight. It also turns off, with one warning, when the brokers cannot
    /// provide a producer id because InitProducerId is missing or fails with a non-retriable error
    /// such as CLUSTER_AUTHORIZATION_FAILED. Assigning `true` makes it required: those settings are rejected by
    /// ``KafkaProducer/init(configuration:logger:)``, and a non-retriable InitProducerId error
    /// fails every record with an error naming the code. Assigning `false` turns it off.
    public var enableIdempotence: Bool {
        get { idempotenceSetting ?? true }
        set { idempotenceSetting = newValue }
    }
    /// The value assigned to ``enableIdempotence``, or `nil` while it keeps its default.
    public private(set) var idempotenceSetting: Bool?
    /// Time after which a topic that received no records is dropped from Metadata requests, like
    /// `metadata.max.idle.ms` in the Java producer. The next record for it fetches its metadata again.
    public var metadataMaxIdle: Duration = .seconds(300)
    /// Maximum bytes of records held in memory, waiting or in flight.
    public var bufferMemory = 32 * 1024 * 1024
    /// Time `enqueue` waits for buffer space or for the topic's metadata before it fails.
    public var maxBlock: Duration = .seconds(60)
    /// Time to resolve a broker's host name, and then to connect to each of its addresses.
    public var connectTimeout: Duration = .seconds(10)
    /// Resolves broker host names on the producer's resolver threads, never on the sender thread.
    /// IPv4 and IPv6 literals and `localhost` need no lookup and never reach it.
    public var resolver: NameResolver = .system
    public var partitioner: KafkaPartitioner = .default

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }
}

extension KafkaProducerConfiguration {
    /// Checks that the values are usable together; called by ``KafkaProducer/init(configuration:logger:)``.
    func validate() throws(KafkaProducerError) {
        func invalid(_ message: String) -> KafkaProducerError {
            KafkaProducerError.invalidConfiguration(message)
        }
        if bootstrapServers.isEmpty {
            throw invalid("bootstrapServers is empty: give at least one broker as host:port")
        }
        if batchSize < 128 {
            throw invalid("batchSize \(batchSize) is below the minimum of 128 bytes")
        }
        if maxRequestSize < 256 {
            throw invalid("maxRequestSize \(maxRequestSize) is below the minimum of 256 bytes")
        }
        if batchSize > maxRequestSize {
            throw invalid("batchSize \(batchSize) exceeds maxRequestSize \(maxRequestSize), so a full batch "
                + "would not fit in a request: lower batchSize or raise maxRequestSize")
        }
        if maxInFlightRequestsPerConnection < 1 {
            throw invalid(
                "maxInFlightRequestsPerConnection must be at least 1, got \(maxInFlightRequestsPerConnection)")
        }
        if idempotenceSetting == true && acks != .all {
            throw invalid(
                "enableIdempotence = true needs acks = .all, got \(acks): set acks = .all or "
                    + "enableIdempotence = false")
        }
        if idempotenceSetting == true && maxInFlightRequestsPerConnection > 5 {
            throw invalid(
                "maxInFlightRequestsPerConnection \(maxInFlightRequestsPerConnection) exceeds 5, the maximum with "
                    + "idempotence, because brokers keep only the last 5 batches per producer: lower it or "
                    + "set enableIdempotence = false")
        }
        if bufferMemory < batchSize {
            throw invalid("bufferMemory \(bufferMemory) is smaller than batchSize \(batchSize)")
        }
        for (name, value) in [("deliveryTimeout", deliveryTimeout), ("requestTimeout", requestTimeout),
                              ("connectTimeout", connectTimeout), ("metadataMaxAge", metadataMaxAge),
                              ("retryBackoff", retryBackoff), ("metadataMaxIdle", metadataMaxIdle)]
            where value <= .zero {
            throw invalid("\(name) must be positive, got \(value)")
        }
        if retryBackoffMaximum < retryBackoff {
            throw invalid("retryBackoffMaximum \(retryBackoffMaximum) is below retryBackoff \(retryBackoff)")
        }
        for (name, value) in [("linger", linger), ("maxBlock", maxBlock)] where value < .zero {
            throw invalid("\(name) must not be negative, got \(value)")
        }
    }
}

extension KafkaProducerConfiguration {
    /// Whether the producer starts with idempotence on: required, or left at its default with
    /// settings that allow it.
    var startsIdempotent: Bool {
        switch idempotenceSetting {
        case true?: true
        case false?: false
        case nil: acks == .all && maxInFlightRequestsPerConnection <= 5
        }
    }

    /// Whether idempotence was assigned `true`, so it is not turned off when it is unavailable.
    var requiresIdempotence: Bool { idempotenceSetting == true }
}

/// A fault the fake applies to requests that match it, instead of its normal response.
///
/// A fault matches a request by API key, receiving broker, position on its connection, and, for
/// Produce and Metadata, the topic and partition the request names (nil matches anything). It
/// lets `skip` matching requests pass, then applies to the next `count`, then is removed. When
/// several faults match, the one added first applies.
public struct FakeKafkaFault: Sendable {
    public enum Action: Sendable {
        /// Responds with this error code. For Produce with a topic or partition filter, only the
        /// matching partitions get the error and the others are appended normally. With
        /// `afterAppend`, the batches are appended first, so the error hides a success (as
        /// NOT_ENOUGH_REPLICAS_AFTER_APPEND or REQUEST_TIMED_OUT do in Kafka).
        case error(Int16, afterAppend: Bool = false)
        /// Processes the request, then sends the response after this duration. Later requests on
        /// the same connection wait behind it, because responses leave in request order.
        case delay(Duration)
        /// Sends no response to the request. With `afterProcessing`, the request takes effect first, so
        /// a Produce is appended even though its response is lost.
        case dropResponse(afterProcessing: Bool)
        /// Closes the connection after receiving the request, without a response.
        case closeConnection(afterProcessing: Bool)
        /// Resets the connection (SO_LINGER 0, then close, so the peer gets ECONNRESET).
        case resetConnection(afterProcessing: Bool)
    }

    public var action: Action
    public var apiKey: FakeKafkaAPIKey?
    public var broker: Int32?
    public var topic: String?
    public var partition: Int32?
    /// 1-based position of the request on its connection, for example 2 to act on the second
    /// request of every connection; nil matches any position.
    public var requestNumberOnConnection: Int?
    /// Matching requests passed through unchanged before the fault applies.
    public var skip: Int
    /// Matching requests the fault applies to before it is removed; `Int.max` keeps it forever.
    public var count: Int
    /// With an `.error` action, the error response leaves after this duration, as with `.delay`,
    /// so a client can send more requests before the error reaches it.
    public var responseDelay: Duration?

    public init(
        _ action: Action, apiKey: FakeKafkaAPIKey? = nil, broker: Int32? = nil, topic: String? = nil,
        partition: Int32? = nil, requestNumberOnConnection: Int? = nil, skip: Int = 0, count: Int = 1
    ) {
        self.action = action
        self.apiKey = apiKey
        self.broker = broker
        self.topic = topic
        self.partition = partition
        self.requestNumberOnConnection = requestNumberOnConnection
        self.skip = skip
        self.count = count
    }

    /// True when a partition named in a request falls under this fault's topic/partition filter.
    func covers(topic name: String, partition index: Int32) -> Bool {
        (topic == nil || topic == name) && (partition == nil || partition == index)
    }

    var hasPartitionFilter: Bool { topic != nil || partition != nil }
}

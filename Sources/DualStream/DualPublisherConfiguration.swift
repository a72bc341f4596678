/// Settings of a ``DualPublisher`` beyond those of its Kafka and Redis clients.
public struct DualPublisherConfiguration: Sendable {
    /// Kafka topic every event goes to.
    public var topic: String
    /// Notifications that may wait for Redis; further ones are dropped and counted. The queue
    /// keeps Redis off the Kafka path: a slow or stopped Redis fills it instead of slowing
    /// publishes.
    public var notificationQueueCapacity = 100_000
    /// Notifications sent in one Redis pipeline at most.
    public var maxPipelineLength = 1_000
    /// How long ``DualPublisher/close()`` waits for queued notifications to reach Redis before it
    /// drops the rest.
    public var closeTimeout: Duration = .seconds(5)
    /// How long ``DualPublisher/close()`` lets the producer deliver what it still holds.
    public var kafkaCloseTimeout: Duration = .seconds(30)

    public init(topic: String) {
        self.topic = topic
    }
}

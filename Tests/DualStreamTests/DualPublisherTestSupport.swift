import DualStream
import DualStreamLogging
import FakeKafka
import Kafka
import Redis
import Synchronization
import TestSupport

/// Producer settings against the fake cluster, with short timeouts so failures show quickly.
func kafkaConfiguration(_ cluster: FakeKafkaCluster) -> KafkaProducerConfiguration {
    var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
    configuration.deliveryTimeout = .seconds(5)
    configuration.requestTimeout = .seconds(3)
    configuration.maxBlock = .seconds(3)
    configuration.connectTimeout = .seconds(2)
    configuration.linger = .milliseconds(1)
    return configuration
}

func redisConfiguration(port: Int) -> RedisConfiguration {
    var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
    configuration.connectTimeout = .seconds(1)
    configuration.commandTimeout = .seconds(2)
    configuration.reconnectBackoffMaximum = .milliseconds(100)
    return configuration
}

func event(_ index: Int, source: String = "octo/repo", type: String = "PushEvent") -> Event {
    Event(
        id: "event-\(index)", type: type, sourceType: "repo", sourceID: source,
        payload: Array("{\"n\":\(index)}".utf8))
}

/// Keeps every log record, for checks on warnings.
final class RecordingLogHandler: LogHandler {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let stored = Mutex<[Record]>([])

    var records: [Record] { stored.withLock { $0 } }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata, label: String,
        file: String, function: String, line: UInt
    ) {
        stored.withLock { $0.append(Record(level: level, message: message.description, metadata: metadata)) }
    }

    var logger: Logger {
        Logger(label: "test", handler: self, logLevel: .debug)
    }
}

/// Collects the messages of a pattern subscription with our subscriber, in arrival order.
final class NotificationCollector: Sendable {
    private final class Store: Sendable {
        let messages = Mutex<[RedisPubSubMessage]>([])
    }

    private let store = Store()
    private let subscriber: RedisSubscriber
    private let task: Task<Void, Never>

    init(port: Int, pattern: String = "events:*") async throws {
        subscriber = RedisSubscriber(configuration: redisConfiguration(port: port))
        let subscription = try await subscriber.psubscribe(patterns: [Array(pattern.utf8)])
        let store = self.store
        task = Task {
            for await event in subscription {
                if case .message(let message) = event {
                    store.messages.withLock { $0.append(message) }
                }
            }
        }
    }

    var received: [RedisPubSubMessage] { store.messages.withLock { $0 } }

    /// Waits up to `timeout` for `count` messages.
    func waitFor(_ count: Int, timeout: Duration = .seconds(10)) async -> [RedisPubSubMessage] {
        let deadline = ContinuousClock.now + timeout
        while received.count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return received
    }

    func close() async {
        task.cancel()
        await subscriber.close()
    }
}

/// A misuse of the fake cluster's test API, or a failure to start it.
public struct FakeKafkaError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case listenFailed
        case unknownTopic
        case unknownPartition
        case unknownBroker
        case topicExists
        case invalidArgument
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func listenFailed(broker: Int32, underlying: String) -> FakeKafkaError {
        FakeKafkaError(.listenFailed, "broker \(broker) could not listen on 127.0.0.1: \(underlying)")
    }

    static func unknownTopic(_ name: String) -> FakeKafkaError {
        FakeKafkaError(.unknownTopic, "topic \"\(name)\" does not exist; create it with createTopic first")
    }

    static func unknownPartition(_ topic: String, _ partition: Int32, count: Int) -> FakeKafkaError {
        FakeKafkaError(
            .unknownPartition, "topic \"\(topic)\" has no partition \(partition); it has \(count) partitions")
    }

    static func unknownBroker(_ id: Int32, count: Int) -> FakeKafkaError {
        FakeKafkaError(.unknownBroker, "broker \(id) does not exist; node ids run from 1 to \(count)")
    }

    static func topicExists(_ name: String) -> FakeKafkaError {
        FakeKafkaError(.topicExists, "topic \"\(name)\" already exists")
    }

    static func invalidArgument(_ message: String) -> FakeKafkaError {
        FakeKafkaError(.invalidArgument, message)
    }
}

@testable import Kafka
import Testing

/// Settings out of range are rejected by `KafkaProducer.init` with an error that names the
/// setting and its value. `acks = 2` has no test because `KafkaAcks` has only the three valid levels.
@Suite("Producer configuration validation")
struct ProducerConfigurationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var change: @Sendable (inout KafkaProducerConfiguration) -> Void
        /// Texts the message must contain: the setting and the value that failed.
        var expected: [String]

        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "no bootstrap servers", change: { $0.bootstrapServers = [] }, expected: ["bootstrapServers"]),
        Case(label: "negative linger", change: { $0.linger = .milliseconds(-5) },
             expected: ["linger", "\(Duration.milliseconds(-5))"]),
        Case(label: "negative maxBlock", change: { $0.maxBlock = .seconds(-1) },
             expected: ["maxBlock", "\(Duration.seconds(-1))"]),
        Case(label: "zero bufferMemory", change: { $0.bufferMemory = 0 }, expected: ["bufferMemory 0"]),
        Case(label: "zero maxInFlight", change: { $0.maxInFlightRequestsPerConnection = 0 },
             expected: ["maxInFlightRequestsPerConnection", "got 0"]),
        Case(label: "maxInFlight 6 with idempotence", change: {
            $0.enableIdempotence = true
            $0.maxInFlightRequestsPerConnection = 6
        }, expected: ["maxInFlightRequestsPerConnection 6", "idempotence"]),
        Case(label: "batchSize above maxRequestSize", change: { $0.batchSize = 2_000_000 },
             expected: ["batchSize 2000000", "maxRequestSize 1048576"]),
        Case(label: "tiny batchSize", change: { $0.batchSize = 100 }, expected: ["batchSize 100"]),
        Case(label: "tiny maxRequestSize", change: { $0.maxRequestSize = 100 }, expected: ["maxRequestSize 100"]),
        Case(label: "zero deliveryTimeout", change: { $0.deliveryTimeout = .zero },
             expected: ["deliveryTimeout", "\(Duration.zero)"]),
        Case(label: "zero requestTimeout", change: { $0.requestTimeout = .zero },
             expected: ["requestTimeout", "\(Duration.zero)"]),
        Case(label: "negative connectTimeout", change: { $0.connectTimeout = .seconds(-2) },
             expected: ["connectTimeout", "\(Duration.seconds(-2))"]),
        Case(label: "zero metadataMaxAge", change: { $0.metadataMaxAge = .zero },
             expected: ["metadataMaxAge", "\(Duration.zero)"]),
        Case(label: "zero retryBackoff", change: { $0.retryBackoff = .zero },
             expected: ["retryBackoff", "\(Duration.zero)"]),
        Case(label: "retryBackoffMaximum below retryBackoff", change: {
            $0.retryBackoff = .seconds(2)
            $0.retryBackoffMaximum = .seconds(1)
        }, expected: ["retryBackoffMaximum \(Duration.seconds(1))", "retryBackoff \(Duration.seconds(2))"]),
    ]

    @Test(arguments: cases)
    func invalidSettingIsRejected(_ testCase: Case) {
        var configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:1"])
        testCase.change(&configuration)
        let error = #expect(throws: KafkaProducerError.self) { try configuration.validate() }
        #expect(error?.code == .invalidConfiguration, "\(String(describing: error))")
        #expect(error?.mayHavePersisted == false)
        for text in testCase.expected {
            #expect(error?.description.contains(text) == true, "expected \"\(text)\" in: \(String(describing: error))")
        }
    }

    /// The producer validates before it starts its thread or connects anywhere.
    @Test func initRejectsInvalidConfiguration() {
        var configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:1"])
        configuration.linger = .milliseconds(-5)
        let error = #expect(throws: KafkaProducerError.self) { _ = try KafkaProducer(configuration: configuration) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("linger") == true, "\(String(describing: error))")
    }

    @Test func defaultsAreValid() {
        let configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:1"])
        #expect(throws: Never.self) { try configuration.validate() }
    }
}

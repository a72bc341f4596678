import FakeKafka
import Kafka

/// Producer settings for tests against the fake cluster: short timeouts so failures show fast.
func testConfiguration(_ cluster: FakeKafkaCluster) -> KafkaProducerConfiguration {
    var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
    configuration.deliveryTimeout = .seconds(10)
    configuration.requestTimeout = .seconds(5)
    configuration.maxBlock = .seconds(5)
    configuration.connectTimeout = .seconds(2)
    configuration.linger = .milliseconds(1)
    return configuration
}

func record(_ topic: String, _ index: Int, partition: Int32? = 0, size: Int = 0) -> ProducerRecord {
    let value = Array("value-\(index)".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
    return ProducerRecord(topic: topic, partition: partition, key: Array("key-\(index)".utf8), value: value)
}

/// Index encoded by `record(_:_:)` in a stored value.
func recordIndex(_ value: [UInt8]?) -> Int? {
    guard let value else { return nil }
    let text = String(decoding: value.prefix { $0 != 0 && $0 < 128 }, as: UTF8.self)
    guard text.hasPrefix("value-") else { return nil }
    return Int(text.dropFirst(6).prefix { $0.isNumber })
}

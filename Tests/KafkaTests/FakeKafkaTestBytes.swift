// Request bytes for the fake broker's tests, written field by field from Kafka's message
// definitions. These builders are separate from KafkaWire and from the fake's own encoder, so a
// mistake in the fake does not repeat itself in the bytes that test it. Their CRC-32C is a bitwise
// loop checked against published vectors.

/// Appends big-endian integers, varints and strings.
struct FakeKafkaBytes {
    var bytes: [UInt8] = []

    mutating func int8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }

    mutating func int16(_ value: Int16) {
        bytes += [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    mutating func int32(_ value: Int32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    mutating func int64(_ value: Int64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    mutating func unsignedVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Zigzag varint, as record fields use.
    mutating func varint(_ value: Int64) {
        unsignedVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func string(_ value: String?, flexible: Bool) {
        guard let value else {
            if flexible { unsignedVarint(0) } else { int16(-1) }
            return
        }
        if flexible { unsignedVarint(UInt64(value.utf8.count + 1)) } else { int16(Int16(value.utf8.count)) }
        bytes += Array(value.utf8)
    }

    mutating func arrayCount(_ count: Int?, flexible: Bool) {
        guard let count else {
            if flexible { unsignedVarint(0) } else { int32(-1) }
            return
        }
        if flexible { unsignedVarint(UInt64(count + 1)) } else { int32(Int32(count)) }
    }

    mutating func recordsField(_ value: [UInt8], flexible: Bool) {
        if flexible { unsignedVarint(UInt64(value.count + 1)) } else { int32(Int32(value.count)) }
        bytes += value
    }

    mutating func emptyTags() { bytes.append(0) }
}

/// Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
func fakeKafkaTestCRC32C(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
    }
    return ~crc
}

struct FakeKafkaTestRecord {
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [(String, [UInt8]?)] = []
    var timestampDelta: Int64 = 0
}

/// Builds requests for the fake's tests.
enum FakeKafkaRequests {
    static func isFlexible(apiKey: Int16, version: Int16) -> Bool {
        switch apiKey {
        case 0, 3: version >= 9
        case 18: version >= 3
        case 22: version >= 2
        default: false
        }
    }

    /// Builds a whole frame: size prefix, request header v1 or v2, body.
    static func frame(
        apiKey: Int16, version: Int16, correlationID: Int32, clientID: String? = "fake-test", body: [UInt8]
    ) -> [UInt8] {
        var message = FakeKafkaBytes()
        message.int16(apiKey)
        message.int16(version)
        message.int32(correlationID)
        message.string(clientID, flexible: false)
        if isFlexible(apiKey: apiKey, version: version) { message.emptyTags() }
        message.bytes += body
        var framed = FakeKafkaBytes()
        framed.int32(Int32(message.bytes.count))
        return framed.bytes + message.bytes
    }

    static func apiVersions(
        version: Int16, correlationID: Int32, software: (String, String) = ("fake-test", "1.0")
    )
        -> [UInt8]
    {
        var body = FakeKafkaBytes()
        if version >= 3 {
            body.string(software.0, flexible: true)
            body.string(software.1, flexible: true)
            body.emptyTags()
        }
        return frame(apiKey: 18, version: version, correlationID: correlationID, body: body.bytes)
    }

    /// Builds a Metadata request; `topics` nil requests all topics.
    static func metadata(
        version: Int16, correlationID: Int32, topics: [String]?, allowAutoCreate: Bool = true
    )
        -> [UInt8]
    {
        let flexible = version >= 9
        var body = FakeKafkaBytes()
        body.arrayCount(topics?.count, flexible: flexible)
        for topic in topics ?? [] {
            if version >= 10 { body.bytes += [UInt8](repeating: 0, count: 16) }
            body.string(topic, flexible: flexible)
            if flexible { body.emptyTags() }
        }
        if version >= 4 { body.int8(allowAutoCreate ? 1 : 0) }
        if (8...10).contains(version) { body.int8(0) }
        if version >= 8 { body.int8(0) }
        if flexible { body.emptyTags() }
        return frame(apiKey: 3, version: version, correlationID: correlationID, body: body.bytes)
    }

    static func initProducerId(
        version: Int16, correlationID: Int32, producerID: Int64 = -1, producerEpoch: Int16 = -1
    ) -> [UInt8] {
        let flexible = version >= 2
        var body = FakeKafkaBytes()
        body.string(nil, flexible: flexible)
        body.int32(60_000)
        if version >= 3 {
            body.int64(producerID)
            body.int16(producerEpoch)
        }
        if flexible { body.emptyTags() }
        return frame(apiKey: 22, version: version, correlationID: correlationID, body: body.bytes)
    }

    struct PartitionBatch {
        var topic: String
        var partition: Int32
        var records: [UInt8]
    }

    static func produce(
        version: Int16, correlationID: Int32, acks: Int16 = -1, batches: [PartitionBatch]
    ) -> [UInt8] {
        let flexible = version >= 9
        var body = FakeKafkaBytes()
        body.string(nil, flexible: flexible)
        body.int16(acks)
        body.int32(30_000)
        var topics: [String] = []
        for batch in batches where !topics.contains(batch.topic) { topics.append(batch.topic) }
        body.arrayCount(topics.count, flexible: flexible)
        for topic in topics {
            body.string(topic, flexible: flexible)
            let partitions = batches.filter { $0.topic == topic }
            body.arrayCount(partitions.count, flexible: flexible)
            for partition in partitions {
                body.int32(partition.partition)
                body.recordsField(partition.records, flexible: flexible)
                if flexible { body.emptyTags() }
            }
            if flexible { body.emptyTags() }
        }
        if flexible { body.emptyTags() }
        return frame(apiKey: 0, version: version, correlationID: correlationID, body: body.bytes)
    }

    /// Builds a v2 record batch with BaseOffset 0 and PartitionLeaderEpoch -1.
    static func recordBatch(
        _ records: [FakeKafkaTestRecord], baseTimestamp: Int64 = 1_700_000_000_000, producerID: Int64 = -1,
        producerEpoch: Int16 = -1, baseSequence: Int32 = -1
    ) -> [UInt8] {
        var body = FakeKafkaBytes()
        for (index, record) in records.enumerated() {
            var fields = FakeKafkaBytes()
            fields.int8(0)
            fields.varint(record.timestampDelta)
            fields.varint(Int64(index))
            if let key = record.key {
                fields.varint(Int64(key.count))
                fields.bytes += key
            } else {
                fields.varint(-1)
            }
            if let value = record.value {
                fields.varint(Int64(value.count))
                fields.bytes += value
            } else {
                fields.varint(-1)
            }
            fields.varint(Int64(record.headers.count))
            for (headerKey, headerValue) in record.headers {
                fields.varint(Int64(headerKey.utf8.count))
                fields.bytes += Array(headerKey.utf8)
                if let headerValue {
                    fields.varint(Int64(headerValue.count))
                    fields.bytes += headerValue
                } else {
                    fields.varint(-1)
                }
            }
            body.varint(Int64(fields.bytes.count))
            body.bytes += fields.bytes
        }
        // Bytes from Attributes to the end, which the CRC covers.
        var covered = FakeKafkaBytes()
        covered.int16(0)
        covered.int32(Int32(records.count - 1))
        covered.int64(baseTimestamp)
        covered.int64(baseTimestamp + (records.map(\.timestampDelta).max() ?? 0))
        covered.int64(producerID)
        covered.int16(producerEpoch)
        covered.int32(baseSequence)
        covered.int32(Int32(records.count))
        covered.bytes += body.bytes
        var batch = FakeKafkaBytes()
        batch.int64(0)
        batch.int32(Int32(4 + 1 + 4 + covered.bytes.count))
        batch.int32(-1)
        batch.int8(2)
        batch.int32(Int32(bitPattern: fakeKafkaTestCRC32C(covered.bytes[...])))
        batch.bytes += covered.bytes
        return batch.bytes
    }

    /// IBM/sarama's "uncompressed record" batch (record_test.go): one record with key 01 02 03 04,
    /// value 05 06 07 and header 08 09 0a = 0b 0c, BaseTimestamp 1479847795000, TimestampDelta
    /// 5 ms, ProducerId 0, ProducerEpoch 0, BaseSequence 0, CRC 54 79 61 FD.
    static let saramaUncompressedBatch: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 70, 0, 0, 0, 0, 2, 84, 121, 97,
        253, 0, 0, 0, 0, 0, 0, 0, 0, 1, 88, 141, 205, 89, 56, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4,
        11, 12,
    ]
}

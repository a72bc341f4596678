import Foundation
import Testing

@testable import KafkaWire

/// Recorded requests from kafka-python, librdkafka and hand-written frames: our encoder, given the
/// inputs stated in each sidecar, must reproduce the recorded bytes, and our decoder must read
/// them back to the same inputs.
@Suite struct FixtureRequestTests {
    @Test(arguments: KafkaFixtures.names(direction: "request"))
    func requestHeaderMatchesSidecar(name: String) throws {
        let sidecar = KafkaFixtures.sidecar(name)
        let frame = Array(KafkaFixtures.bytes(name).dropFirst(4))
        let (header, _) = try KafkaFrame.decodeRequestHeader(frame: frame)
        #expect(Int(header.apiKey.rawValue) == int(sidecar["api_key"]))
        #expect(Int(header.apiVersion) == int(sidecar["api_version"]))
        #expect(Int(header.correlationId) == int(sidecar["correlation_id"]))
        #expect(header.clientId == string(sidecar["client_id"]))
        #expect(Int(header.headerVersion) == int(sidecar["request_header_version"]))
    }

    @Test(arguments: KafkaFixtures.names(direction: "request"))
    func encoderReproducesRecordedRequest(name: String) throws {
        let sidecar = KafkaFixtures.sidecar(name)
        let apiKey = FixtureDecoding.apiKey(name)
        let version = FixtureDecoding.version(name)
        let recorded = KafkaFixtures.bytes(name)
        let frame = Array(recorded.dropFirst(4))
        let correlationId = Int32(int(sidecar["correlation_id"]) ?? -1)
        let clientId = string(sidecar["client_id"])
        guard apiKey.supportedVersions?.contains(version) == true else {
            // Versions outside our range: the body must be rejected as unsupported.
            var (_, reader) = try KafkaFrame.decodeRequestHeader(frame: frame)
            let error = decodingError {
                switch apiKey {
                case .apiVersions: _ = try ApiVersionsRequest.decode(from: &reader, version: version)
                default: _ = try MetadataRequest.decode(from: &reader, version: version)
                }
            }
            #expect(error?.kind == .unsupportedVersion)
            return
        }
        let body = dictionary(dictionary(sidecar["decoded"])["body"])
        switch apiKey {
        case .apiVersions:
            let request = ApiVersionsRequest(
                clientSoftwareName: string(body["client_software_name"]) ?? "",
                clientSoftwareVersion: string(body["client_software_version"]) ?? "")
            try check(
                request, version: version, correlationId: correlationId, clientId: clientId,
                recorded: recorded)
        case .metadata:
            let topics: [MetadataRequest.Topic]? =
                isNull(body["topics"])
                ? nil
                : array(body["topics"]).map { topic in
                    let fields = dictionary(topic)
                    return MetadataRequest.Topic(
                        name: string(fields["name"]), topicId: uuid(fields["topic_id"]) ?? .zero)
                }
            let request = MetadataRequest(
                topics: topics,
                allowAutoTopicCreation: (body["allow_auto_topic_creation"] as? Bool) ?? true,
                includeClusterAuthorizedOperations: (body["include_cluster_authorized_operations"] as? Bool)
                    ?? false,
                includeTopicAuthorizedOperations: (body["include_topic_authorized_operations"] as? Bool)
                    ?? false)
            try check(
                request, version: version, correlationId: correlationId, clientId: clientId,
                recorded: recorded)
        case .initProducerId:
            let request = InitProducerIdRequest(
                transactionalId: string(body["transactional_id"]),
                transactionTimeoutMs: Int32(int(body["transaction_timeout_ms"]) ?? 0),
                producerId: Int64(int(body["producer_id"]) ?? -1),
                producerEpoch: Int16(int(body["producer_epoch"]) ?? -1))
            try check(
                request, version: version, correlationId: correlationId, clientId: clientId,
                recorded: recorded)
        case .produce:
            let request = try produceRequest(body: body, sidecar: sidecar)
            try check(
                request, version: version, correlationId: correlationId, clientId: clientId,
                recorded: recorded)
        default:
            Issue.record("no request model for \(apiKey)")
        }
    }

    /// Builds the Produce request from the sidecar: acks, timeout and topics from the body, each
    /// partition's batch rebuilt with RecordBatchBuilder from the records and producer fields that
    /// kafka-python decoded.
    private func produceRequest(body: [String: Any], sidecar: [String: Any]) throws -> ProduceRequest {
        let batches = array(dictionary(sidecar["decoded"])["record_batches"]).map(dictionary)
        let topicData = try array(body["topic_data"]).map { topicValue in
            let topic = dictionary(topicValue)
            let topicName = try #require(string(topic["name"]))
            let partitions = try array(topic["partition_data"]).map { partitionValue in
                let index = try #require(int(dictionary(partitionValue)["index"]))
                let batch = try #require(
                    batches.first { string($0["topic"]) == topicName && int($0["partition"]) == index })
                // kafka-python and librdkafka both write PartitionLeaderEpoch 0 in produced batches.
                var builder = RecordBatchBuilder(
                    partitionLeaderEpoch: 0,
                    attributes: RecordBatchAttributes(rawValue: Int16(int(batch["attributes"]) ?? 0)),
                    producerId: Int64(int(batch["producer_id"]) ?? -1),
                    producerEpoch: Int16(int(batch["producer_epoch"]) ?? -1),
                    baseSequence: Int32(int(batch["base_sequence"]) ?? -1))
                for recordValue in array(batch["records"]) {
                    let record = dictionary(recordValue)
                    let headers = array(record["headers"]).map { headerValue in
                        let pair = array(headerValue)
                        return RecordHeader(key: string(pair.first) ?? "", value: hexOrNil(pair.last))
                    }
                    try builder.append(
                        key: hexOrNil(record["key_hex"]), value: hexOrNil(record["value_hex"]),
                        headers: headers,
                        timestamp: Int64(try #require(int(record["timestamp"]))))
                }
                return ProduceRequest.PartitionData(index: Int32(index), records: builder.finish())
            }
            return ProduceRequest.TopicData(name: topicName, partitionData: partitions)
        }
        return ProduceRequest(
            transactionalId: string(body["transactional_id"]), acks: Int16(int(body["acks"]) ?? 99),
            timeoutMs: Int32(int(body["timeout_ms"]) ?? -1), topicData: topicData)
    }

    /// Encodes `request` and compares with the recorded bytes; decodes the recording and compares
    /// with `request`.
    private func check<Request: KafkaRequest>(
        _ request: Request, version: Int16, correlationId: Int32, clientId: String?, recorded: [UInt8]
    ) throws {
        let encoded = try KafkaFrame.encodeRequest(
            request, version: version, correlationId: correlationId, clientId: clientId)
        #expect(hexString(encoded) == hexString(recorded))
        let (header, decoded) = try KafkaFrame.decodeRequest(
            Request.self, frame: Array(recorded.dropFirst(4)))
        #expect(header.correlationId == correlationId)
        #expect(decoded == request)
    }

    @Test(arguments: KafkaFixtures.names(direction: "request").filter { $0.contains("/produce-") })
    func recordedBatchesDecodeToSidecarValues(name: String) throws {
        let sidecar = KafkaFixtures.sidecar(name)
        let frame = Array(KafkaFixtures.bytes(name).dropFirst(4))
        let (_, request) = try KafkaFrame.decodeRequest(ProduceRequest.self, frame: frame)
        let expectedBatches = array(dictionary(sidecar["decoded"])["record_batches"]).map(dictionary)
        var seen = 0
        for topic in request.topicData {
            for partition in topic.partitionData {
                let expected = try #require(
                    expectedBatches.first {
                        string($0["topic"]) == topic.name && int($0["partition"]) == Int(partition.index)
                    })
                let batches = try partition.decodeBatches()
                #expect(batches.count == 1)
                let batch = try #require(batches.first)
                #expect(Int(batch.crc) == int(expected["crc"]))
                #expect(Int(batch.producerId) == int(expected["producer_id"]))
                #expect(Int(batch.producerEpoch) == int(expected["producer_epoch"]))
                #expect(Int(batch.baseSequence) == int(expected["base_sequence"]))
                #expect(Int(batch.baseTimestamp) == int(expected["first_timestamp"]))
                #expect(Int(batch.maxTimestamp) == int(expected["max_timestamp"]))
                #expect(Int(batch.lastOffsetDelta) == int(expected["last_offset_delta"]))
                #expect(batch.attributes.isTransactional == (expected["is_transactional"] as? Bool))
                let records = array(expected["records"]).map(dictionary)
                #expect(batch.records.count == records.count)
                for (record, expectedRecord) in zip(batch.records, records) {
                    #expect(Int(batch.offset(of: record)) == int(expectedRecord["offset"]))
                    #expect(Int(batch.timestamp(of: record)) == int(expectedRecord["timestamp"]))
                    #expect(record.key == hexOrNil(expectedRecord["key_hex"]))
                    #expect(record.value == hexOrNil(expectedRecord["value_hex"]))
                    let headers = array(expectedRecord["headers"]).map { value in
                        let pair = array(value)
                        return RecordHeader(key: string(pair.first) ?? "", value: hexOrNil(pair.last))
                    }
                    #expect(record.headers == headers)
                }
                seen += 1
            }
        }
        #expect(seen == expectedBatches.count)
    }
}

/// Parses a UUID string such as "01a241c3-56dd-79e1-bedc-366eae46088d"; JSON null becomes nil.
func uuid(_ value: Any?) -> KafkaUUID? {
    guard let text = value as? String else { return nil }
    let bytes = hexBytes(text.replacingOccurrences(of: "-", with: ""))
    return bytes.count == 16 ? KafkaUUID(bytes: bytes) : nil
}

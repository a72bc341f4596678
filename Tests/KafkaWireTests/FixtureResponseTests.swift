import Foundation
import Testing

@testable import KafkaWire

/// Recorded responses from Tansu 0.6 and librdkafka 2.16.0's mock cluster: each decodes to the
/// values in its sidecar, and our response encoder reproduces the recorded bytes from the decoded
/// model, which is what the fake cluster relies on. The mock's two non-conforming responses are
/// checked for what a client must still get from them.
@Suite struct FixtureResponseTests {
    @Test(arguments: KafkaFixtures.names(direction: "response"))
    func responseDecodesToSidecarValues(name: String) throws {
        let sidecar = KafkaFixtures.sidecar(name)
        let apiKey = FixtureDecoding.apiKey(name)
        let version = FixtureDecoding.version(name)
        let frame = Array(KafkaFixtures.bytes(name).dropFirst(4))
        let expected = dictionary(dictionary(sidecar["decoded"])["body_after_response_header"])
        #expect(Int(apiKey.responseHeaderVersion(version)) == int(sidecar["response_header_version"]))
        #expect(Int(try ResponseHeader.peekCorrelationId(frame: frame)) == int(sidecar["correlation_id"]))

        if dictionary(sidecar["decoded"])["error"] != nil {
            // kafka-python could not decode it: librdkafka's mock refuses ApiVersions v3 in a mix of
            // v0 and compact encodings. The client must still see UNSUPPORTED_VERSION and retry at v0.
            let decoded = try ApiVersionsResponse.decodeFrame(frame, version: version)
            let facts = dictionary(sidecar["facts"])
            #expect(apiKey == .apiVersions)
            #expect(Int(decoded.response.errorCode.rawValue) == int(facts["kafka_expected_error_code"]))
            #expect(decoded.response.retryVersion(sentVersion: version) == 0)
            return
        }
        if FixtureDecoding.oneTrailingByte.contains(name) {
            let decoded = try FixtureDecoding.decode(name: name, frame: frame)
            let response = try #require(decoded.last as? MetadataResponse)
            #expect(response == metadataResponse(expected, version: version))
            let error = decodingError {
                try KafkaFrame.decodeResponse(MetadataResponse.self, frame: frame, version: version)
            }
            #expect(error?.kind == .trailingBytes)
            return
        }

        switch apiKey {
        case .apiVersions:
            // Tansu responds to versions above 4 in the v3 layout, so decode those as v4.
            let decoded = try ApiVersionsResponse.decodeFrame(frame, version: min(version, 4))
            let response = decoded.response
            #expect(Int(response.errorCode.rawValue) == int(expected["error_code"]))
            let expectedKeys = array(expected["api_keys"]).map(dictionary).map {
                ApiVersionsResponse.ApiVersionRange(
                    apiKey: ApiKey(Int16(int($0["api_key"]) ?? -1)),
                    minVersion: Int16(int($0["min_version"]) ?? -1),
                    maxVersion: Int16(int($0["max_version"]) ?? -1))
            }
            #expect(response.apiKeys == expectedKeys)
            #expect(Int(response.throttleTimeMs) == (int(expected["throttle_time_ms"]) ?? 0))
            try checkReencoding(response, version: decoded.decodedVersion, name: name)
        case .metadata:
            guard apiKey.supportedVersions?.contains(version) == true else {
                var reader = WireReader(frame)
                _ = try ResponseHeader.decode(from: &reader, headerVersion: 0)
                let error = decodingError { try MetadataResponse.decode(from: &reader, version: version) }
                #expect(error?.kind == .unsupportedVersion)
                return
            }
            let response = try KafkaFrame.decodeResponse(
                MetadataResponse.self, frame: frame, version: version
            ).response
            #expect(response == metadataResponse(expected, version: version))
            try checkReencoding(response, version: version, name: name)
        case .initProducerId:
            let response = try KafkaFrame.decodeResponse(
                InitProducerIdResponse.self, frame: frame, version: version
            )
            .response
            let model = InitProducerIdResponse(
                throttleTimeMs: Int32(int(expected["throttle_time_ms"]) ?? -99),
                errorCode: KafkaErrorCode(Int16(int(expected["error_code"]) ?? -99)),
                producerId: Int64(int(expected["producer_id"]) ?? -99),
                producerEpoch: Int16(int(expected["producer_epoch"]) ?? -99))
            #expect(response == model)
            try checkReencoding(response, version: version, name: name)
        case .produce:
            let response = try KafkaFrame.decodeResponse(ProduceResponse.self, frame: frame, version: version)
                .response
            #expect(response == produceResponse(expected, version: version))
            try checkReencoding(response, version: version, name: name)
        default:
            Issue.record("no response model for \(apiKey)")
        }
    }

    private func checkReencoding<Response: KafkaResponse>(
        _ response: Response, version: Int16, name: String
    ) throws {
        let recorded = KafkaFixtures.bytes(name)
        let correlationId = try ResponseHeader.peekCorrelationId(frame: Array(recorded.dropFirst(4)))
        let encoded = try KafkaFrame.encodeResponse(response, version: version, correlationId: correlationId)
        #expect(hexString(encoded) == hexString(recorded))
    }

    private func metadataResponse(_ body: [String: Any], version: Int16) -> MetadataResponse {
        let brokers = array(body["brokers"]).map(dictionary).map {
            MetadataResponse.Broker(
                nodeId: Int32(int($0["node_id"]) ?? -99), host: string($0["host"]) ?? "?",
                port: Int32(int($0["port"]) ?? -99), rack: string($0["rack"]))
        }
        let topics = array(body["topics"]).map(dictionary).map { topic in
            let partitions = array(topic["partitions"]).map(dictionary).map { partition in
                MetadataResponse.Partition(
                    errorCode: KafkaErrorCode(Int16(int(partition["error_code"]) ?? -99)),
                    partitionIndex: Int32(int(partition["partition_index"]) ?? -99),
                    leaderId: Int32(int(partition["leader_id"]) ?? -99),
                    leaderEpoch: Int32(int(partition["leader_epoch"]) ?? -1),
                    replicaNodes: array(partition["replica_nodes"]).compactMap { int($0).map(Int32.init) },
                    isrNodes: array(partition["isr_nodes"]).compactMap { int($0).map(Int32.init) },
                    offlineReplicas: array(partition["offline_replicas"]).compactMap {
                        int($0).map(Int32.init)
                    })
            }
            return MetadataResponse.Topic(
                errorCode: KafkaErrorCode(Int16(int(topic["error_code"]) ?? -99)),
                name: string(topic["name"]),
                topicId: uuid(topic["topic_id"]) ?? .zero,
                isInternal: (topic["is_internal"] as? Bool) ?? false,
                partitions: partitions,
                topicAuthorizedOperations: authorizedOperations(topic["authorized_operations"]))
        }
        return MetadataResponse(
            throttleTimeMs: Int32(int(body["throttle_time_ms"]) ?? 0), brokers: brokers,
            clusterId: string(body["cluster_id"]), controllerId: Int32(int(body["controller_id"]) ?? -1),
            topics: topics,
            clusterAuthorizedOperations: version >= 8 && version <= 10
                ? authorizedOperations(body["authorized_operations"]) : Int32.min)
    }

    /// kafka-python lists authorized operations as the set bit numbers, and null for Int32.min.
    private func authorizedOperations(_ value: Any?) -> Int32 {
        guard let bits = value as? [Any] else { return Int32.min }
        var field: UInt32 = 0
        for bit in bits.compactMap(int) { field |= 1 << UInt32(bit) }
        return Int32(bitPattern: field)
    }

    private func produceResponse(_ body: [String: Any], version: Int16) -> ProduceResponse {
        let responses = array(body["responses"]).map(dictionary).map { topic in
            let partitions = array(topic["partition_responses"]).map(dictionary).map { partition in
                let leader = dictionary(partition["current_leader"])
                return ProduceResponse.PartitionResponse(
                    index: Int32(int(partition["index"]) ?? -99),
                    errorCode: KafkaErrorCode(Int16(int(partition["error_code"]) ?? -99)),
                    baseOffset: Int64(int(partition["base_offset"]) ?? -99),
                    logAppendTimeMs: Int64(int(partition["log_append_time_ms"]) ?? -1),
                    logStartOffset: Int64(int(partition["log_start_offset"]) ?? -1),
                    recordErrors: array(partition["record_errors"]).map(dictionary).map {
                        ProduceResponse.RecordError(
                            batchIndex: Int32(int($0["batch_index"]) ?? -99),
                            batchIndexErrorMessage: string($0["batch_index_error_message"]))
                    },
                    errorMessage: string(partition["error_message"]),
                    currentLeader: leader.isEmpty
                        ? nil
                        : ProduceResponse.LeaderIdAndEpoch(
                            leaderId: Int32(int(leader["leader_id"]) ?? -99),
                            leaderEpoch: Int32(int(leader["leader_epoch"]) ?? -99)))
            }
            return ProduceResponse.TopicResponse(
                name: string(topic["name"]) ?? "?", partitionResponses: partitions)
        }
        let endpoints = array(body["node_endpoints"]).map(dictionary).map {
            ProduceResponse.NodeEndpoint(
                nodeId: Int32(int($0["node_id"]) ?? -99), host: string($0["host"]) ?? "?",
                port: Int32(int($0["port"]) ?? -99), rack: string($0["rack"]))
        }
        return ProduceResponse(
            responses: responses, throttleTimeMs: Int32(int(body["throttle_time_ms"]) ?? 0),
            nodeEndpoints: endpoints)
    }

    @Test func handWrittenRefusalDecodesAsV0() throws {
        let name = "vectors/apiversions-v0-unsupported-version-refusal"
        let bytes = KafkaFixtures.bytes(name)
        #expect(bytes == hexBytes("00 00 00 10 00 00 00 07 00 23 00 00 00 01 00 12 00 00 00 04"))
        let decoded = try ApiVersionsResponse.decodeFrame(Array(bytes.dropFirst(4)), version: 3)
        #expect(decoded.header.correlationId == 7)
        #expect(decoded.decodedVersion == 0)
        #expect(decoded.response.errorCode == .unsupportedVersion)
        #expect(decoded.response.apiKeys == [.init(apiKey: .apiVersions, minVersion: 0, maxVersion: 4)])
        // Broker max 4 is not lower than the v3 we sent, so retry at v0; after v5, retry at v4.
        #expect(decoded.response.retryVersion(sentVersion: 3) == 0)
        #expect(decoded.response.retryVersion(sentVersion: 5) == 4)
        #expect(decoded.response.retryVersion(sentVersion: 0) == nil)
        let encoded = try KafkaFrame.encodeResponse(decoded.response, version: 0, correlationId: 7)
        #expect(encoded == bytes)
    }
}

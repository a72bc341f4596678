import TestSupport
import Testing

@testable import KafkaWire

/// Malformed input must throw `WireDecodingError`, never crash or over-allocate.
@Suite struct BadInputTests {
    static let decodableFrames = KafkaFixtures.allFrames.filter { name in
        FixtureDecoding.apiKey(name).supportedVersions?.contains(FixtureDecoding.version(name)) == true
    }

    /// ApiVersions refusals are left out because a truncated UNSUPPORTED_VERSION response is read
    /// leniently on purpose (see `truncatedRefusalStillRetries`).
    @Test(arguments: decodableFrames.filter { !FixtureDecoding.isApiVersionsRefusal($0) })
    func everyTruncatedBodyThrows(name: String) throws {
        let frame = Array(KafkaFixtures.bytes(name).dropFirst(4))
        for length in 0..<frame.count {
            do {
                _ = try FixtureDecoding.decode(name: name, frame: Array(frame[..<length]))
                Issue.record("prefix \(length) of \(frame.count) decoded without error")
            } catch is WireDecodingError {
                // Expected, because the size prefix declared the frame complete.
            }
        }
    }

    @Test(arguments: decodableFrames)
    func mutatedFramesThrowOrDecode(name: String) {
        let frame = Array(KafkaFixtures.bytes(name).dropFirst(4))
        var generator = SplitMix64(seed: UInt64(frame.count))
        for _ in 0..<300 {
            var mutated = frame
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<mutated.count, using: &generator)
                // Favour the values that make lengths and counts extreme.
                let choices: [UInt8] = [0x00, 0x7F, 0x80, 0xFF, UInt8.random(in: 0...255, using: &generator)]
                mutated[index] = choices.randomElement(using: &generator)!
            }
            do {
                _ = try FixtureDecoding.decode(name: name, frame: mutated)
            } catch is WireDecodingError {
            } catch {
                Issue.record("unexpected error type \(error)")
            }
        }
    }

    @Test func truncatedRefusalStillRetries() throws {
        let frame = Array(
            KafkaFixtures.bytes("vectors/apiversions-v0-unsupported-version-refusal").dropFirst(4))
        try #require(frame.count == 16)
        for length in 0..<frame.count {
            let prefix = Array(frame[..<length])
            if length < 6 {
                // Correlation id or error code incomplete.
                #expect(throws: WireDecodingError.self) {
                    try ApiVersionsResponse.decodeFrame(prefix, version: 3)
                }
                continue
            }
            let response = try ApiVersionsResponse.decodeFrame(prefix, version: 3).response
            #expect(response.errorCode == .unsupportedVersion)
            #expect(response.apiKeys.isEmpty)
            #expect(response.retryVersion(sentVersion: 3) == 0)
        }
    }

    @Test func requestHeaderV2TaggedFieldsAreRead() throws {
        // Metadata v12 header with client id "c" and one unknown header tag, then an empty body:
        // null topics, auto-create false, topic operations false, no tags.
        let frame = hexBytes("00 03 00 0C 00 00 00 05 00 01 63 01 07 01 AA | 00 00 00 00")
        let (header, request) = try KafkaFrame.decodeRequest(MetadataRequest.self, frame: frame)
        #expect(header.taggedFields == [TaggedField(tag: 7, data: [0xAA])])
        #expect(header.clientId == "c")
        #expect(request.topics == nil)
    }

    @Test func nullClientIdIsAccepted() throws {
        let frame = try KafkaFrame.encodeRequest(
            ApiVersionsRequest(), version: 0, correlationId: 1, clientId: nil)
        let (header, _) = try KafkaFrame.decodeRequestHeader(frame: Array(frame.dropFirst(4)))
        #expect(header.clientId == nil)
    }

    @Test func trailingBytesAreRejected() throws {
        var frame = Array(
            try KafkaFrame.encodeResponse(
                InitProducerIdResponse(producerId: 1, producerEpoch: 0), version: 1, correlationId: 1
            ).dropFirst(4))
        frame.append(0)
        let error = decodingError {
            try KafkaFrame.decodeResponse(InitProducerIdResponse.self, frame: frame, version: 1)
        }
        #expect(error?.kind == .trailingBytes)
        #expect(error?.api == "InitProducerId response")
    }

    @Test func corruptBatchInProduceRequestFailsCRC() throws {
        var batch = RecordBatchTests.goldenBatch
        batch[70] ^= 0x01
        let request = ProduceTests.request(records: batch)
        let frame = try KafkaFrame.encodeRequest(request, version: 9, correlationId: 1, clientId: nil)
        let decoded = try KafkaFrame.decodeRequest(ProduceRequest.self, frame: Array(frame.dropFirst(4)))
            .request
        let error = decodingError { try decoded.topicData[0].partitionData[0].decodeBatches() }
        #expect(error?.kind == .crcMismatch)
        #expect(error?.crcMismatch?.expected == 0x5479_61FD)
        #expect(error?.crcMismatch?.actual == CRC32C.checksum(batch[21...]))
    }

    @Test func unknownApiKeyHeaderStillDecodes() throws {
        // Fetch (key 1) v4: not implemented here, so the header is read as v1 and the body left alone.
        let frame = hexBytes("00 01 00 04 00 00 00 09 FF FF 01 02 03")
        let (header, body) = try KafkaFrame.decodeRequestHeader(frame: frame)
        #expect(header.apiKey == ApiKey(1))
        #expect(header.correlationId == 9)
        #expect(body.readableBytes == 3)
        #expect(throws: WireDecodingError.self) {
            try KafkaFrame.decodeRequest(MetadataRequest.self, frame: frame)
        }
    }
}

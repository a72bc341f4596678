import Testing

@testable import KafkaWire

@Suite struct ApiVersionsTests {
    @Test func v3RequestMatchesWorkedBytes() throws {
        let request = ApiVersionsRequest(clientSoftwareName: "ours", clientSoftwareVersion: "0.1.0")
        let frame = try KafkaFrame.encodeRequest(request, version: 3, correlationId: 1, clientId: "c")
        let expected = hexBytes(
            "00 00 00 18 | 00 12 00 03 00 00 00 01 00 01 63 00 | 05 6f 75 72 73 06 30 2e 31 2e 30 00")
        #expect(frame == expected)
        let (header, decoded) = try KafkaFrame.decodeRequest(
            ApiVersionsRequest.self, frame: Array(frame.dropFirst(4)))
        #expect(header.apiKey == .apiVersions)
        #expect(header.apiVersion == 3)
        #expect(header.clientId == "c")
        #expect(header.headerVersion == 2)
        #expect(decoded == request)
    }

    @Test func v0ToV2RequestBodiesAreEmpty() throws {
        for version: Int16 in 0...2 {
            let frame = try KafkaFrame.encodeRequest(
                ApiVersionsRequest(clientSoftwareName: "x", clientSoftwareVersion: "y"), version: version,
                correlationId: 2, clientId: nil)
            // Size, then the v1 header: key, version, correlation id, null client id.
            #expect(
                frame == hexBytes("00 00 00 0A 00 12") + [0, UInt8(version)] + hexBytes("00 00 00 02 FF FF"))
        }
    }

    @Test func softwareFieldValidation() {
        #expect(ApiVersionsRequest.isValidSoftwareField("ours"))
        #expect(ApiVersionsRequest.isValidSoftwareField("0.1.0"))
        #expect(ApiVersionsRequest.isValidSoftwareField("a"))
        #expect(ApiVersionsRequest.isValidSoftwareField("dual-stream.swift"))
        #expect(!ApiVersionsRequest.isValidSoftwareField(""))
        #expect(!ApiVersionsRequest.isValidSoftwareField("-x"))
        #expect(!ApiVersionsRequest.isValidSoftwareField("x."))
        #expect(!ApiVersionsRequest.isValidSoftwareField("a b"))
        #expect(!ApiVersionsRequest.isValidSoftwareField("ü"))
    }

    @Test func responseRoundTripsEveryVersion() throws {
        let response = ApiVersionsResponse(
            apiKeys: [
                .init(apiKey: .produce, minVersion: 0, maxVersion: 11),
                .init(apiKey: .apiVersions, minVersion: 0, maxVersion: 4),
            ], throttleTimeMs: 12)
        for version: Int16 in 0...4 {
            let frame = try KafkaFrame.encodeResponse(response, version: version, correlationId: 9)
            let decoded = try ApiVersionsResponse.decodeFrame(Array(frame.dropFirst(4)), version: version)
            #expect(decoded.decodedVersion == version)
            #expect(decoded.header.correlationId == 9)
            var expected = response
            if version == 0 { expected.throttleTimeMs = 0 }
            #expect(decoded.response == expected)
        }
    }

    @Test func responseHeaderIsV0EvenWhenFlexible() throws {
        let frame = try KafkaFrame.encodeResponse(
            ApiVersionsResponse(apiKeys: []), version: 3, correlationId: 5)
        // Size, correlation id, then the body at once: no header tagged-field byte.
        #expect(frame == hexBytes("00 00 00 0C 00 00 00 05 00 00 01 00 00 00 00 00"))
    }

    @Test func unknownTaggedFieldsAreKept() throws {
        // v3 body: error 0, one entry (key 0, 0..11, no tags), throttle 0, then tag 0 (SupportedFeatures,
        // not decoded) and tag 9 (unknown).
        let body = hexBytes("00 00 02 00 00 00 00 00 0B 00 00 00 00 00 02 00 01 00 09 02 AB CD")
        var reader = WireReader(body)
        let response = try ApiVersionsResponse.decode(from: &reader, version: 3)
        #expect(reader.isAtEnd)
        #expect(response.apiKeys == [.init(apiKey: .produce, minVersion: 0, maxVersion: 11)])
        #expect(
            response.taggedFields == [
                TaggedField(tag: 0, data: [0x00]), TaggedField(tag: 9, data: [0xAB, 0xCD]),
            ])
        var writer = WireWriter()
        try response.encode(into: &writer, version: 3)
        #expect(writer.bytes == body)
    }

    @Test func refusalEncodesLikeWorkedBytes() throws {
        let refusal = ApiVersionsResponse.unsupportedVersionRefusal()
        let frame = try KafkaFrame.encodeResponse(refusal, version: 0, correlationId: 7)
        #expect(frame == hexBytes("00 00 00 10 | 00 00 00 07 | 00 23 00 00 00 01 00 12 00 00 00 04"))
    }

    @Test func refusalToV4DecodesAsV0() throws {
        let frame = hexBytes("00 00 00 07 | 00 23 00 00 00 01 00 12 00 00 00 02")
        let decoded = try ApiVersionsResponse.decodeFrame(frame, version: 4)
        #expect(decoded.decodedVersion == 0)
        #expect(decoded.response.errorCode == .unsupportedVersion)
        #expect(decoded.response.retryVersion(sentVersion: 4) == 2)
    }

    @Test func retryRuleNeverLoops() {
        let noEntries = ApiVersionsResponse(errorCode: .unsupportedVersion, apiKeys: [])
        #expect(noEntries.retryVersion(sentVersion: 3) == 0)
        #expect(noEntries.retryVersion(sentVersion: 0) == nil)
        let success = ApiVersionsResponse(apiKeys: [.init(apiKey: .apiVersions, minVersion: 0, maxVersion: 4)]
        )
        #expect(success.retryVersion(sentVersion: 4) == nil)
        let higherMax = ApiVersionsResponse(
            errorCode: .unsupportedVersion,
            apiKeys: [.init(apiKey: .apiVersions, minVersion: 0, maxVersion: 9)])
        #expect(higherMax.retryVersion(sentVersion: 4) == 0)

        // A broker that refuses every version while claiming max 3: 4, then 3, then 0, then stop.
        let liar = ApiVersionsResponse(
            errorCode: .unsupportedVersion,
            apiKeys: [.init(apiKey: .apiVersions, minVersion: 0, maxVersion: 3)])
        var sent: Int16 = 4
        var attempts = [sent]
        while let next = liar.retryVersion(sentVersion: sent), attempts.count < 10 {
            sent = next
            attempts.append(sent)
        }
        #expect(attempts == [4, 3, 0])
    }

    @Test func negotiationPicksHighestCommonVersion() {
        // The ranges Tansu 0.6 advertises.
        let tansu = ApiVersionsResponse(apiKeys: [
            .init(apiKey: .produce, minVersion: 0, maxVersion: 11),
            .init(apiKey: .metadata, minVersion: 0, maxVersion: 12),
            .init(apiKey: .apiVersions, minVersion: 0, maxVersion: 4),
            .init(apiKey: .initProducerId, minVersion: 0, maxVersion: 5),
        ])
        let versions = tansu.negotiatedVersions()
        #expect(versions.version(for: .produce) == 11)
        #expect(versions.version(for: .metadata) == 12)
        #expect(versions.version(for: .apiVersions) == 4)
        #expect(versions.version(for: .initProducerId) == 5)
    }

    @Test func negotiationKeepsProduceBetweenV3AndV12() {
        let newer = ApiVersionsResponse(apiKeys: [.init(apiKey: .produce, minVersion: 3, maxVersion: 13)])
        #expect(newer.negotiatedVersions().version(for: .produce) == 12)
        let older = ApiVersionsResponse(apiKeys: [.init(apiKey: .produce, minVersion: 0, maxVersion: 2)])
        #expect(older.negotiatedVersions().version(for: .produce) == nil)
        let missing = ApiVersionsResponse(apiKeys: [])
        #expect(missing.negotiatedVersions().version(for: .produce) == nil)
        let narrow = ApiVersionsResponse(apiKeys: [.init(apiKey: .produce, minVersion: 5, maxVersion: 7)])
        #expect(narrow.negotiatedVersions().version(for: .produce) == 7)
    }

    @Test func supportTable() {
        #expect(ApiKey.produce.supportedVersions == 3...12)
        #expect(ApiKey.metadata.supportedVersions == 1...12)
        #expect(ApiKey.apiVersions.supportedVersions == 0...4)
        #expect(ApiKey.initProducerId.supportedVersions == 0...5)
        #expect(ApiKey(1).supportedVersions == nil)
        #expect(ApiKey.produce.isFlexible(9))
        #expect(!ApiKey.produce.isFlexible(8))
        #expect(ApiKey.metadata.isFlexible(9))
        #expect(!ApiKey.metadata.isFlexible(8))
        #expect(ApiKey.apiVersions.isFlexible(3))
        #expect(!ApiKey.apiVersions.isFlexible(2))
        #expect(ApiKey.initProducerId.isFlexible(2))
        #expect(!ApiKey.initProducerId.isFlexible(1))
        #expect(ApiKey.apiVersions.responseHeaderVersion(4) == 0)
        #expect(ApiKey.produce.responseHeaderVersion(9) == 1)
        #expect(ApiKey.produce.requestHeaderVersion(8) == 1)
    }
}

@Suite struct ApiVersionsFallbackTests {
    @Test func refusalInNeitherLayoutStillRetriesAtV0() throws {
        // Error 35 followed by bytes that fit neither v0 nor v3.
        let frame = hexBytes("00 00 00 07 | 00 23 05 FF")
        let decoded = try ApiVersionsResponse.decodeFrame(frame, version: 3)
        #expect(decoded.response.errorCode == .unsupportedVersion)
        #expect(decoded.response.apiKeys.isEmpty)
        #expect(decoded.response.retryVersion(sentVersion: 3) == 0)
    }

    @Test func truncatedSuccessIsNotReadAsV0() {
        // A v1 success without ThrottleTimeMs is malformed, not a v0 response.
        let frame = hexBytes("00 00 00 07 | 00 00 00 00 00 01 00 12 00 00 00 04")
        let error = decodingError { try ApiVersionsResponse.decodeFrame(frame, version: 1) }
        #expect(error?.kind == .truncated)
        #expect(error?.field == "ThrottleTimeMs")
    }
}

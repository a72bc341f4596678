import KafkaWire

/// ApiVersions (key 18), sent first on every connection, through KafkaWire's message types.
enum ApiVersionsExchange {
    static let softwareName = "dualstream-swift"
    static let softwareVersion = "0.1.0"

    static func request(version: Int16, correlationID: Int32, clientID: String) throws(WireEncodingError) -> [UInt8] {
        let request = ApiVersionsRequest(clientSoftwareName: softwareName, clientSoftwareVersion: softwareVersion)
        return try KafkaFrame.encodeRequest(request, version: version, correlationId: correlationID, clientId: clientID)
    }

    enum Outcome: Equatable {
        /// Supported version range per API key.
        case versions([Int16: ClosedRange<Int16>])
        /// The broker cannot serve the version sent: ask again at this version.
        case retry(version: Int16)
        case failed(KafkaErrorCode)
    }

    /// Decodes a response frame to a request sent at `version`. An UNSUPPORTED_VERSION response is
    /// encoded as v0 whatever was sent, and names the version to retry with (KafkaWire's
    /// `retryVersion`: the broker's ApiVersions maximum when below `version`, else 0).
    static func decode(frame: [UInt8], version: Int16) throws(WireDecodingError) -> (Int32, Outcome) {
        let (header, response, _) = try ApiVersionsResponse.decodeFrame(frame, version: version)
        if let retry = response.retryVersion(sentVersion: version) {
            return (header.correlationId, .retry(version: retry))
        }
        guard !response.errorCode.isError else { return (header.correlationId, .failed(response.errorCode)) }
        var versions = [Int16: ClosedRange<Int16>]()
        for entry in response.apiKeys where entry.minVersion <= entry.maxVersion {
            versions[entry.apiKey.rawValue] = entry.minVersion...entry.maxVersion
        }
        return (header.correlationId, .versions(versions))
    }

    /// Returns the highest version both sides support, or `nil`.
    static func choose(_ api: APIKey, from brokerVersions: [Int16: ClosedRange<Int16>]) -> Int16? {
        guard let broker = brokerVersions[api.rawValue] else { return nil }
        let ours = api.supportedVersions
        let high = min(broker.upperBound, ours.upperBound)
        let low = max(broker.lowerBound, ours.lowerBound)
        return low <= high ? high : nil
    }
}

import KafkaWire

/// ApiVersions (key 18), sent first on every connection.
enum ApiVersionsExchange {
    static let softwareName = "dualstream-swift"
    static let softwareVersion = "0.1.0"

    static func request(version: Int16, correlationID: Int32, clientID: String) throws(WireEncodingError) -> [UInt8] {
        var frame = RequestFrame(api: .apiVersions, version: version, correlationID: correlationID,
                                 clientID: clientID)
        if version >= 3 {
            try frame.writeString(softwareName, field: "ClientSoftwareName")
            try frame.writeString(softwareVersion, field: "ClientSoftwareVersion")
            frame.writeEmptyTaggedFields()
        }
        return frame.finish()
    }

    enum Outcome: Equatable {
        /// Supported version range per API key.
        case versions([Int16: ClosedRange<Int16>])
        /// The broker cannot serve `version`: ask again at this version.
        case retry(version: Int16)
        case failed(KafkaErrorCode)
    }

    /// Decodes the body. An UNSUPPORTED_VERSION answer is encoded as v0 whatever was sent; the retry
    /// version is the broker's ApiVersions maximum when below `version`, else 0.
    static func decode(_ body: inout WireReader, version: Int16) throws(WireDecodingError) -> Outcome {
        let errorCode = KafkaErrorCode(try body.readInt16("ErrorCode"))
        let encodedVersion = errorCode == .unsupportedVersion ? 0 : version
        let compact = encodedVersion >= 3
        let count = try body.readArrayCount("ApiKeys", compact: compact, minimumElementSize: 6)
        var versions = [Int16: ClosedRange<Int16>]()
        for _ in 0..<count {
            let key = try body.readInt16("ApiKey")
            let minimum = try body.readInt16("MinVersion")
            let maximum = try body.readInt16("MaxVersion")
            if compact { _ = try body.readTaggedFields("ApiKeys tagged fields") }
            if minimum <= maximum { versions[key] = minimum...maximum }
        }
        if errorCode == .unsupportedVersion {
            if let maximum = versions[APIKey.apiVersions.rawValue]?.upperBound, maximum < version {
                return .retry(version: max(0, maximum))
            }
            return version == 0 ? .failed(errorCode) : .retry(version: 0)
        }
        guard !errorCode.isError else { return .failed(errorCode) }
        return .versions(versions)
    }

    /// Highest version both sides support, or `nil`.
    static func choose(_ api: APIKey, from brokerVersions: [Int16: ClosedRange<Int16>]) -> Int16? {
        guard let broker = brokerVersions[api.rawValue] else { return nil }
        let ours = api.supportedVersions
        let high = min(broker.upperBound, ours.upperBound)
        let low = max(broker.lowerBound, ours.lowerBound)
        return low <= high ? high : nil
    }
}

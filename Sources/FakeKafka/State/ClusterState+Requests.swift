/// Where a request arrived.
struct ConnectionContext: Sendable {
    var broker: Int32
    var connection: Int
    /// 1-based position of the request on its connection.
    var sequence: Int
}

/// What the connection does after the cluster handled a request.
struct HandlingOutcome: Sendable {
    enum After: Sendable {
        case keepOpen
        case close
        case reset
    }

    /// A whole response frame, or nil to send nothing.
    var response: [UInt8]?
    var delay: Duration?
    var after: After = .keepOpen

    static let silent = HandlingOutcome(response: nil, delay: nil)
    static let close = HandlingOutcome(response: nil, delay: nil, after: .close)
}

extension ClusterState {
    var supportedAPIs: [SupportedAPI] {
        [
            SupportedAPI(key: FakeKafkaAPIKey.produce.rawValue, minimumVersion: configuration.produceVersions.lowerBound,
                         maximumVersion: configuration.produceVersions.upperBound),
            SupportedAPI(key: FakeKafkaAPIKey.metadata.rawValue, minimumVersion: configuration.metadataVersions.lowerBound,
                         maximumVersion: configuration.metadataVersions.upperBound),
            SupportedAPI(key: FakeKafkaAPIKey.apiVersions.rawValue,
                         minimumVersion: configuration.apiVersionsVersions.lowerBound,
                         maximumVersion: configuration.apiVersionsVersions.upperBound),
            SupportedAPI(key: FakeKafkaAPIKey.initProducerId.rawValue,
                         minimumVersion: configuration.initProducerIdVersions.lowerBound,
                         maximumVersion: configuration.initProducerIdVersions.upperBound),
        ]
    }

    func servedVersions(apiKey: Int16) -> ClosedRange<Int16>? {
        supportedAPIs.first { $0.key == apiKey }.map { $0.minimumVersion...$0.maximumVersion }
    }

    /// Decodes one request frame (the bytes after the size prefix), applies faults, updates the
    /// state and returns the response to send. Malformed input closes the connection and is
    /// recorded in the request log; it never traps.
    mutating func handle(frame: [UInt8], context: ConnectionContext) -> HandlingOutcome {
        var reader = RequestReader(frame, context: "request header")
        var entry = FakeKafkaRequest(
            broker: context.broker, connection: context.connection, sequenceOnConnection: context.sequence,
            apiKey: FakeKafkaAPIKey(rawValue: -1), apiVersion: -1, correlationID: -1, clientID: nil,
            produce: nil, note: nil)
        let header: RequestHeader
        do {
            header = try RequestDecoding.decodeHeader(&reader)
        } catch {
            entry.note = "malformed request header: \(error); connection closed"
            recordProblem(entry)
            return .close
        }
        entry.apiKey = FakeKafkaAPIKey(rawValue: header.apiKey)
        entry.apiVersion = header.apiVersion
        entry.correlationID = header.correlationID
        entry.clientID = header.clientID

        if header.apiKey == FakeKafkaAPIKey.apiVersions.rawValue,
            header.apiVersion > configuration.apiVersionsVersions.upperBound
        {
            // Kafka answers a too-new ApiVersions request encoded as v0, with UNSUPPORTED_VERSION
            // and only its own ApiVersions range, so the client can retry at a version it serves.
            entry.note = "ApiVersions v\(header.apiVersion) is newer than the maximum "
                + "\(configuration.apiVersionsVersions.upperBound); answered UNSUPPORTED_VERSION at v0"
            requestLog.append(entry)
            let range = configuration.apiVersionsVersions
            return HandlingOutcome(
                response: ResponseEncoding.apiVersions(
                    correlationID: header.correlationID, version: 0, errorCode: FakeKafkaErrorCode.unsupportedVersion,
                    apis: [SupportedAPI(key: header.apiKey, minimumVersion: range.lowerBound,
                                        maximumVersion: range.upperBound)]),
                delay: nil)
        }
        guard let served = servedVersions(apiKey: header.apiKey), served.contains(header.apiVersion) else {
            entry.note = RequestDecodingError.unsupportedAPI(key: header.apiKey, version: header.apiVersion).description
                + "; connection closed"
            recordProblem(entry)
            return .close
        }
        let flexible = RequestDecoding.isFlexible(apiKey: header.apiKey, version: header.apiVersion)
        reader.context = "\(entry.apiKey) v\(header.apiVersion) request"
        let request: DecodedRequest
        do {
            if flexible { try reader.skipTaggedFields("RequestHeader.TaggedFields") }
            request = try DecodedRequest.decode(apiKey: header.apiKey, version: header.apiVersion, reader: &reader)
        } catch {
            entry.note = "malformed request: \(error); connection closed"
            recordProblem(entry)
            return .close
        }

        if blackholedBrokers.contains(context.broker) {
            entry.note = "broker \(context.broker) is blackholed; request not answered"
            if case .produce(let body) = request { entry.produce = summary(of: body) }
            requestLog.append(entry)
            return .silent
        }
        let fault = takeFault(apiKey: header.apiKey, broker: context.broker, partitions: request.partitions)
        if let fault { entry.note = "fault applied: \(fault.action)" }

        var processed = true
        var sendsResponse = true
        var errorFault: (fault: FakeKafkaFault, code: Int16, afterAppend: Bool)?
        var outcome = HandlingOutcome(response: nil, delay: nil)
        switch fault?.action {
        case nil:
            break
        case .error(let code, let afterAppend):
            errorFault = (fault!, code, afterAppend)
        case .delay(let duration):
            outcome.delay = duration
        case .dropResponse(let afterProcessing):
            processed = afterProcessing
            sendsResponse = false
        case .closeConnection(let afterProcessing):
            processed = afterProcessing
            sendsResponse = false
            outcome.after = .close
        case .resetConnection(let afterProcessing):
            processed = afterProcessing
            sendsResponse = false
            outcome.after = .reset
        }

        var response: [UInt8]?
        if processed {
            response = answer(request, header: header, broker: context.broker, errorFault: errorFault, entry: &entry)
            if case .produce(let body) = request, body.acks == 0 {
                // With acks=0 Kafka sends no response, and closes the connection when a
                // partition failed so that the producer notices.
                if entry.produce?.batches.contains(where: { $0.errorCode != 0 && !$0.isDuplicate }) == true,
                    outcome.after == .keepOpen
                {
                    outcome.after = .close
                    entry.note = (entry.note.map { $0 + "; " } ?? "") + "acks=0 batch failed; connection closed"
                }
                response = nil
            }
        } else if case .produce(let body) = request {
            entry.produce = summary(of: body)
        }
        requestLog.append(entry)
        outcome.response = sendsResponse ? response : nil
        return outcome
    }

    private mutating func recordProblem(_ entry: FakeKafkaRequest) {
        requestLog.append(entry)
        problems.append("broker \(entry.broker) connection \(entry.connection) request \(entry.sequenceOnConnection): "
            + (entry.note ?? "malformed request"))
    }

    /// The request log's view of a Produce request that was not processed.
    private func summary(of body: ProduceRequestBody) -> FakeKafkaProduceRequest {
        var summary = FakeKafkaProduceRequest(
            transactionalID: body.transactionalID, acks: body.acks, timeoutMilliseconds: body.timeoutMilliseconds,
            batches: [])
        for topic in body.topics {
            for partition in topic.partitions {
                let raw = partition.records ?? []
                let header = RecordBatchValidator.peekHeader(raw)
                let batch = FakeKafkaBatch(
                    topic: topic.name, partition: partition.index, rawBytes: raw, producerID: header.producerID,
                    producerEpoch: header.epoch, baseSequence: header.sequence, recordCount: header.count,
                    compressionCodec: header.codec, baseOffset: nil, records: [])
                summary.batches.append(FakeKafkaProducedBatch(
                    batch: batch, errorCode: -1, errorMessage: "not processed", isDuplicate: false))
            }
        }
        return summary
    }

    private mutating func answer(
        _ request: DecodedRequest, header: RequestHeader, broker: Int32,
        errorFault: (fault: FakeKafkaFault, code: Int16, afterAppend: Bool)?, entry: inout FakeKafkaRequest
    ) -> [UInt8] {
        let correlationID = header.correlationID
        let version = header.apiVersion
        switch request {
        case .apiVersions(let body):
            var errorCode = errorFault?.code ?? FakeKafkaErrorCode.none
            if version >= 3 && errorCode == FakeKafkaErrorCode.none
                && !(Self.isValidSoftwareField(body.clientSoftwareName)
                    && Self.isValidSoftwareField(body.clientSoftwareVersion))
            {
                errorCode = FakeKafkaErrorCode.invalidRequest
                entry.note = "ClientSoftwareName or ClientSoftwareVersion does not match "
                    + "[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?; answered INVALID_REQUEST"
            }
            let apis = errorCode == FakeKafkaErrorCode.none ? supportedAPIs : []
            return ResponseEncoding.apiVersions(correlationID: correlationID, version: version, errorCode: errorCode, apis: apis)
        case .metadata(let body):
            let answer = metadata(body, errorFault: errorFault.map { ($0.fault, $0.code) })
            return ResponseEncoding.metadata(correlationID: correlationID, version: version, answer: answer)
        case .initProducerId:
            if let errorFault {
                return ResponseEncoding.initProducerId(
                    correlationID: correlationID, version: version, errorCode: errorFault.code, producerID: -1,
                    producerEpoch: -1)
            }
            let (producerID, epoch) = producers.allocate()
            return ResponseEncoding.initProducerId(
                correlationID: correlationID, version: version, errorCode: 0, producerID: producerID,
                producerEpoch: epoch)
        case .produce(let body):
            let result = produce(body, broker: broker, injected: errorFault)
            entry.produce = result.logEntry
            return ResponseEncoding.produce(
                correlationID: correlationID, version: version, topics: result.topics,
                nodeEndpoints: result.leaderEndpoints)
        }
    }

    /// Kafka's rule for ApiVersions v3+ ClientSoftwareName and ClientSoftwareVersion
    /// (ApiVersionsRequest.isValid): `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
    static func isValidSoftwareField(_ value: String?) -> Bool {
        guard let value, let first = value.utf8.first, let last = value.utf8.last else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        }
        guard isAlphanumeric(first), isAlphanumeric(last) else { return false }
        return value.utf8.allSatisfy { isAlphanumeric($0) || $0 == 0x2D || $0 == 0x2E }
    }
}

/// A request body decoded for one of the APIs the fake serves.
enum DecodedRequest {
    case apiVersions(ApiVersionsRequestBody)
    case metadata(MetadataRequestBody)
    case initProducerId(InitProducerIdRequestBody)
    case produce(ProduceRequestBody)

    static func decode(apiKey: Int16, version: Int16, reader: inout RequestReader)
        throws(RequestDecodingError) -> DecodedRequest
    {
        switch apiKey {
        case FakeKafkaAPIKey.apiVersions.rawValue:
            return .apiVersions(try RequestDecoding.decodeApiVersions(&reader, version: version))
        case FakeKafkaAPIKey.metadata.rawValue:
            return .metadata(try RequestDecoding.decodeMetadata(&reader, version: version))
        case FakeKafkaAPIKey.initProducerId.rawValue:
            return .initProducerId(try RequestDecoding.decodeInitProducerId(&reader, version: version))
        case FakeKafkaAPIKey.produce.rawValue:
            return .produce(try RequestDecoding.decodeProduce(&reader, version: version))
        default:
            throw .unsupportedAPI(key: apiKey, version: version)
        }
    }

    /// The topic/partition pairs a request names, for fault filters; nil when it names none.
    var partitions: [(topic: String, partition: Int32)]? {
        switch self {
        case .produce(let body):
            return body.topics.flatMap { topic in topic.partitions.map { (topic.name, $0.index) } }
        case .metadata(let body):
            // A partition filter with a topic name matches a Metadata request naming that topic.
            return body.topics?.compactMap { topic in topic.name.map { ($0, -1) } }
        case .apiVersions, .initProducerId:
            return nil
        }
    }
}

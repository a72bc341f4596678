import KafkaWire

/// The broker, connection and position at which a request arrived.
struct ConnectionContext: Sendable {
    var broker: Int32
    var connection: Int
    /// 1-based position of the request on its connection.
    var sequence: Int
}

/// The response to send and the connection action after the cluster handled a request.
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
            SupportedAPI(
                key: FakeKafkaAPIKey.produce.rawValue,
                minimumVersion: (configuration.advertisedProduceVersions ?? configuration.produceVersions)
                    .lowerBound,
                maximumVersion: (configuration.advertisedProduceVersions ?? configuration.produceVersions)
                    .upperBound),
            SupportedAPI(
                key: FakeKafkaAPIKey.metadata.rawValue,
                minimumVersion: configuration.metadataVersions.lowerBound,
                maximumVersion: configuration.metadataVersions.upperBound),
            SupportedAPI(
                key: FakeKafkaAPIKey.apiVersions.rawValue,
                minimumVersion: configuration.apiVersionsVersions.lowerBound,
                maximumVersion: configuration.apiVersionsVersions.upperBound),
            SupportedAPI(
                key: FakeKafkaAPIKey.initProducerId.rawValue,
                minimumVersion: configuration.initProducerIdVersions.lowerBound,
                maximumVersion: configuration.initProducerIdVersions.upperBound),
        ]
    }

    func servedVersions(apiKey: Int16) -> ClosedRange<Int16>? {
        if apiKey == FakeKafkaAPIKey.produce.rawValue { return configuration.produceVersions }
        return supportedAPIs.first { $0.key == apiKey }.map { $0.minimumVersion...$0.maximumVersion }
    }

    /// Decodes one request frame (the bytes after the size prefix), applies faults, updates the
    /// state and returns the response to send. Malformed input closes the connection and is
    /// recorded in the request log and in `problems`; it never traps.
    mutating func handle(frame: [UInt8], context: ConnectionContext) -> HandlingOutcome {
        var entry = FakeKafkaRequest(
            broker: context.broker, connection: context.connection, sequenceOnConnection: context.sequence,
            apiKey: FakeKafkaAPIKey(rawValue: -1), apiVersion: -1, correlationID: -1, clientID: nil,
            produce: nil, initProducerID: nil, metadataTopics: nil, note: nil)
        let header: RequestHeader
        let request: DecodedRequest
        switch decode(frame, entry: &entry) {
        case .finished(let outcome):
            return outcome
        case .request(let decodedHeader, let decodedRequest):
            header = decodedHeader
            request = decodedRequest
        }

        if blackholedBrokers.contains(context.broker) {
            entry.note = "broker \(context.broker) is blackholed; no response sent"
            if case .produce(let body) = request { entry.produce = summary(of: body) }
            requestLog.append(entry)
            return .silent
        }
        let fault = takeFault(
            apiKey: header.apiKey.rawValue, context: context, partitions: request.partitions)
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
            outcome.delay = fault?.responseDelay
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
            do {
                response = try respond(
                    request, header: header, broker: context.broker, errorFault: errorFault, entry: &entry)
            } catch {
                // A response the codec cannot encode (a value out of its range) is a fake bug.
                entry.note = "response could not be encoded: \(error); connection closed"
                problems.append("broker \(context.broker): \(entry.note ?? "")")
                outcome.after = .close
            }
            if case .produce(let body) = request, body.acks == 0 {
                // With acks=0 Kafka sends no response, and closes the connection when a
                // partition failed so that the producer notices.
                if entry.produce?.batches.contains(where: { $0.errorCode != 0 && !$0.isDuplicate }) == true,
                    outcome.after == .keepOpen
                {
                    outcome.after = .close
                    entry.note =
                        (entry.note.map { $0 + "; " } ?? "") + "acks=0 batch failed; connection closed"
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

    private enum DecodeResult {
        case request(RequestHeader, DecodedRequest)
        /// The request was handled without reaching the cluster state, or must close the connection.
        case finished(HandlingOutcome)
    }

    /// Decodes the header and body with KafkaWire, filling in `entry`. A too-new ApiVersions
    /// request gets the v0-encoded UNSUPPORTED_VERSION response; an API or version the fake does
    /// not serve, or malformed bytes, close the connection.
    private mutating func decode(_ frame: [UInt8], entry: inout FakeKafkaRequest) -> DecodeResult {
        if frame.count >= 8 {
            entry.apiKey = FakeKafkaAPIKey(
                rawValue: Int16(bitPattern: UInt16(frame[0]) << 8 | UInt16(frame[1])))
            entry.apiVersion = Int16(bitPattern: UInt16(frame[2]) << 8 | UInt16(frame[3]))
            entry.correlationID = Int32(bitPattern: frame[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        let range = configuration.apiVersionsVersions
        if entry.apiKey == .apiVersions, entry.apiVersion > range.upperBound {
            // Kafka responds to a too-new ApiVersions request encoded as v0, with UNSUPPORTED_VERSION
            // and only its own ApiVersions range, so the client can retry at a version it serves.
            // The header is not decoded further, because its layout depends on that version.
            entry.note =
                "ApiVersions v\(entry.apiVersion) is newer than the maximum \(range.upperBound); "
                + "responded with UNSUPPORTED_VERSION at v0"
            requestLog.append(entry)
            let apis = [
                SupportedAPI(key: 18, minimumVersion: range.lowerBound, maximumVersion: range.upperBound)
            ]
            let response = try? ResponseEncoding.apiVersions(
                correlationID: entry.correlationID, version: 0,
                errorCode: FakeKafkaErrorCode.unsupportedVersion,
                apis: apis)
            return .finished(HandlingOutcome(response: response, delay: nil))
        }
        let header: RequestHeader
        var body: WireReader
        do {
            (header, body) = try KafkaFrame.decodeRequestHeader(frame: frame)
        } catch {
            entry.note = "malformed request header: \(error); connection closed"
            recordProblem(entry)
            return .finished(.close)
        }
        entry.clientID = header.clientId
        guard let served = servedVersions(apiKey: header.apiKey.rawValue), served.contains(header.apiVersion)
        else {
            entry.note =
                "\(entry.apiKey) v\(header.apiVersion) is not served by the fake broker (choose a version "
                + "from its ApiVersions response); connection closed"
            recordProblem(entry)
            return .finished(.close)
        }
        do {
            guard let request = try DecodedRequest.decode(header: header, body: &body) else {
                entry.note = "\(entry.apiKey) is not served by the fake broker; connection closed"
                recordProblem(entry)
                return .finished(.close)
            }
            return .request(header, request)
        } catch {
            entry.note = "malformed request: \(error); connection closed"
            recordProblem(entry)
            return .finished(.close)
        }
    }

    private mutating func recordProblem(_ entry: FakeKafkaRequest) {
        requestLog.append(entry)
        problems.append(
            "broker \(entry.broker) connection \(entry.connection) request \(entry.sequenceOnConnection): "
                + (entry.note ?? "malformed request"))
    }

    /// Builds the request log entry of a Produce request that was not processed.
    private func summary(of body: ProduceRequestBody) -> FakeKafkaProduceRequest {
        var summary = FakeKafkaProduceRequest(
            transactionalID: body.transactionalID, acks: body.acks,
            timeoutMilliseconds: body.timeoutMilliseconds,
            batches: [])
        for topic in body.topics {
            for partition in topic.partitions {
                let raw = partition.records ?? []
                let header = RecordBatchValidator.peekHeader(raw)
                let batch = FakeKafkaBatch(
                    topic: topic.name, partition: partition.index, rawBytes: raw,
                    producerID: header.producerID,
                    producerEpoch: header.epoch, baseSequence: header.sequence, recordCount: header.count,
                    compressionCodec: header.codec, baseOffset: nil, records: [])
                summary.batches.append(
                    FakeKafkaProducedBatch(
                        batch: batch, errorCode: -1, errorMessage: "not processed", isDuplicate: false))
            }
        }
        return summary
    }

    private mutating func respond(
        _ request: DecodedRequest, header: RequestHeader, broker: Int32,
        errorFault: (fault: FakeKafkaFault, code: Int16, afterAppend: Bool)?, entry: inout FakeKafkaRequest
    ) throws(WireEncodingError) -> [UInt8] {
        let correlationID = header.correlationId
        let version = header.apiVersion
        switch request {
        case .apiVersions(let body):
            var errorCode = errorFault?.code ?? FakeKafkaErrorCode.none
            if version >= 3 && errorCode == FakeKafkaErrorCode.none
                && !(ApiVersionsRequest.isValidSoftwareField(body.clientSoftwareName ?? "")
                    && ApiVersionsRequest.isValidSoftwareField(body.clientSoftwareVersion ?? ""))
            {
                errorCode = FakeKafkaErrorCode.invalidRequest
                entry.note =
                    "ClientSoftwareName or ClientSoftwareVersion does not match "
                    + "[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?; responded with INVALID_REQUEST"
            }
            let apis = errorCode == FakeKafkaErrorCode.none ? supportedAPIs : []
            return try ResponseEncoding.apiVersions(
                correlationID: correlationID, version: version, errorCode: errorCode, apis: apis)
        case .metadata(let body):
            entry.metadataTopics = body.topics.map { topics in topics.compactMap(\.name) }
            let response = metadata(body, errorFault: errorFault.map { ($0.fault, $0.code) })
            return try ResponseEncoding.metadata(
                correlationID: correlationID, version: version, response: response)
        case .initProducerId(let body):
            entry.initProducerID = FakeKafkaInitProducerIDRequest(
                producerID: body.producerID, producerEpoch: body.producerEpoch)
            if let errorFault {
                return try ResponseEncoding.initProducerId(
                    correlationID: correlationID, version: version, errorCode: errorFault.code,
                    producerID: -1,
                    producerEpoch: -1)
            }
            var result: (errorCode: Int16, id: Int64, epoch: Int16)
            if version >= 3 && body.producerID >= 0 && configuration.initProducerIdBumpsEpoch {
                result = producers.bump(
                    producerID: body.producerID, epoch: body.producerEpoch, fencedCode: version >= 4
                        ? FakeKafkaErrorCode.producerFenced : FakeKafkaErrorCode.invalidProducerEpoch)
            } else {
                let (producerID, epoch) = producers.allocate()
                result = (FakeKafkaErrorCode.none, producerID, epoch)
            }
            return try ResponseEncoding.initProducerId(
                correlationID: correlationID, version: version, errorCode: result.errorCode,
                producerID: result.id, producerEpoch: result.epoch)
        case .produce(let body):
            let result = produce(body, broker: broker, injected: errorFault)
            entry.produce = result.logEntry
            return try ResponseEncoding.produce(
                correlationID: correlationID, version: version, topics: result.topics,
                nodeEndpoints: result.leaderEndpoints)
        }
    }
}

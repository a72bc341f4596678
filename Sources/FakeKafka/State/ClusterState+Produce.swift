/// The result of handling a Produce request's partitions.
struct ProduceResult {
    var topics: [TopicProduceResponse]
    var logEntry: FakeKafkaProduceRequest
    /// Endpoints of the leaders named in NOT_LEADER_OR_FOLLOWER responses (KIP-951).
    var leaderEndpoints: [BrokerEndpoint]
    var hasPartitionError: Bool
}

extension ClusterState {
    /// Validates and appends each partition's batch. `injected` is an error fault to apply to the
    /// partitions it covers.
    mutating func produce(
        _ body: ProduceRequestBody, broker: Int32,
        injected: (fault: FakeKafkaFault, code: Int16, afterAppend: Bool)?
    ) -> ProduceResult {
        var result = ProduceResult(
            topics: [],
            logEntry: FakeKafkaProduceRequest(
                transactionalID: body.transactionalID, acks: body.acks,
                timeoutMilliseconds: body.timeoutMilliseconds, batches: []),
            leaderEndpoints: [], hasPartitionError: false)
        for topic in body.topics {
            var topicResponse = TopicProduceResponse(name: topic.name, partitions: [])
            for partition in topic.partitions {
                var injectedCode: (code: Int16, afterAppend: Bool)?
                if let injected,
                    !injected.fault.hasPartitionFilter
                        || injected.fault.covers(topic: topic.name, partition: partition.index)
                {
                    injectedCode = (injected.code, injected.afterAppend)
                }
                let (response, logged) = producePartition(
                    topic: topic.name, partition: partition, acks: body.acks, broker: broker,
                    injected: injectedCode)
                if response.errorCode != FakeKafkaErrorCode.none { result.hasPartitionError = true }
                if let leader = response.currentLeader, leader.id != -1,
                    !result.leaderEndpoints.contains(where: { $0.nodeID == leader.id }),
                    let endpoint = endpoint(of: leader.id)
                {
                    result.leaderEndpoints.append(endpoint)
                }
                topicResponse.partitions.append(response)
                result.logEntry.batches.append(logged)
            }
            result.topics.append(topicResponse)
        }
        return result
    }

    private mutating func producePartition(
        topic: String, partition: ProducePartitionData, acks: Int16, broker: Int32,
        injected: (code: Int16, afterAppend: Bool)?
    ) -> (PartitionProduceResponse, FakeKafkaProducedBatch) {
        let raw = partition.records ?? []
        let header = RecordBatchValidator.peekHeader(raw)
        var batch = FakeKafkaBatch(
            topic: topic, partition: partition.index, rawBytes: raw, producerID: header.producerID,
            producerEpoch: header.epoch, baseSequence: header.sequence, recordCount: header.count,
            compressionCodec: header.codec, baseOffset: nil, records: [])
        var response = PartitionProduceResponse(
            index: partition.index, errorCode: FakeKafkaErrorCode.none, baseOffset: -1, logAppendTime: -1,
            logStartOffset: -1, errorMessage: nil, currentLeader: nil)

        func reject(_ code: Int16, _ message: String) -> (PartitionProduceResponse, FakeKafkaProducedBatch) {
            response.errorCode = code
            response.errorMessage = message
            return (
                response,
                FakeKafkaProducedBatch(
                    batch: batch, errorCode: code, errorMessage: message, isDuplicate: false)
            )
        }

        if let injected, !injected.afterAppend {
            // Kafka sends the log start offset with errors raised by the log, such as
            // UNKNOWN_PRODUCER_ID and OUT_OF_ORDER_SEQUENCE_NUMBER.
            if let facts = partitionFacts(topic: topic, partition: partition.index) {
                response.logStartOffset = facts.logStartOffset
            }
            return reject(injected.code, "error injected by a fault")
        }
        guard acks == 0 || acks == 1 || acks == -1 else {
            return reject(FakeKafkaErrorCode.invalidRequiredAcks, "Acks \(acks) is not 0, 1 or -1")
        }
        // Scalars only: holding a copy of the topic or partition state while appending would make
        // the append copy the whole log.
        guard let facts = partitionFacts(topic: topic, partition: partition.index) else {
            return reject(
                FakeKafkaErrorCode.unknownTopicOrPartition,
                "topic \"\(topic)\" or its partition \(partition.index) does not exist")
        }
        guard facts.leader == broker else {
            response.currentLeader = (facts.leader, facts.leaderEpoch)
            return reject(
                FakeKafkaErrorCode.notLeaderOrFollower,
                "broker \(broker) is not the leader of \(topic)-\(partition.index); "
                    + "the leader is \(facts.leader)")
        }
        guard partition.records != nil else {
            return reject(
                FakeKafkaErrorCode.invalidRecord, "Records is null; Produce v3+ needs one record batch")
        }
        guard raw.count <= facts.maxMessageBytes else {
            return reject(
                FakeKafkaErrorCode.messageTooLarge,
                "record batch of \(raw.count) bytes exceeds max.message.bytes \(facts.maxMessageBytes) "
                    + "of topic \"\(topic)\"")
        }
        let validated: ValidatedBatch
        switch RecordBatchValidator.validate(raw) {
        case .success(let value): validated = value
        case .failure(let rejection): return reject(rejection.errorCode, rejection.message)
        }

        let key = ProducerStateTable.PartitionKey(
            topic: topic, partition: partition.index, producerID: validated.producerID)
        if validated.producerID >= 0 {
            let verdict = producers.check(
                key, epoch: validated.producerEpoch, firstSequence: validated.baseSequence,
                count: validated.recordCount, requireFirstSequenceZero: configuration.requireFirstSequenceZero
            )
            switch verdict {
            case .append:
                break
            case .reject(let code, let message):
                return reject(code, message)
            case .duplicate(let baseOffset):
                if configuration.duplicateHandling == .duplicateSequenceError {
                    response.errorCode = FakeKafkaErrorCode.duplicateSequenceNumber
                } else {
                    response.baseOffset = baseOffset
                    response.logStartOffset = facts.logStartOffset
                }
                return (
                    response,
                    FakeKafkaProducedBatch(
                        batch: batch, errorCode: response.errorCode, errorMessage: nil, isDuplicate: true)
                )
            }
        }

        let baseOffset = facts.logEndOffset
        batch.baseOffset = baseOffset
        batch.records = (validated.records ?? []).map { record in
            var stored = record
            stored.offset += baseOffset
            return stored
        }
        topics[topic]?.partitions[Int(partition.index)].batches.append(batch)
        topics[topic]?.partitions[Int(partition.index)].logEndOffset += Int64(validated.recordCount)
        if validated.producerID >= 0 {
            producers.record(
                key, epoch: validated.producerEpoch, firstSequence: validated.baseSequence,
                count: validated.recordCount, baseOffset: baseOffset)
        }
        if let injected, injected.afterAppend {
            return reject(injected.code, "error injected by a fault after the batch was appended")
        }
        response.baseOffset = baseOffset
        response.logStartOffset = facts.logStartOffset
        return (
            response,
            FakeKafkaProducedBatch(batch: batch, errorCode: 0, errorMessage: nil, isDuplicate: false)
        )
    }

    private func partitionFacts(
        topic: String, partition: Int32
    ) -> (
        leader: Int32, leaderEpoch: Int32, logEndOffset: Int64, logStartOffset: Int64, maxMessageBytes: Int
    )? {
        guard let state = topics[topic], partition >= 0, Int(partition) < state.partitions.count else {
            return nil
        }
        let partitionState = state.partitions[Int(partition)]
        return (
            partitionState.leader, partitionState.leaderEpoch, partitionState.logEndOffset,
            partitionState.logStartOffset, state.maxMessageBytes
        )
    }
}

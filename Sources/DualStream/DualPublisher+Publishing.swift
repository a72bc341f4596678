import DualStreamLogging
import Kafka

extension DualPublisher {
    /// A record handed to the producer and not yet acknowledged.
    struct PendingRecord {
        var index: Int
        var handle: DeliveryHandle
        var ticket: NotificationQueue.Ticket?
        var enqueuedAt: ContinuousClock.Instant
    }

    /// Hands every valid event to the producer while holding the gate, so ordering tickets follow
    /// producer order. After the first enqueue failure (buffer full past `maxBlock`, producer
    /// closed) the remaining events fail with the same error instead of waiting again.
    func enqueue(
        _ events: [Event], channels: [String?], results: inout [Result<RecordMetadata, DualStreamError>?]
    ) async -> [PendingRecord] {
        let topic = configuration.topic
        var pending: [PendingRecord] = []
        pending.reserveCapacity(events.count)
        await gate.acquire()
        var tickets = [NotificationQueue.Ticket?](repeating: nil, count: events.count)
        if redis != nil {
            state.withLock { state in
                for (index, channel) in channels.enumerated() {
                    if let channel {
                        tickets[index] = state.queue.reserve(source: channel)
                    }
                }
            }
        }
        var enqueueError: KafkaProducerError?
        var abandoned: [NotificationQueue.Ticket] = []
        for (index, event) in events.enumerated() where channels[index] != nil {
            if let enqueueError {
                results[index] = .failure(.kafkaFailed(enqueueError, eventID: event.id, topic: topic))
                if let ticket = tickets[index] { abandoned.append(ticket) }
                continue
            }
            let enqueuedAt = ContinuousClock.now
            do {
                let handle = try await producer.enqueue(event.producerRecord(topic: topic))
                pending.append(
                    PendingRecord(
                        index: index, handle: handle, ticket: tickets[index], enqueuedAt: enqueuedAt))
            } catch {
                enqueueError = error
                results[index] = .failure(.kafkaFailed(error, eventID: event.id, topic: topic))
                if let ticket = tickets[index] { abandoned.append(ticket) }
            }
        }
        gate.release()
        if !abandoned.isEmpty {
            let failed = abandoned.count
            let waiter = state.withLock { state in
                state.statistics.kafkaFailed += failed
                for ticket in abandoned {
                    state.queue.resolve(ticket, with: nil)
                }
                return state.queue.count > 0 ? state.waitingSender.take() : nil
            }
            waiter?.resume()
        } else if enqueueError != nil {
            let failed = events.indices.filter { channels[$0] != nil }.count - pending.count
            state.withLock { $0.statistics.kafkaFailed += failed }
        }
        return pending
    }

    /// Awaits every acknowledgement, then resolves the tickets and records the statistics under
    /// one lock, and wakes the sender.
    func complete(
        _ events: [Event], pending: [PendingRecord], results: inout [Result<RecordMetadata, DualStreamError>?]
    ) async {
        guard !pending.isEmpty else { return }
        var outcomes: [(Result<RecordMetadata, KafkaProducerError>, ContinuousClock.Instant)] = []
        outcomes.reserveCapacity(pending.count)
        for record in pending {
            let outcome = await record.handle.result()
            outcomes.append((outcome, ContinuousClock.now))
        }

        let topic = configuration.topic
        var items: [NotificationQueue.Item?] = []
        items.reserveCapacity(pending.count)
        for (record, (outcome, acknowledgedAt)) in zip(pending, outcomes) {
            let event = events[record.index]
            switch outcome {
            case .success(let metadata):
                results[record.index] = .success(metadata)
                logger.trace(
                    "event acknowledged",
                    metadata: [
                        "event.id": "\(event.id)", "kafka.partition": "\(metadata.partition)",
                        "kafka.offset": "\(metadata.offset)",
                    ])
                guard redis != nil else {
                    items.append(nil)
                    continue
                }
                let notification = EventNotification(
                    id: event.id, type: event.type, sourceType: event.sourceType, sourceID: event.sourceID,
                    topic: metadata.topic, partition: metadata.partition, offset: metadata.offset)
                items.append(
                    NotificationQueue.Item(
                        channel: record.ticket!.source, message: notification.jsonBytes(),
                        acknowledgedAt: acknowledgedAt))
            case .failure(let error):
                results[record.index] = .failure(.kafkaFailed(error, eventID: event.id, topic: topic))
                items.append(nil)
            }
        }

        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            for (record, (outcome, acknowledgedAt)) in zip(pending, outcomes) {
                switch outcome {
                case .success:
                    state.statistics.kafkaAcknowledged += 1
                    state.kafkaLatency.record(acknowledgedAt - record.enqueuedAt)
                case .failure:
                    state.statistics.kafkaFailed += 1
                }
            }
            for (record, item) in zip(pending, items) {
                if let ticket = record.ticket {
                    state.queue.resolve(ticket, with: item)
                }
            }
            return state.queue.count > 0 ? state.waitingSender.take() : nil
        }
        waiter?.resume()
    }
}

import KafkaWire

/// One record batch (magic 2) being filled for a partition, then sent and possibly retried.
///
/// Records are encoded by KafkaWire's `RecordBatchBuilder` as they are appended. When the batch is
/// first drained, ``seal(producerID:producerEpoch:baseSequence:)`` writes the header and CRC and
/// moves the bytes to `bytes`. Once sealed, the bytes do not change except through
/// ``rewriteProducerFields(producerID:producerEpoch:baseSequence:)``, so a retry re-sends them
/// unchanged. Owned by the producer's state lock; never shared across threads otherwise.
final class ProducerBatch {
    static let headerSize = RecordBatch.headerSize

    let topic: String
    let partition: Int32
    let id: UInt64
    let createdAt: ContinuousClock.Instant
    let completion: BatchCompletion
    /// The records while the batch is open; `nil` once the header is written.
    private var builder: RecordBatchBuilder?
    /// The whole batch once the header is written; empty before.
    private(set) var bytes: [UInt8] = []
    private(set) var recordCount: Int32 = 0
    private(set) var baseTimestamp: Int64 = 0
    private(set) var maxTimestamp: Int64 = 0
    /// Buffer-memory bytes charged for this batch; released when it completes.
    var reservedBytes = 0
    /// No more appends: full, drained, or split.
    private(set) var isSealed = false
    /// The header (with producer fields and CRC) is written.
    private(set) var headerWritten = false
    /// Set once the batch was sent at least once; the sequence then never changes for retries.
    private(set) var baseSequence: Int32 = -1
    private(set) var producerID: Int64 = -1
    private(set) var producerEpoch: Int16 = -1
    var attempts = 0
    /// Earliest time a retry may be sent.
    var retryAt: ContinuousClock.Instant?
    /// True once an attempt ended without a clear response (transport error, timeout,
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND): the broker may have written the records.
    var mayHavePersisted = false
    /// Cause of the last failed attempt, named when the batch later times out in the queue.
    var lastFailure: String?

    init(topic: String, partition: Int32, id: UInt64, createdAt: ContinuousClock.Instant, capacity: Int) {
        self.topic = topic
        self.partition = partition
        self.id = id
        self.createdAt = createdAt
        self.completion = BatchCompletion(topic: topic, partition: partition)
        self.builder = RecordBatchBuilder(capacity: capacity)
    }

    /// Size of the batch in bytes, header included, whether sealed or not.
    var byteCount: Int { builder?.sizeInBytes ?? bytes.count }

    /// Encoded size of a record appended to a batch at `offsetDelta` with `timestampDelta`.
    static func recordSize(
        key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader], timestampDelta: Int64, offsetDelta: Int32
    ) -> Int {
        RecordBatchBuilder.encodedSize(
            key: key, value: value, headers: recordHeaders(headers), timestampDelta: timestampDelta,
            offsetDelta: offsetDelta)
    }

    /// Converts the public header type to KafkaWire's. It allocates only for records with headers.
    private static func recordHeaders(_ headers: [KafkaHeader]) -> [RecordHeader] {
        headers.isEmpty ? [] : headers.map { RecordHeader(key: $0.key, value: $0.value) }
    }

    /// Appends the record if the batch stays within `limit` bytes; returns its index in the batch,
    /// or `nil` (nothing appended) when it does not fit. The first record always fits.
    func tryAppend(
        key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader], timestamp: Int64, limit: Int
    ) -> Int32? {
        precondition(!isSealed && builder != nil, "append to a sealed batch")
        let appended: Bool
        do {
            appended = try builder!.append(
                key: key, value: value, headers: Self.recordHeaders(headers), timestamp: timestamp,
                maxBatchBytes: limit)
        } catch {
            // KafkaProducer checks every record against the batch and request size limits before
            // it reaches a batch, and those limits are far below the format's int32 lengths.
            preconditionFailure(
                "record of \(topic)-\(partition) passed the size check but did not encode: \(error)")
        }
        return appended ? appendedRecordIndex(timestamp: timestamp) : nil
    }

    /// Counts a record the builder accepted and returns its index in the batch.
    private func appendedRecordIndex(timestamp: Int64) -> Int32 {
        if recordCount == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        let index = recordCount
        recordCount += 1
        return index
    }

    /// Gives a split part its share of the original batch's sequence range, so the broker receives
    /// the sequences it expects. The header is written when the part is drained.
    func assignSequence(producerID: Int64, producerEpoch: Int16, baseSequence: Int32) {
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
    }

    /// Stops appends without writing the header, for a batch that is full but not yet drained.
    func close() {
        isSealed = true
    }

    /// Writes the header with the producer fields and the CRC. Called once, when first drained.
    func seal(producerID: Int64, producerEpoch: Int16, baseSequence: Int32) {
        isSealed = true
        headerWritten = true
        guard builder != nil else { return }
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        builder!.producerId = producerID
        builder!.producerEpoch = producerEpoch
        builder!.baseSequence = baseSequence
        bytes = builder!.finish(keepingCapacity: false)
        builder = nil
    }

    /// Replaces producer id, epoch and base sequence and recomputes the CRC; used when the
    /// producer id is reset and the batch has to be sent under the new one.
    func rewriteProducerFields(producerID: Int64, producerEpoch: Int16, baseSequence: Int32) {
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        RecordBatch.setProducerState(
            in: &bytes, producerId: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence)
    }

    /// Splits the records into new batches of at most `targetSize` bytes each (header included),
    /// in order, for a batch the broker rejected with MESSAGE_TOO_LARGE. A record larger than the
    /// target gets a batch of its own. The records keep their timestamps, keys, values and
    /// headers, and with a sequence each part takes the next share of this batch's range.
    /// Returns `nil` for a batch of one record.
    func split(targetSize: Int, firstID: UInt64, now: ContinuousClock.Instant) -> [ProducerBatch]? {
        guard recordCount > 1 else { return nil }
        var result = [ProducerBatch]()
        var current: ProducerBatch?
        var nextSequence = baseSequence
        func finishCurrent() {
            guard let part = current else { return }
            part.close()
            part.attempts = attempts
            part.mayHavePersisted = mayHavePersisted
            if baseSequence >= 0 {
                part.assignSequence(producerID: producerID, producerEpoch: producerEpoch, baseSequence: nextSequence)
                nextSequence = SequenceNumber.adding(part.recordCount, to: nextSequence)
            }
            result.append(part)
            current = nil
        }
        for record in decodedRecords() {
            if let part = current, !part.fitsRaw(timestamp: record.timestamp, fieldCount: record.fields.count,
                                                 limit: targetSize) {
                finishCurrent()
            }
            if current == nil {
                current = ProducerBatch(topic: topic, partition: partition, id: firstID + UInt64(result.count),
                                        createdAt: createdAt, capacity: min(targetSize, bytes.count))
            }
            current!.appendRaw(timestamp: record.timestamp, fields: bytes[record.fields])
        }
        finishCurrent()
        return result
    }

    /// Whether a record with `fieldCount` bytes of key, value and headers fits within `limit`.
    private func fitsRaw(timestamp: Int64, fieldCount: Int, limit: Int) -> Bool {
        guard let builder else { return false }
        return builder.sizeAfterAppending(encodedFieldCount: fieldCount, timestamp: timestamp) <= limit
    }

    private struct RawRecord {
        var timestamp: Int64
        /// Key, value and headers as encoded; they do not depend on the batch's base values.
        var fields: Range<Int>
    }

    private func decodedRecords() -> [RawRecord] {
        // The batch was encoded by this producer, so it is well formed. Were it not, the empty
        // list would leave nothing to split.
        let records = (try? RecordBatch.encodedRecords(in: bytes)) ?? []
        return records.map { RawRecord(timestamp: $0.timestamp, fields: $0.fields) }
    }

    private func appendRaw(timestamp: Int64, fields: ArraySlice<UInt8>) {
        precondition(!isSealed && builder != nil, "append to a sealed batch")
        do {
            _ = try builder!.append(encodedFields: fields, timestamp: timestamp)
        } catch {
            preconditionFailure("record of \(topic)-\(partition) did not fit a split part: \(error)")
        }
        _ = appendedRecordIndex(timestamp: timestamp)
    }
}

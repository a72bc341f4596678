import KafkaWire

/// One record batch (magic 2) being filled for a partition, then sent and possibly retried.
///
/// Records are encoded into `bytes` as they are appended, behind a 61-byte header that is
/// written by ``seal(producerID:producerEpoch:baseSequence:)``. Once sealed, the bytes do not change
/// except through ``rewriteProducerFields(producerID:producerEpoch:baseSequence:)``, so a retry
/// re-sends them unchanged. Owned by the producer's state lock; never shared across threads otherwise.
final class ProducerBatch {
    static let headerSize = 61

    let topic: String
    let partition: Int32
    let id: UInt64
    let createdAt: ContinuousClock.Instant
    let completion: BatchCompletion
    private(set) var bytes: [UInt8]
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
        var bytes = [UInt8]()
        bytes.reserveCapacity(capacity)
        bytes.append(contentsOf: repeatElement(0, count: Self.headerSize))
        self.bytes = bytes
    }

    var byteCount: Int { bytes.count }

    /// Encoded size of a record appended to a batch at `offsetDelta` with `timestampDelta`.
    static func recordSize(
        key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader], timestampDelta: Int64, offsetDelta: Int32
    ) -> Int {
        let body = recordBodySize(key: key, value: value, headers: headers, timestampDelta: timestampDelta,
                                  offsetDelta: offsetDelta)
        return Varint.size(Int64(body)) + body
    }

    private static func recordBodySize(
        key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader], timestampDelta: Int64, offsetDelta: Int32
    ) -> Int {
        var size = 1 + Varint.size(timestampDelta) + Varint.size(Int64(offsetDelta))
        size += lengthPrefixedSize(key)
        size += lengthPrefixedSize(value)
        size += Varint.size(Int64(headers.count))
        for header in headers {
            let keyLength = header.key.utf8.count
            size += Varint.size(Int64(keyLength)) + keyLength + lengthPrefixedSize(header.value)
        }
        return size
    }

    private static func lengthPrefixedSize(_ bytes: [UInt8]?) -> Int {
        guard let bytes else { return 1 }
        return Varint.size(Int64(bytes.count)) + bytes.count
    }

    /// Appends the record if the batch stays within `limit` bytes; returns its index in the batch,
    /// or `nil` (nothing appended) when it does not fit. The first record always fits.
    func tryAppend(
        key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader], timestamp: Int64, limit: Int
    ) -> Int32? {
        precondition(!isSealed, "append to a sealed batch")
        if recordCount == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        }
        let timestampDelta = timestamp &- baseTimestamp
        let body = Self.recordBodySize(key: key, value: value, headers: headers,
                                       timestampDelta: timestampDelta, offsetDelta: recordCount)
        let size = Varint.size(Int64(body)) + body
        if recordCount > 0 && bytes.count + size > limit {
            return nil
        }
        Varint.append(Int64(body), to: &bytes)
        bytes.append(0)
        Varint.append(timestampDelta, to: &bytes)
        Varint.append(Int64(recordCount), to: &bytes)
        appendLengthPrefixed(key)
        appendLengthPrefixed(value)
        Varint.append(Int64(headers.count), to: &bytes)
        for header in headers {
            Varint.append(Int64(header.key.utf8.count), to: &bytes)
            bytes.append(contentsOf: header.key.utf8)
            appendLengthPrefixed(header.value)
        }
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        let index = recordCount
        recordCount += 1
        return index
    }

    private func appendLengthPrefixed(_ field: [UInt8]?) {
        guard let field else {
            Varint.append(-1, to: &bytes)
            return
        }
        Varint.append(Int64(field.count), to: &bytes)
        bytes.append(contentsOf: field)
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
        bytes.storeBigEndian(Int64(0), at: 0)
        bytes.storeBigEndian(Int32(bytes.count - 12), at: 8)
        bytes.storeBigEndian(Int32(-1), at: 12)
        bytes[16] = 2
        bytes.storeBigEndian(Int16(0), at: 21)
        bytes.storeBigEndian(recordCount - 1, at: 23)
        bytes.storeBigEndian(baseTimestamp, at: 27)
        bytes.storeBigEndian(maxTimestamp, at: 35)
        bytes.storeBigEndian(recordCount, at: 57)
        rewriteProducerFields(producerID: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence)
    }

    /// Replaces producer id, epoch and base sequence and recomputes the CRC; used when the
    /// producer id is reset and the batch has to be sent under the new one.
    func rewriteProducerFields(producerID: Int64, producerEpoch: Int16, baseSequence: Int32) {
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        bytes.storeBigEndian(producerID, at: 43)
        bytes.storeBigEndian(producerEpoch, at: 51)
        bytes.storeBigEndian(baseSequence, at: 53)
        let crc = bytes.withUnsafeBytes { buffer in
            CRC32C.update(0, UnsafeRawBufferPointer(rebasing: buffer[21...]))
        }
        bytes.storeBigEndian(crc, at: 17)
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
        let timestampDelta = timestamp &- baseTimestamp
        let body = 1 + Varint.size(timestampDelta) + Varint.size(Int64(recordCount)) + fieldCount
        return bytes.count + Varint.size(Int64(body)) + body <= limit
    }

    private struct RawRecord {
        var timestamp: Int64
        /// Key, value and headers as encoded; they do not depend on the batch's base values.
        var fields: Range<Int>
    }

    private func decodedRecords() -> [RawRecord] {
        var records = [RawRecord]()
        records.reserveCapacity(Int(recordCount))
        var offset = Self.headerSize
        while offset < bytes.count {
            guard let length = Varint.read(bytes, at: &offset) else { break }
            let end = offset + Int(length)
            offset += 1
            guard let timestampDelta = Varint.read(bytes, at: &offset),
                  Varint.read(bytes, at: &offset) != nil
            else { break }
            records.append(RawRecord(timestamp: baseTimestamp &+ timestampDelta, fields: offset..<end))
            offset = end
        }
        return records
    }

    private func appendRaw(timestamp: Int64, fields: ArraySlice<UInt8>) {
        if recordCount == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        }
        let timestampDelta = timestamp &- baseTimestamp
        let body = 1 + Varint.size(timestampDelta) + Varint.size(Int64(recordCount)) + fields.count
        Varint.append(Int64(body), to: &bytes)
        bytes.append(0)
        Varint.append(timestampDelta, to: &bytes)
        Varint.append(Int64(recordCount), to: &bytes)
        bytes.append(contentsOf: fields)
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        recordCount += 1
    }
}

/// Encodes records one at a time into a RecordBatch v2 buffer, then seals the header and CRC.
///
/// This is the producer's hot path: each `append` computes the record's size arithmetically and
/// writes it straight into one growing buffer, so appending allocates nothing per record beyond
/// the buffer's amortized growth. Offset deltas count from 0 in append order and timestamp deltas
/// are relative to the first record's timestamp, which becomes BaseTimestamp.
/// Only uncompressed batches are built.
public struct RecordBatchBuilder: Sendable {
    /// Bytes written so far, header placeholder included; beyond `writtenCount` is spare capacity.
    private var storage: [UInt8]
    private var writtenCount: Int
    private let initialCapacity: Int

    public var partitionLeaderEpoch: Int32
    public var attributes: RecordBatchAttributes
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32

    public private(set) var recordCount: Int32 = 0
    public private(set) var baseTimestamp: Int64 = 0
    public private(set) var maxTimestamp: Int64 = -1

    /// Creates an empty batch; `capacity` is the expected final size in bytes.
    public init(
        capacity: Int = 16_384,
        partitionLeaderEpoch: Int32 = -1,
        attributes: RecordBatchAttributes = RecordBatchAttributes(),
        producerId: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1
    ) {
        precondition(
            attributes.compression == CompressionCodec.none, "RecordBatchBuilder writes uncompressed batches")
        initialCapacity = max(capacity, RecordBatch.headerSize + 64)
        storage = [UInt8](repeating: 0, count: initialCapacity)
        writtenCount = RecordBatch.headerSize
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.attributes = attributes
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
    }

    /// The batch size in bytes if it were sealed now.
    public var sizeInBytes: Int { writtenCount }

    public var isEmpty: Bool { recordCount == 0 }

    /// Returns the bytes one record adds to a batch, for deciding whether it still fits.
    /// `timestampDelta` and `offsetDelta` only change the varint widths; pass the expected ones.
    public static func encodedSize(
        key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestampDelta: Int64 = 0,
        offsetDelta: Int32 = 0
    ) -> Int {
        let body = recordBodySize(
            keyCount: key?.count, valueCount: value?.count, headers: headers, timestampDelta: timestampDelta,
            offsetDelta: offsetDelta)
        return VarintSize.varint(Int32(truncatingIfNeeded: body)) + body
    }

    /// Returns the batch size in bytes after appending this record, so a caller can check a batch
    /// size limit before `append`. Appends nothing.
    public func sizeAfterAppending(
        key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Int64
    ) -> Int {
        let timestampDelta = recordCount == 0 ? 0 : timestamp &- baseTimestamp
        return writtenCount
            + Self.encodedSize(
                key: key, value: value, headers: headers, timestampDelta: timestampDelta,
                offsetDelta: recordCount)
    }

    /// Appends one record with `timestamp` in milliseconds. Throws when the batch would exceed
    /// Int32.max records or a length does not fit the record format.
    public mutating func append(
        key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Int64
    ) throws(WireEncodingError) {
        _ = try append(key: key, value: value, headers: headers, timestamp: timestamp, maxBatchBytes: Int.max)
    }

    /// Appends one record if the batch stays within `maxBatchBytes` bytes, or if the batch is empty,
    /// so that a record above the limit still gets a batch of its own. Returns whether it appended.
    /// When it returns false or throws, the builder is unchanged. Throws when the batch would exceed
    /// Int32.max records or a length does not fit the record format.
    public mutating func append(
        key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Int64, maxBatchBytes: Int
    ) throws(WireEncodingError) -> Bool {
        let timestampDelta = recordCount == 0 ? 0 : timestamp &- baseTimestamp
        let body = Self.recordBodySize(
            keyCount: key?.count, valueCount: value?.count, headers: headers, timestampDelta: timestampDelta,
            offsetDelta: recordCount)
        guard let total = try checkedRecordSize(body: body, maxBatchBytes: maxBatchBytes) else {
            return false
        }
        writeRecord(body: body, total: total, timestamp: timestamp, timestampDelta: timestampDelta) { out in
            out.nullableBytes(key)
            out.nullableBytes(value)
            out.varint(Int32(headers.count))
            for header in headers {
                var headerKey = header.key
                headerKey.withUTF8 { utf8 in
                    out.varint(Int32(utf8.count))
                    out.copy(UnsafeRawBufferPointer(utf8))
                }
                out.nullableBytes(header.value)
            }
        }
        return true
    }

    /// Appends a record whose key, value and headers fields are already encoded, as
    /// ``RecordBatch/encodedRecords(in:)`` locates them in another batch. The length, timestamp delta
    /// and offset delta are computed for this batch, so records move between batches without being
    /// decoded. Returns whether it appended, with the same rules and errors as
    /// ``append(key:value:headers:timestamp:maxBatchBytes:)``.
    public mutating func append(
        encodedFields fields: ArraySlice<UInt8>, timestamp: Int64, maxBatchBytes: Int = Int.max
    ) throws(WireEncodingError) -> Bool {
        let timestampDelta = recordCount == 0 ? 0 : timestamp &- baseTimestamp
        let body = 1 + VarintSize.varlong(timestampDelta) + VarintSize.varint(recordCount) + fields.count
        guard let total = try checkedRecordSize(body: body, maxBatchBytes: maxBatchBytes) else {
            return false
        }
        writeRecord(body: body, total: total, timestamp: timestamp, timestampDelta: timestampDelta) { out in
            fields.withUnsafeBytes { out.copy($0) }
        }
        return true
    }

    /// Returns the batch size in bytes after appending a record whose encoded key, value and headers
    /// take `encodedFieldCount` bytes. Appends nothing.
    public func sizeAfterAppending(encodedFieldCount: Int, timestamp: Int64) -> Int {
        let timestampDelta = recordCount == 0 ? 0 : timestamp &- baseTimestamp
        let body = 1 + VarintSize.varlong(timestampDelta) + VarintSize.varint(recordCount) + encodedFieldCount
        return writtenCount + VarintSize.varint(Int32(truncatingIfNeeded: body)) + body
    }

    /// Returns the record's encoded size for a record body of `body` bytes, or `nil` when the
    /// batch is not empty and the record would take it past `maxBatchBytes`.
    private func checkedRecordSize(body: Int, maxBatchBytes: Int) throws(WireEncodingError) -> Int? {
        guard recordCount < Int32.max else {
            throw .valueTooLong(
                api: "RecordBatch", field: "RecordsCount", length: Int(recordCount) + 1,
                maximum: Int(Int32.max))
        }
        guard body <= Int(Int32.max) - 5 else {
            throw .valueTooLong(
                api: "RecordBatch", field: "Record length", length: body, maximum: Int(Int32.max))
        }
        let total = VarintSize.varint(Int32(body)) + body
        if recordCount > 0 && writtenCount + total > maxBatchBytes { return nil }
        // The Length field counts every byte after itself and is an int32.
        guard total <= Int(Int32.max) + RecordBatch.logOverhead - writtenCount else {
            throw .valueTooLong(
                api: "RecordBatch", field: "Length", length: writtenCount + total - RecordBatch.logOverhead,
                maximum: Int(Int32.max))
        }
        return total
    }

    /// Writes an accepted record of `total` bytes: its length, attributes, timestamp delta and
    /// offset delta, then the key, value and headers through `writeFields`. Updates the timestamps
    /// and counts.
    @inline(__always)
    private mutating func writeRecord(
        body: Int, total: Int, timestamp: Int64, timestampDelta: Int64, writeFields: (inout RawOutput) -> Void
    ) {
        if recordCount == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        ensureSpace(total)
        let start = writtenCount
        let offsetDelta = recordCount
        storage.withUnsafeMutableBufferPointer { buffer in
            var out = RawOutput(base: buffer.baseAddress! + start)
            out.varint(Int32(body))
            out.byte(0)
            out.varlong(timestampDelta)
            out.varint(offsetDelta)
            writeFields(&out)
            assert(out.base - (buffer.baseAddress! + start) == total, "record size computed wrongly")
        }
        writtenCount += total
        recordCount += 1
    }

    /// Writes the header fields and CRC and returns the finished batch bytes. The builder is left
    /// empty and can be reused for the next batch. With `keepingCapacity` false it allocates only
    /// the next header's 61 bytes instead of the initial capacity, for a builder used once.
    public mutating func finish(keepingCapacity: Bool = true) -> [UInt8] {
        // Hand the buffer over rather than copying it, then start a fresh one.
        var batch = [UInt8](repeating: 0, count: keepingCapacity ? initialCapacity : RecordBatch.headerSize)
        swap(&batch, &storage)
        sealHeader(of: &batch)
        writtenCount = RecordBatch.headerSize
        recordCount = 0
        baseTimestamp = 0
        maxTimestamp = -1
        return batch
    }

    /// Trims `batch`, the storage handed over, to the bytes written and seals its header.
    private func sealHeader(of batch: inout [UInt8]) {
        batch.removeLast(batch.count - writtenCount)
        RecordBatchHeaderWriter.sealHeader(
            of: &batch, partitionLeaderEpoch: partitionLeaderEpoch, attributes: attributes,
            lastOffsetDelta: recordCount - 1, baseTimestamp: baseTimestamp,
            maxTimestamp: recordCount == 0 ? -1 : maxTimestamp, producerId: producerId,
            producerEpoch: producerEpoch, baseSequence: baseSequence, recordCount: recordCount)
    }

    /// Grows `storage` to at least twice its size when `count` more bytes do not fit. Only the
    /// written bytes are copied. The new spare bytes are left as the allocator returned them,
    /// because `finish()` trims the buffer to the written bytes before it hands it out.
    private mutating func ensureSpace(_ count: Int) {
        guard storage.count - writtenCount < count else { return }
        let grownCount = max(writtenCount + count, storage.count * 2)
        let written = writtenCount
        let grown = storage.withUnsafeBufferPointer { old in
            [UInt8](unsafeUninitializedCapacity: grownCount) { buffer, initializedCount in
                buffer.baseAddress!.initialize(from: old.baseAddress!, count: written)
                initializedCount = grownCount
            }
        }
        storage = grown
    }

    static func recordBodySize(
        keyCount: Int?, valueCount: Int?, headers: [RecordHeader], timestampDelta: Int64, offsetDelta: Int32
    ) -> Int {
        var size = 1 + VarintSize.varlong(timestampDelta) + VarintSize.varint(offsetDelta)
        size += nullableSize(keyCount)
        size += nullableSize(valueCount)
        size += VarintSize.varint(Int32(truncatingIfNeeded: headers.count))
        for header in headers {
            size += nullableSize(header.key.utf8.count)
            size += nullableSize(header.value?.count)
        }
        return size
    }

    @inline(__always)
    private static func nullableSize(_ count: Int?) -> Int {
        guard let count else { return 1 }
        return VarintSize.varint(Int32(truncatingIfNeeded: count)) + count
    }
}

/// Writes varints and bytes through a raw pointer whose space the caller has already checked.
struct RawOutput {
    var base: UnsafeMutablePointer<UInt8>

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        base.pointee = value
        base += 1
    }

    @inline(__always)
    mutating func unsigned(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            byte(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        byte(UInt8(remaining))
    }

    @inline(__always)
    mutating func varint(_ value: Int32) { unsigned(UInt64(VarintSize.zigzag(value))) }

    @inline(__always)
    mutating func varlong(_ value: Int64) { unsigned(VarintSize.zigzag(value)) }

    @inline(__always)
    mutating func copy(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: bytes.count)
        base += bytes.count
    }

    @inline(__always)
    mutating func nullableBytes(_ value: [UInt8]?) {
        guard let value else {
            varint(-1)
            return
        }
        varint(Int32(truncatingIfNeeded: value.count))
        value.withUnsafeBytes { copy($0) }
    }
}

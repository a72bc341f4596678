extension RecordBatch {
    /// Encodes the batch with its CRC computed. Only uncompressed batches with decoded `records`
    /// can be encoded; the records keep their own offset and timestamp deltas.
    public func encoded() throws(WireEncodingError) -> [UInt8] {
        guard compressedRecords == nil, attributes.compression == CompressionCodec.none else {
            throw .invalidValue(
                api: "RecordBatch", field: "Attributes",
                detail: "compressed batches cannot be encoded; decompression and compression are not built")
        }
        var writer = WireWriter(capacity: RecordBatch.headerSize + records.count * 64, api: "RecordBatch")
        writer.writeRawBytes(repeatElement(0, count: RecordBatch.headerSize))
        for record in records {
            let body = RecordBatchBuilder.recordBodySize(
                keyCount: record.key?.count, valueCount: record.value?.count, headers: record.headers,
                timestampDelta: record.timestampDelta, offsetDelta: record.offsetDelta)
            guard body <= Int(Int32.max) - 5 else {
                throw .valueTooLong(
                    api: "RecordBatch", field: "Record length", length: body, maximum: Int(Int32.max))
            }
            writer.writeVarint(Int32(body))
            writer.writeInt8(record.attributes)
            writer.writeVarlong(record.timestampDelta)
            writer.writeVarint(record.offsetDelta)
            writeRecordBytes(record.key, into: &writer)
            writeRecordBytes(record.value, into: &writer)
            writer.writeVarint(Int32(truncatingIfNeeded: record.headers.count))
            for header in record.headers {
                writeRecordBytes(Array(header.key.utf8), into: &writer)
                writeRecordBytes(header.value, into: &writer)
            }
        }
        var bytes = writer.bytes
        RecordBatchHeaderWriter.sealHeader(
            of: &bytes, baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch,
            attributes: attributes,
            lastOffsetDelta: lastOffsetDelta, baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp,
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence,
            recordCount: Int32(truncatingIfNeeded: records.count))
        return bytes
    }

    private func writeRecordBytes(_ value: [UInt8]?, into writer: inout WireWriter) {
        guard let value else {
            writer.writeVarint(-1)
            return
        }
        writer.writeVarint(Int32(truncatingIfNeeded: value.count))
        writer.writeRawBytes(value)
    }

    /// Rewrites ProducerId, ProducerEpoch and BaseSequence of an encoded batch and recomputes its
    /// CRC, for assigning sequence numbers when a batch is sent. `batch` must start with a v2
    /// batch header; other bytes are left unchanged.
    public static func setProducerState(
        in batch: inout [UInt8], producerId: Int64, producerEpoch: Int16, baseSequence: Int32
    ) {
        precondition(batch.count >= headerSize, "batch shorter than a RecordBatch header")
        var writer = WireWriter(capacity: 0)
        swap(&writer.bytes, &batch)
        writer.setInteger(producerId, at: 43)
        writer.setInteger(producerEpoch, at: 51)
        writer.setInteger(baseSequence, at: 53)
        swap(&writer.bytes, &batch)
        RecordBatchHeaderWriter.updateCRC(of: &batch)
    }
}

enum RecordBatchHeaderWriter {
    /// Fills the 61-byte header placeholder at the start of `batch`, then the CRC.
    static func sealHeader(
        of batch: inout [UInt8], baseOffset: Int64 = 0, partitionLeaderEpoch: Int32,
        attributes: RecordBatchAttributes,
        lastOffsetDelta: Int32, baseTimestamp: Int64, maxTimestamp: Int64, producerId: Int64,
        producerEpoch: Int16, baseSequence: Int32, recordCount: Int32
    ) {
        var writer = WireWriter(capacity: 0)
        swap(&writer.bytes, &batch)
        writer.setInteger(baseOffset, at: 0)
        writer.setInteger(Int32(truncatingIfNeeded: writer.count - RecordBatch.logOverhead), at: 8)
        writer.setInteger(partitionLeaderEpoch, at: 12)
        writer.setInteger(RecordBatch.magic, at: 16)
        writer.setInteger(attributes.rawValue, at: 21)
        writer.setInteger(lastOffsetDelta, at: 23)
        writer.setInteger(baseTimestamp, at: 27)
        writer.setInteger(maxTimestamp, at: 35)
        writer.setInteger(producerId, at: 43)
        writer.setInteger(producerEpoch, at: 51)
        writer.setInteger(baseSequence, at: 53)
        writer.setInteger(recordCount, at: 57)
        swap(&writer.bytes, &batch)
        updateCRC(of: &batch)
    }

    /// Computes CRC-32C over bytes 21 to the end and stores it at offset 17.
    static func updateCRC(of batch: inout [UInt8]) {
        let crc = batch.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[21...])) }
        batch[17] = UInt8(truncatingIfNeeded: crc >> 24)
        batch[18] = UInt8(truncatingIfNeeded: crc >> 16)
        batch[19] = UInt8(truncatingIfNeeded: crc >> 8)
        batch[20] = UInt8(truncatingIfNeeded: crc)
    }
}

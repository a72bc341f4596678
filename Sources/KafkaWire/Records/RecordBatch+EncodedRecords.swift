extension RecordBatch {
    /// A record of an encoded batch, located without decoding its key, value and headers.
    public struct EncodedRecord: Hashable, Sendable {
        /// BaseTimestamp plus the record's TimestampDelta, in milliseconds.
        public var timestamp: Int64
        /// Byte range of the key, value and headers fields in the batch. These fields do not depend
        /// on the batch's base offset or timestamp, so they can be copied into another batch.
        public var fields: Range<Int>

        public init(timestamp: Int64, fields: Range<Int>) {
            self.timestamp = timestamp
            self.fields = fields
        }
    }

    /// Locates the records of the uncompressed batch that starts `batch`, for moving them into other
    /// batches with ``RecordBatchBuilder/append(encodedFields:timestamp:maxBatchBytes:)``. Reads the
    /// header and each record's length, timestamp delta and offset delta, but not the CRC.
    /// Throws when the batch is malformed or compressed.
    public static func encodedRecords(in batch: [UInt8]) throws(WireDecodingError) -> [EncodedRecord] {
        let reader = WireReader(batch, context: WireContext(api: "RecordBatch"))
        var (_, _, _, batchReader) = try readBatchStart(from: reader)
        _ = try batchReader.readUInt32("CRC")
        let attributesOffset = batchReader.readerIndex
        let attributes = RecordBatchAttributes(rawValue: try batchReader.readInt16("Attributes"))
        guard attributes.compression == CompressionCodec.none else {
            throw .invalidValue(
                reader.context, field: "Attributes", offset: attributesOffset,
                detail: "the batch is compressed; only uncompressed records can be located")
        }
        _ = try batchReader.readInt32("LastOffsetDelta")
        let baseTimestamp = try batchReader.readInt64("BaseTimestamp")
        try batchReader.skip(8 + 8 + 2 + 4, field: "MaxTimestamp to BaseSequence")
        let countOffset = batchReader.readerIndex
        let recordCount = try batchReader.readInt32("RecordsCount")
        guard recordCount >= 0 else {
            throw .invalidLength(
                reader.context, field: "RecordsCount", offset: countOffset, length: Int64(recordCount))
        }
        guard Int(recordCount) <= batchReader.readableBytes / minimumRecordSize else {
            throw .countTooLarge(
                reader.context, field: "RecordsCount", offset: countOffset, count: Int64(recordCount),
                remaining: batchReader.readableBytes)
        }

        var records = [EncodedRecord]()
        records.reserveCapacity(Int(recordCount))
        for _ in 0..<recordCount {
            let recordLengthOffset = batchReader.readerIndex
            let recordLength = Int(try batchReader.readVarint("Record length"))
            guard recordLength >= minimumRecordSize - 1 else {
                throw .invalidLength(
                    reader.context, field: "Record length", offset: recordLengthOffset,
                    length: Int64(recordLength))
            }
            try batchReader.require(recordLength, "Record length")
            let end = batchReader.readerIndex + recordLength
            var recordReader = WireReader(
                batch, range: batchReader.readerIndex..<end, context: reader.context)
            _ = try recordReader.readInt8("Record attributes")
            let timestampDelta = try recordReader.readVarlong("TimestampDelta")
            _ = try recordReader.readVarint("OffsetDelta")
            records.append(EncodedRecord(
                timestamp: baseTimestamp &+ timestampDelta, fields: recordReader.readerIndex..<end))
            batchReader.moveReaderIndex(to: end)
        }
        try batchReader.requireAtEnd()
        return records
    }
}

extension RecordBatch {
    /// The smallest record: length, attributes, timestamp delta, offset delta, key length,
    /// value length and header count, one byte each.
    static let minimumRecordSize = 7

    /// Decodes every batch in a Records field (the bytes of a Produce partition's `Records`).
    /// Throws on any malformed or truncated batch, including a CRC mismatch.
    public static func decodeAll(_ bytes: [UInt8]) throws(WireDecodingError) -> [RecordBatch] {
        var reader = WireReader(bytes, context: WireContext(api: "RecordBatch"))
        var batches: [RecordBatch] = []
        while !reader.isAtEnd {
            batches.append(try decode(from: &reader))
        }
        return batches
    }

    /// Decodes one batch from `reader`, verifying magic 2 and the CRC-32C. On success consumes
    /// the batch; when it throws, the reader index is unspecified.
    public static func decode(from reader: inout WireReader) throws(WireDecodingError) -> RecordBatch {
        let (baseOffset, partitionLeaderEpoch, end, batchReaderAfterMagic) = try readBatchStart(from: reader)
        var batchReader = batchReaderAfterMagic
        let crcOffset = batchReader.readerIndex
        let storedCRC = try batchReader.readUInt32("CRC")
        let computedCRC = reader.bytes.withUnsafeBytes {
            CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[batchReader.readerIndex..<end]))
        }
        guard storedCRC == computedCRC else {
            throw .crcMismatch(
                reader.context, field: "CRC", offset: crcOffset, expected: storedCRC, actual: computedCRC)
        }

        let attributesOffset = batchReader.readerIndex
        let attributes = RecordBatchAttributes(rawValue: try batchReader.readInt16("Attributes"))
        // Codec ids 5 to 7 are unassigned; Apache Kafka's CompressionType.forId rejects them too.
        guard attributes.compression != nil else {
            throw .invalidValue(
                reader.context, field: "Attributes", offset: attributesOffset,
                detail: "compression codec \(attributes.rawValue & 0x07) is not one of 0 to 4")
        }
        let lastOffsetDelta = try batchReader.readInt32("LastOffsetDelta")
        let baseTimestamp = try batchReader.readInt64("BaseTimestamp")
        let maxTimestamp = try batchReader.readInt64("MaxTimestamp")
        let producerId = try batchReader.readInt64("ProducerId")
        let producerEpoch = try batchReader.readInt16("ProducerEpoch")
        let baseSequence = try batchReader.readInt32("BaseSequence")
        let countOffset = batchReader.readerIndex
        let recordCount = try batchReader.readInt32("RecordsCount")
        guard recordCount >= 0 else {
            throw .invalidLength(
                reader.context, field: "RecordsCount", offset: countOffset, length: Int64(recordCount))
        }

        var batch = RecordBatch(
            baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch, attributes: attributes,
            baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp, producerId: producerId,
            producerEpoch: producerEpoch, baseSequence: baseSequence, records: [])
        batch.lastOffsetDelta = lastOffsetDelta
        batch.recordCount = recordCount
        batch.crc = storedCRC

        if attributes.compression != CompressionCodec.none {
            // NOTE: compressed record sections are returned raw; no codec is built in.
            batch.compressedRecords = try batchReader.readBytes(
                count: batchReader.readableBytes, field: "Records")
        } else {
            guard Int(recordCount) <= batchReader.readableBytes / minimumRecordSize else {
                throw .countTooLarge(
                    reader.context, field: "RecordsCount", offset: countOffset, count: Int64(recordCount),
                    remaining: batchReader.readableBytes)
            }
            batch.records.reserveCapacity(min(Int(recordCount), WireReader.maximumReservedElements))
            for _ in 0..<recordCount {
                batch.records.append(try decodeRecord(from: &batchReader))
            }
            try batchReader.requireAtEnd()
        }
        reader.moveReaderIndex(to: end)
        return batch
    }

    /// Reads BaseOffset, Length, PartitionLeaderEpoch and Magic of the batch at `reader`'s index,
    /// checking that Length covers a header, that its bytes are present and that Magic is 2.
    /// Returns them with the index after the batch and a reader over the rest of the batch.
    /// Consumes nothing from `reader`.
    static func readBatchStart(
        from reader: WireReader
    ) throws(WireDecodingError)
        -> (baseOffset: Int64, partitionLeaderEpoch: Int32, end: Int, batch: WireReader)
    {
        var reader = reader
        let baseOffset = try reader.readInt64("BaseOffset")
        let lengthOffset = reader.readerIndex
        let length = Int(try reader.readInt32("Length"))
        guard length >= headerSize - logOverhead else {
            throw .invalidValue(
                reader.context, field: "Length", offset: lengthOffset,
                detail: "\(length) is below the \(headerSize - logOverhead) bytes of a batch header")
        }
        try reader.require(length, "Length")
        let end = reader.readerIndex + length
        var batchReader = WireReader(reader.bytes, range: reader.readerIndex..<end, context: reader.context)

        let partitionLeaderEpoch = try batchReader.readInt32("PartitionLeaderEpoch")
        let magicOffset = batchReader.readerIndex
        let magic = try batchReader.readInt8("Magic")
        guard magic == RecordBatch.magic else {
            throw .invalidValue(
                reader.context, field: "Magic", offset: magicOffset,
                detail: "magic \(magic) is not 2; only RecordBatch v2 is supported")
        }
        return (baseOffset, partitionLeaderEpoch, end, batchReader)
    }

    private static func decodeRecord(from reader: inout WireReader) throws(WireDecodingError) -> Record {
        let lengthOffset = reader.readerIndex
        let length = Int(try reader.readVarint("Record length"))
        guard length >= minimumRecordSize - 1 else {
            throw .invalidLength(
                reader.context, field: "Record length", offset: lengthOffset, length: Int64(length))
        }
        try reader.require(length, "Record length")
        let end = reader.readerIndex + length
        var recordReader = WireReader(reader.bytes, range: reader.readerIndex..<end, context: reader.context)
        let attributes = try recordReader.readInt8("Record attributes")
        let timestampDelta = try recordReader.readVarlong("TimestampDelta")
        let offsetDelta = try recordReader.readVarint("OffsetDelta")
        let key = try readRecordBytes(&recordReader, field: "Key")
        let value = try readRecordBytes(&recordReader, field: "Value")
        let headerCountOffset = recordReader.readerIndex
        let headerCount = Int(try recordReader.readVarint("HeadersCount"))
        guard headerCount >= 0 else {
            throw .invalidLength(
                reader.context, field: "HeadersCount", offset: headerCountOffset, length: Int64(headerCount))
        }
        // A header is at least two bytes: key length and value length.
        guard headerCount <= recordReader.readableBytes / 2 else {
            throw .countTooLarge(
                reader.context, field: "HeadersCount", offset: headerCountOffset, count: Int64(headerCount),
                remaining: recordReader.readableBytes)
        }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(min(headerCount, WireReader.maximumReservedElements))
        for _ in 0..<headerCount {
            let keyOffset = recordReader.readerIndex
            let keyLength = Int(try recordReader.readVarint("Header key length"))
            guard keyLength >= 0 else {
                throw .invalidLength(
                    reader.context, field: "Header key", offset: keyOffset, length: Int64(keyLength))
            }
            let headerKey = try recordReader.readUTF8(count: keyLength, field: "Header key", at: keyOffset)
            let headerValue = try readRecordBytes(&recordReader, field: "Header value")
            headers.append(RecordHeader(key: headerKey, value: headerValue))
        }
        try recordReader.requireAtEnd()
        reader.moveReaderIndex(to: end)
        return Record(
            attributes: attributes, timestampDelta: timestampDelta, offsetDelta: offsetDelta, key: key,
            value: value,
            headers: headers)
    }

    /// Reads a varint length (-1 = null) and that many bytes.
    private static func readRecordBytes(
        _ reader: inout WireReader, field: String
    ) throws(WireDecodingError)
        -> [UInt8]?
    {
        let offset = reader.readerIndex
        let length = Int(try reader.readVarint("\(field) length"))
        if length == -1 { return nil }
        guard length >= 0 else {
            throw .invalidLength(reader.context, field: field, offset: offset, length: Int64(length))
        }
        return try reader.readBytes(count: length, field: field)
    }
}

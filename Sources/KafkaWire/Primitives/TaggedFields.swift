// Tagged-field sections of flexible versions (TaggedFields.java in Apache Kafka): an unsigned varint
// count, then per field an unsigned varint tag (strictly increasing), an unsigned varint size and
// that many bytes. An empty section is the single byte 00.

/// One tagged field as it appeared on the wire: its tag and raw bytes.
public struct TaggedField: Hashable, Sendable {
    public var tag: UInt32
    public var data: [UInt8]

    public init(tag: UInt32, data: [UInt8]) {
        self.tag = tag
        self.data = data
    }
}

extension WireReader {
    /// Reads a tagged-field section. `decodeKnown` is called with each tag and a reader limited to
    /// that field's bytes; it returns true when it decoded the field. Fields it does not decode are
    /// skipped by size and returned, so unknown tags are never an error.
    public mutating func readTaggedFields(
        _ field: String,
        decodeKnown: (UInt32, inout WireReader) throws(WireDecodingError) -> Bool = { _, _ in false }
    ) throws(WireDecodingError) -> [TaggedField] {
        let count = try readUnsignedVarint("\(field) count")
        // Each tagged field takes at least two bytes (tag and size).
        guard Int(count) <= readableBytes / 2 else {
            throw .countTooLarge(
                context, field: "\(field) count", offset: readerIndex, count: Int64(count),
                remaining: readableBytes)
        }
        var unknown: [TaggedField] = []
        var previousTag: UInt32? = nil
        for _ in 0..<count {
            let tagOffset = readerIndex
            let tag = try readUnsignedVarint("\(field) tag")
            if let previousTag, tag <= previousTag {
                throw .invalidValue(
                    context, field: "\(field) tag", offset: tagOffset,
                    detail: "tag \(tag) follows tag \(previousTag), but tags must increase")
            }
            previousTag = tag
            let size = Int(try readUnsignedVarint("\(field) size"))
            let range = try readRange(count: size, field: "\(field) tag \(tag)")
            var fieldReader = WireReader(bytes, range: range, context: context)
            if try decodeKnown(tag, &fieldReader) {
                try fieldReader.requireAtEnd()
            } else {
                unknown.append(TaggedField(tag: tag, data: Array(bytes[range])))
            }
        }
        return unknown
    }
}

extension WireWriter {
    /// Writes a tagged-field section from `fields`, sorted by tag as the wire format requires.
    public mutating func writeTaggedFields(_ fields: [TaggedField]) {
        if fields.isEmpty {
            writeUInt8(0)
            return
        }
        let sorted = fields.sorted { $0.tag < $1.tag }
        writeUnsignedVarint(UInt32(sorted.count))
        for field in sorted {
            writeUnsignedVarint(field.tag)
            writeUnsignedVarint(UInt32(field.data.count))
            writeRawBytes(field.data)
        }
    }

    /// Encodes one tagged field's value with `body`, for building the list `writeTaggedFields` takes.
    public static func taggedField(
        tag: UInt32, api: String, _ body: (inout WireWriter) throws(WireEncodingError) -> Void
    ) throws(WireEncodingError) -> TaggedField {
        var writer = WireWriter(api: api)
        try body(&writer)
        return TaggedField(tag: tag, data: writer.bytes)
    }
}

extension WireReader {
    /// The maximum number of elements reserved up front for a wire count. A count is checked against
    /// the bytes remaining, but a decoded element can be many times larger than its wire form, so
    /// larger arrays grow as elements arrive instead.
    static let maximumReservedElements = 1024

    /// Reads an array whose count is checked against the bytes remaining before any element is read.
    public mutating func readArray<Element>(
        _ field: String, compact: Bool, minimumElementSize: Int = 1,
        _ element: (inout WireReader) throws(WireDecodingError) -> Element
    ) throws(WireDecodingError) -> [Element] {
        let count = try readArrayCount(field, compact: compact, minimumElementSize: minimumElementSize)
        var elements: [Element] = []
        elements.reserveCapacity(Swift.min(count, Self.maximumReservedElements))
        for _ in 0..<count {
            elements.append(try element(&self))
        }
        return elements
    }

    /// Reads a nullable array (-1 or compact 0 = nil), checked like `readArray`.
    public mutating func readNullableArray<Element>(
        _ field: String, compact: Bool, minimumElementSize: Int = 1,
        _ element: (inout WireReader) throws(WireDecodingError) -> Element
    ) throws(WireDecodingError) -> [Element]? {
        guard
            let count = try readNullableArrayCount(
                field, compact: compact, minimumElementSize: minimumElementSize)
        else { return nil }
        var elements: [Element] = []
        elements.reserveCapacity(Swift.min(count, Self.maximumReservedElements))
        for _ in 0..<count {
            elements.append(try element(&self))
        }
        return elements
    }

    /// Reads a tagged-field section when `flexible`, else returns no fields and reads nothing.
    public mutating func readTaggedFieldsIfFlexible(
        _ flexible: Bool, _ field: String
    ) throws(WireDecodingError)
        -> [TaggedField]
    {
        flexible ? try readTaggedFields(field) : []
    }
}

extension WireWriter {
    /// Writes an array count then each element with `body`.
    public mutating func writeArray<Element>(
        _ elements: [Element], field: String, compact: Bool,
        _ body: (inout WireWriter, Element) throws(WireEncodingError) -> Void
    ) throws(WireEncodingError) {
        try writeArrayCount(elements.count, field: field, compact: compact)
        for element in elements {
            try body(&self, element)
        }
    }

    /// Writes a nullable array: -1 (classic) or 0 (compact) for nil.
    public mutating func writeNullableArray<Element>(
        _ elements: [Element]?, field: String, compact: Bool,
        _ body: (inout WireWriter, Element) throws(WireEncodingError) -> Void
    ) throws(WireEncodingError) {
        try writeNullableArrayCount(elements?.count, field: field, compact: compact)
        for element in elements ?? [] {
            try body(&self, element)
        }
    }

    /// Writes `fields` as a tagged-field section when `flexible`; writes nothing otherwise.
    public mutating func writeTaggedFieldsIfFlexible(_ flexible: Bool, _ fields: [TaggedField]) {
        if flexible { writeTaggedFields(fields) }
    }
}

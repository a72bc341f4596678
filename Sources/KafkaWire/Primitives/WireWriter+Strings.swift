// Strings, byte arrays and array counts in the classic (int16/int32 length, -1 = null) and compact
// (unsigned varint length + 1, 0 = null) encodings.

extension WireWriter {
    // MARK: Classic encodings

    /// Appends a STRING with an int16 length; throws when the UTF-8 form exceeds 32,767 bytes.
    public mutating func writeString(_ value: String, field: String) throws(WireEncodingError) {
        let length = value.utf8.count
        guard length <= Int(Int16.max) else {
            throw .valueTooLong(api: api, field: field, length: length, maximum: Int(Int16.max))
        }
        writeInt16(Int16(length))
        bytes.append(contentsOf: value.utf8)
    }

    /// Appends a NULLABLE_STRING (-1 for nil).
    public mutating func writeNullableString(_ value: String?, field: String) throws(WireEncodingError) {
        guard let value else {
            writeInt16(-1)
            return
        }
        try writeString(value, field: field)
    }

    /// Appends NULLABLE_BYTES with an int32 length (-1 for nil).
    public mutating func writeNullableByteArray(_ value: [UInt8]?, field: String) throws(WireEncodingError) {
        guard let value else {
            writeInt32(-1)
            return
        }
        guard value.count <= Int(Int32.max) else {
            throw .valueTooLong(api: api, field: field, length: value.count, maximum: Int(Int32.max))
        }
        writeInt32(Int32(value.count))
        bytes.append(contentsOf: value)
    }

    /// Appends an ARRAY count (int32).
    public mutating func writeArrayCount(_ count: Int, field: String) throws(WireEncodingError) {
        guard count <= Int(Int32.max) else {
            throw .valueTooLong(api: api, field: field, length: count, maximum: Int(Int32.max))
        }
        writeInt32(Int32(count))
    }

    // MARK: Compact encodings

    /// Appends a COMPACT_NULLABLE_STRING (0 for nil, else length + 1).
    public mutating func writeCompactNullableString(_ value: String?, field: String) throws(WireEncodingError)
    {
        guard let value else {
            writeUInt8(0)
            return
        }
        let length = value.utf8.count
        guard length < Int(Int32.max) else {
            throw .valueTooLong(api: api, field: field, length: length, maximum: Int(Int32.max) - 1)
        }
        writeUnsignedVarint(UInt32(length + 1))
        bytes.append(contentsOf: value.utf8)
    }

    /// Appends COMPACT_NULLABLE_BYTES (0 for nil, else length + 1).
    public mutating func writeCompactNullableByteArray(
        _ value: [UInt8]?, field: String
    ) throws(WireEncodingError) {
        guard let value else {
            writeUInt8(0)
            return
        }
        guard value.count < Int(Int32.max) else {
            throw .valueTooLong(api: api, field: field, length: value.count, maximum: Int(Int32.max) - 1)
        }
        writeUnsignedVarint(UInt32(value.count + 1))
        bytes.append(contentsOf: value)
    }

    /// Appends a COMPACT_ARRAY count (count + 1).
    public mutating func writeCompactArrayCount(_ count: Int, field: String) throws(WireEncodingError) {
        guard count < Int(Int32.max) else {
            throw .valueTooLong(api: api, field: field, length: count, maximum: Int(Int32.max) - 1)
        }
        writeUnsignedVarint(UInt32(count + 1))
    }

    // MARK: Chosen by version

    public mutating func writeString(_ value: String, field: String, compact: Bool) throws(WireEncodingError)
    {
        if compact {
            try writeCompactNullableString(value, field: field)
        } else {
            try writeString(value, field: field)
        }
    }

    public mutating func writeNullableString(
        _ value: String?, field: String, compact: Bool
    )
        throws(WireEncodingError)
    {
        if compact {
            try writeCompactNullableString(value, field: field)
        } else {
            try writeNullableString(value, field: field)
        }
    }

    public mutating func writeNullableByteArray(
        _ value: [UInt8]?, field: String, compact: Bool
    )
        throws(WireEncodingError)
    {
        if compact {
            try writeCompactNullableByteArray(value, field: field)
        } else {
            try writeNullableByteArray(value, field: field)
        }
    }

    public mutating func writeArrayCount(_ count: Int, field: String, compact: Bool) throws(WireEncodingError)
    {
        if compact {
            try writeCompactArrayCount(count, field: field)
        } else {
            try writeArrayCount(count, field: field)
        }
    }

    /// Appends a nullable array count: -1 (classic) or 0 (compact) for nil.
    public mutating func writeNullableArrayCount(
        _ count: Int?, field: String, compact: Bool
    )
        throws(WireEncodingError)
    {
        guard let count else {
            if compact { writeUInt8(0) } else { writeInt32(-1) }
            return
        }
        try writeArrayCount(count, field: field, compact: compact)
    }

    public mutating func writeInt32Array(
        _ values: [Int32], field: String, compact: Bool
    )
        throws(WireEncodingError)
    {
        try writeArrayCount(values.count, field: field, compact: compact)
        for value in values {
            writeInt32(value)
        }
    }
}

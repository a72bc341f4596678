/// The message sent to Redis after Kafka acknowledged an event: its identifiers and where Kafka
/// stored it, never the payload. Consumers read the event itself from Kafka at `topic`,
/// `partition`, `offset`.
///
/// Encoded as one compact JSON object with the keys in this order:
/// `{"id":…,"type":…,"source_type":…,"source_id":…,"topic":…,"partition":…,"offset":…}`.
/// `source_id` is the id as published, not the percent-escaped form in the channel name.
public struct EventNotification: Sendable, Hashable {
    public var id: String
    public var type: String
    public var sourceType: String
    public var sourceID: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(
        id: String, type: String, sourceType: String, sourceID: String, topic: String,
        partition: Int32, offset: Int64
    ) {
        self.id = id
        self.type = type
        self.sourceType = sourceType
        self.sourceID = sourceID
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// The JSON encoding, as UTF-8 bytes.
    public func jsonBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(
            96 + id.utf8.count + type.utf8.count + sourceType.utf8.count + sourceID.utf8.count
                + topic.utf8.count)
        output.append(contentsOf: #"{"id":"#.utf8)
        JSONString.append(id, to: &output)
        output.append(contentsOf: #","type":"#.utf8)
        JSONString.append(type, to: &output)
        output.append(contentsOf: #","source_type":"#.utf8)
        JSONString.append(sourceType, to: &output)
        output.append(contentsOf: #","source_id":"#.utf8)
        JSONString.append(sourceID, to: &output)
        output.append(contentsOf: #","topic":"#.utf8)
        JSONString.append(topic, to: &output)
        output.append(contentsOf: #","partition":"#.utf8)
        output.append(contentsOf: String(partition).utf8)
        output.append(contentsOf: #","offset":"#.utf8)
        output.append(contentsOf: String(offset).utf8)
        output.append(UInt8(ascii: "}"))
        return output
    }
}

/// JSON string encoding (RFC 8259 section 7) without Foundation.
public enum JSONString {
    /// Appends `value` as a quoted JSON string. `"` and `\` are escaped with a backslash, the
    /// control characters U+0000 to U+001F as `\b`, `\f`, `\n`, `\r`, `\t` or `\u00XX`. Every
    /// other character, non-ASCII included, is copied as UTF-8, which RFC 8259 allows.
    public static func append(_ value: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""):
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"):
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "\\"))
            case 0x08:
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "b"))
            case 0x0C:
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "f"))
            case 0x0A:
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "n"))
            case 0x0D:
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "r"))
            case 0x09:
                output.append(UInt8(ascii: "\\"))
                output.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                output.append(contentsOf: Array(#"\u00"#.utf8))
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0x0F)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

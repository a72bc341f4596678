/// Redis channel names of the form `events:{source_type}:{source_id}`.
///
/// Subscribers use glob patterns (`PSUBSCRIBE events:repo:*`), in which Redis gives `*`, `?`,
/// `[`, `]` and `\` a meaning. So that a pattern never matches more channels than its author
/// intended, the rules are:
/// - A source type is 1 to 64 bytes with no whitespace, no control characters, none of the glob
///   characters `*?[]\` and no `:`, which separates it from the source id. Anything else is
///   rejected: source types are a small fixed vocabulary such as `repo`, `user` or `org`.
/// - A source id is 1 to 512 bytes with no whitespace and no control characters; those are
///   rejected. The glob characters `*?[]\` and `%` itself are percent-escaped as `%2A`, `%3F`,
///   `%5B`, `%5D`, `%5C` and `%25`, because ids come from outside data. Every other character is
///   kept, `/` and `:` included, so `events:repo:octocat/hello-world` reads as it should.
///
/// The notification carries the source id unescaped; only the channel name is escaped.
public enum EventChannel {
    public static let prefix = "events:"

    /// Returns the channel for a source, or throws when the source type or id breaks the rules.
    public static func name(sourceType: String, sourceID: String) throws(DualStreamError) -> String {
        try checkSourceType(sourceType)
        try checkSourceID(sourceID)
        var channel = prefix
        channel.reserveCapacity(prefix.utf8.count + sourceType.utf8.count + sourceID.utf8.count + 1)
        channel += sourceType
        channel += ":"
        channel += escapeSourceID(sourceID)
        return channel
    }

    /// Percent-escapes the glob characters and `%` in a source id.
    public static func escapeSourceID(_ sourceID: String) -> String {
        guard sourceID.utf8.contains(where: isEscaped) else { return sourceID }
        var escaped: [UInt8] = []
        escaped.reserveCapacity(sourceID.utf8.count + 8)
        for byte in sourceID.utf8 {
            if isEscaped(byte) {
                escaped.append(UInt8(ascii: "%"))
                escaped.append(contentsOf: Array(hex(UInt32(byte), digits: 2).utf8))
            } else {
                escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }

    static func checkSourceType(_ sourceType: String) throws(DualStreamError) {
        let field = "source type"
        try checkCommon(sourceType, field: field, maxBytes: EventLimits.maxSourceTypeBytes)
        if let byte = sourceType.utf8.first(where: { isGlob($0) || $0 == UInt8(ascii: ":") }) {
            let character = Character(Unicode.Scalar(byte))
            throw .invalidEvent(
                field: field, value: sourceType,
                reason: "it contains \"\(character)\"; a source type may not contain the glob "
                    + "characters *?[]\\ or the separator :")
        }
    }

    static func checkSourceID(_ sourceID: String) throws(DualStreamError) {
        try checkCommon(sourceID, field: "source id", maxBytes: EventLimits.maxSourceIDBytes)
    }

    private static func checkCommon(_ value: String, field: String, maxBytes: Int) throws(DualStreamError) {
        try Event.checkLength(value, field: field, maxBytes: maxBytes)
        if let scalar = firstWhitespaceOrControl(in: value) {
            throw .invalidEvent(
                field: field, value: value,
                reason: "it contains U+\(hex(scalar.value)), and whitespace and control characters "
                    + "are not allowed in channel names")
        }
    }

    /// The first scalar with the Unicode White_Space property or general category Cc. ASCII
    /// bytes are checked directly, because looking up Unicode properties costs more per scalar
    /// and ids are nearly always ASCII.
    static func firstWhitespaceOrControl(in value: String) -> Unicode.Scalar? {
        if value.utf8.allSatisfy({ $0 < 0x80 }) {
            // In ASCII, White_Space is 0x09-0x0D and 0x20, and Cc is 0x00-0x1F and 0x7F.
            guard let byte = value.utf8.first(where: { $0 <= 0x20 || $0 == 0x7F }) else { return nil }
            return Unicode.Scalar(byte)
        }
        return value.unicodeScalars.first { scalar in
            scalar.properties.isWhitespace || scalar.properties.generalCategory == .control
        }
    }

    private static func isGlob(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\\"):
            true
        default:
            false
        }
    }

    private static func isEscaped(_ byte: UInt8) -> Bool {
        isGlob(byte) || byte == UInt8(ascii: "%")
    }

    /// Upper-case hexadecimal with at least `digits` digits.
    static func hex(_ value: UInt32, digits: Int = 4) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

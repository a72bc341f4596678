import DualStream
import Foundation
import Testing

@Suite struct EventNotificationTests {
    private func notification(id: String = "1", type: String = "PushEvent", sourceID: String = "o/r")
        -> EventNotification
    {
        EventNotification(
            id: id, type: type, sourceType: "repo", sourceID: sourceID, topic: "events", partition: 2,
            offset: 41)
    }

    @Test func plainNotificationHasFixedKeyOrder() {
        let text = String(decoding: notification().jsonBytes(), as: UTF8.self)
        let expected = #"{"id":"1","type":"PushEvent","source_type":"repo","source_id":"o/r","#
            + #""topic":"events","partition":2,"offset":41}"#
        #expect(text == expected)
    }

    @Test(arguments: [
        ("quote\"d", #""quote\"d""#),
        ("back\\slash", #""back\\slash""#),
        ("new\nline", #""new\nline""#),
        ("tab\tcr\r", #""tab\tcr\r""#),
        ("\u{8}\u{C}", #""\b\f""#),
        ("nul\u{0}", #""nul\u0000""#),
        ("esc\u{1B}\u{1F}", #""esc\u001b\u001f""#),
        ("del\u{7F}", "\"del\u{7F}\""),
        ("zoë ✓ 😀", "\"zoë ✓ 😀\""),
        ("slash/", "\"slash/\""),
    ])
    func stringEscaping(value: String, expected: String) {
        var output: [UInt8] = []
        JSONString.append(value, to: &output)
        #expect(String(decoding: output, as: UTF8.self) == expected)
    }

    @Test func escapedFieldsDecodeBackWithFoundation() throws {
        let hostile = "\"\\\n\u{0}\u{1F}<>&'😀\u{2028}"
        let bytes = notification(id: hostile, type: "T\"", sourceID: "a\\b").jsonBytes()
        let object = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["id"] as? String == hostile)
        #expect(object["type"] as? String == "T\"")
        #expect(object["source_id"] as? String == "a\\b")
        #expect(object["source_type"] as? String == "repo")
        #expect(object["topic"] as? String == "events")
        #expect(object["partition"] as? Int == 2)
        #expect(object["offset"] as? Int == 41)
        #expect(object.count == 7)
    }

    @Test func notificationHasNoNewline() {
        let bytes = notification(id: "a\nb").jsonBytes()
        #expect(!bytes.contains(UInt8(ascii: "\n")))
    }

    @Test func maximalNotificationStaysUnder4KiB() {
        let quotes = String(repeating: "\"", count: EventLimits.maxIDBytes)
        let notification = EventNotification(
            id: quotes, type: String(repeating: "\\", count: EventLimits.maxTypeBytes),
            sourceType: String(repeating: "t", count: EventLimits.maxSourceTypeBytes),
            sourceID: String(repeating: "\"", count: EventLimits.maxSourceIDBytes),
            topic: String(repeating: "x", count: 249), partition: Int32.max, offset: Int64.min)
        #expect(notification.jsonBytes().count < 4_096)
    }
}

import DualStream
import Testing

@Suite struct EventChannelTests {
    @Test func repositoryNameKeepsSlash() throws {
        let channel = try EventChannel.name(sourceType: "repo", sourceID: "octocat/hello-world")
        #expect(channel == "events:repo:octocat/hello-world")
    }

    @Test func colonInSourceIDIsKept() throws {
        let channel = try EventChannel.name(sourceType: "host", sourceID: "db-1:5432")
        #expect(channel == "events:host:db-1:5432")
    }

    @Test func nonASCIISourceIDIsKept() throws {
        let channel = try EventChannel.name(sourceType: "user", sourceID: "zoë/café")
        #expect(channel == "events:user:zoë/café")
    }

    @Test(arguments: [
        ("a*b", "a%2Ab"), ("a?b", "a%3Fb"), ("a[b", "a%5Bb"), ("a]b", "a%5Db"), ("a\\b", "a%5Cb"),
        ("100%", "100%25"), ("%2A", "%252A"), ("*", "%2A"), ("[*]?", "%5B%2A%5D%3F"),
    ])
    func globCharactersInSourceIDAreEscaped(sourceID: String, escaped: String) throws {
        let channel = try EventChannel.name(sourceType: "repo", sourceID: sourceID)
        #expect(channel == "events:repo:" + escaped)
        #expect(EventChannel.escapeSourceID(sourceID) == escaped)
    }

    @Test func escapedChannelsContainNoGlobCharacters() throws {
        let hostile = "*?[]\\%/:x"
        let channel = try EventChannel.name(sourceType: "repo", sourceID: hostile)
        let suffix = channel.dropFirst("events:repo:".count)
        #expect(!suffix.contains(where: { "*?[]\\".contains($0) }))
    }

    @Test(arguments: ["re*po", "re?po", "re[po", "re]po", "re\\po", "re:po"])
    func globOrColonInSourceTypeIsRejected(sourceType: String) {
        let error = #expect(throws: DualStreamError.self) {
            try EventChannel.name(sourceType: sourceType, sourceID: "x")
        }
        #expect(error?.isInvalidEvent == true)
        #expect(error?.message.contains("source type") == true)
        #expect(error?.message.contains(sourceType.debugDescription) == true)
    }

    @Test(arguments: ["", "a b", "a\tb", "a\nb", "a\u{0}b", "a\u{7F}b", "a\u{A0}b", "a\u{2028}b", " "])
    func whitespaceControlOrEmptySourceIDIsRejected(sourceID: String) {
        let error = #expect(throws: DualStreamError.self) {
            try EventChannel.name(sourceType: "repo", sourceID: sourceID)
        }
        #expect(error?.isInvalidEvent == true)
        #expect(error?.message.contains("source id") == true)
        #expect(error?.message.contains(sourceID.debugDescription) == true)
    }

    @Test(arguments: ["", "re po", "re\u{1}po", "repo\n"])
    func whitespaceControlOrEmptySourceTypeIsRejected(sourceType: String) {
        let error = #expect(throws: DualStreamError.self) {
            try EventChannel.name(sourceType: sourceType, sourceID: "x")
        }
        #expect(error?.message.contains("source type") == true)
    }

    @Test func overlongSourceIDIsRejectedWithItsSize() {
        let sourceID = String(repeating: "a", count: EventLimits.maxSourceIDBytes + 1)
        let error = #expect(throws: DualStreamError.self) {
            try EventChannel.name(sourceType: "repo", sourceID: sourceID)
        }
        #expect(error?.message.contains("513 bytes") == true)
        #expect(error?.message.contains("maximum of 512") == true)
    }

    @Test func sourceIDAtTheLimitIsAccepted() throws {
        let sourceID = String(repeating: "a", count: EventLimits.maxSourceIDBytes)
        let channel = try EventChannel.name(sourceType: "repo", sourceID: sourceID)
        #expect(channel.utf8.count == "events:repo:".utf8.count + EventLimits.maxSourceIDBytes)
    }

    @Test func eventIDWithControlCharacterIsRejected() {
        let event = Event(id: "a\u{1B}b", type: "PushEvent", sourceType: "repo", sourceID: "o/r", payload: [])
        let error = #expect(throws: DualStreamError.self) { try event.validatedChannel() }
        #expect(error?.message.contains("event id") == true)
        #expect(error?.message.contains("U+001B") == true)
    }

    @Test func overlongEventTypeIsRejected() {
        let type = String(repeating: "T", count: EventLimits.maxTypeBytes + 1)
        let event = Event(id: "1", type: type, sourceType: "repo", sourceID: "o/r", payload: [])
        let error = #expect(throws: DualStreamError.self) { try event.validatedChannel() }
        #expect(error?.message.contains("event type") == true)
    }
}

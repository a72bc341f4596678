import RedisWire
import Testing

/// Replies end up in error messages (a surplus reply, an unexpected push), so their description
/// must stay short whatever the server sent.
@Suite("RESP value description")
struct RESPRobustnessDescriptionTests {
    @Test("huge array renders briefly")
    func hugeArray() {
        let value = RESPValue.array(Array(repeating: .bulkString([0, 1, 2, 3]), count: 100_000))
        let text = value.description
        let length = text.utf8.count
        #expect(length < 4_096, "\(length) bytes")
        let namesCount = text.hasSuffix("... (100000 elements)]")
        #expect(namesCount, "ends with \(String(text.suffix(80)))")
    }

    @Test("short array renders whole")
    func shortArray() {
        let value = RESPValue.array([.integer(1), .bulkString(Array("a".utf8)), .nullBulkString])
        #expect(value.description == "[:1, $1 \"a\", $-1]")
    }
}

import DualStream

/// Rules that turn a JSON line into an ``Event``: JSON paths (dot-separated keys and array indexes) for
/// the id, type and source, or fixed values. The whole line, unchanged, is the payload.
struct EventMapping: Sendable {
    /// The source of a field: a path, or a fixed value for every line.
    enum Field: Sendable {
        case path([String])
        case fixed(String)
    }

    var id: Field = .path(["id"])
    var type: Field = .path(["type"])
    var sourceType: Field = .fixed("repo")
    var sourceID: Field = .path(["repo", "name"])
    /// For lines with no value at the id path, derive the id from a hash of the line instead of
    /// rejecting the line.
    var hashMissingIDs = false
    /// For the 2014 GitHub timeline schema, which has `repository{owner,name}` and no `repo`.
    var githubRepositoryFallback = false

    /// GH Archive events. The source is the repository: `repo.name` (`owner/name`), or in
    /// 2014-schema events `repository.owner + "/" + repository.name`. Those events have no `id`,
    /// so their id is derived from the line (``lineHashID(_:)``).
    static let github = EventMapping(
        id: .path(["id"]), type: .path(["type"]), sourceType: .fixed("repo"),
        sourceID: .path(["repo", "name"]), hashMissingIDs: true, githubRepositoryFallback: true)

    static func parsePath(_ text: String) -> [String] {
        text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// Maps one line. Throws a ``LineError`` naming the field and the reason.
    func event(from line: [UInt8]) throws(LineError) -> Event {
        let document: JSONValue
        do {
            document = try JSONParser.parse(line)
        } catch {
            throw LineError(error.description)
        }
        guard case .object = document else {
            throw LineError("expected a JSON object, found \(document.kindName)")
        }
        let sourceID = try resolveSourceID(in: document)
        let id: String
        if case .path(let path) = self.id, document.value(at: path) == nil, hashMissingIDs {
            id = Self.lineHashID(line)
        } else {
            id = try resolve(self.id, in: document, name: "id")
        }
        let type = try resolve(self.type, in: document, name: "type")
        let sourceType = try resolve(self.sourceType, in: document, name: "source type")
        return Event(id: id, type: type, sourceType: sourceType, sourceID: sourceID, payload: line)
    }

    private func resolveSourceID(in document: JSONValue) throws(LineError) -> String {
        if githubRepositoryFallback, case .path(let path) = sourceID, document.value(at: path) == nil,
            let repository = document["repository"]
        {
            guard let owner = repository["owner"]?.scalarText, let name = repository["name"]?.scalarText
            else {
                throw LineError("no repo.name, and repository has no owner and name strings")
            }
            return owner + "/" + name
        }
        return try resolve(sourceID, in: document, name: "source id")
    }

    private func resolve(_ field: Field, in document: JSONValue, name: String) throws(LineError) -> String {
        switch field {
        case .fixed(let value):
            return value
        case .path(let path):
            let joined = path.joined(separator: ".")
            guard let value = document.value(at: path) else {
                throw LineError("missing \(name) at path \(joined)")
            }
            guard let text = value.scalarText else {
                throw LineError("\(name) at path \(joined) is \(value.kindName), expected a string or number")
            }
            return text
        }
    }

    /// Derives the id of an event that has none: `fnv1a64-` and the 16 lower-case hex digits of the
    /// 64-bit FNV-1a hash of the line's bytes. Identical lines get identical ids, which is what
    /// de-duplication by id wants.
    static func lineHashID(_ line: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in line {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return "fnv1a64-" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// The reason a line could not be mapped to an event.
struct LineError: Error, CustomStringConvertible, Sendable {
    let reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    var description: String { reason }
}

/// Replies a subscriber connection still expects, in the order its commands were written.
///
/// In subscribe mode the server answers (P|S)SUBSCRIBE and (P|S)UNSUBSCRIBE with one
/// confirmation per name, PING with `["pong", ""]`, and a failed command (for example NOPERM)
/// with one error, and messages are pushed in between. The server replies to commands in order,
/// so the oldest entry takes each reply that is not a message. A confirmation must name one of
/// the names the oldest command still waits for, with the same kind, so a reply that belongs to
/// no command is caught instead of being counted for another. A value type, so it is tested
/// without sockets.
struct PendingConfirmations {
    enum Expectation: Equatable {
        /// One confirmation for each name not yet confirmed. Redis confirms names in the order
        /// of the command, so the first name usually matches at once, but any order is accepted.
        case confirmations(SubscriptionKind, isSubscribe: Bool, names: ArraySlice<[UInt8]>)
        case pong
        /// `+OK` for a handshake command (AUTH, CLIENT SETNAME).
        case ok
    }

    struct Entry: Equatable {
        let id: UInt64
        var expectation: Expectation
        let isResubscribe: Bool
    }

    enum Outcome: Equatable {
        /// The entry got all its replies.
        case completed(id: UInt64)
        /// The entry got an error reply.
        case failed(id: UInt64)
        /// The last outstanding resubscribe command after a reconnect completed or failed.
        case resubscribeFinished
        /// The server ended a subscription on its own, as it does with `sunsubscribe` when a
        /// cluster slot moves.
        case serverUnsubscribed(SubscriptionKind, name: [UInt8])
        /// A reply no command waits for: the connection is out of step and must be closed.
        case unexpected(String)
    }

    private(set) var entries: [Entry] = []
    private(set) var resubscribesOutstanding = 0

    var isEmpty: Bool { entries.isEmpty }

    mutating func expect(_ id: UInt64, _ expectation: Expectation, isResubscribe: Bool = false) {
        if case .confirmations(_, _, let names) = expectation, names.isEmpty {
            preconditionFailure("a subscribe or unsubscribe command must name at least one channel")
        }
        entries.append(Entry(id: id, expectation: expectation, isResubscribe: isResubscribe))
        if isResubscribe { resubscribesOutstanding += 1 }
    }

    /// Records a `subscribe`/`unsubscribe`-style confirmation; `name` is nil when the server sent
    /// a null name, which only an UNSUBSCRIBE without names gets.
    mutating func receiveConfirmation(
        kind: SubscriptionKind, isSubscribe: Bool, name: [UInt8]?
    ) -> [Outcome] {
        guard let head = entries.first,
            case .confirmations(let expectedKind, let expectedSubscribe, var names) = head.expectation,
            expectedKind == kind, expectedSubscribe == isSubscribe,
            let name, let index = names.firstIndex(of: name)
        else {
            if !isSubscribe && kind == .shardChannel, let name {
                return [.serverUnsubscribed(kind, name: name)]
            }
            let word = commandName(kind, isSubscribe: isSubscribe).lowercased()
            let quotedName = name.map { "\"\(Self.describe($0))\"" } ?? "a null name"
            return [
                .unexpected(
                    "a \(word) confirmation for \(quotedName) arrived while \(describeHead()) was expected")
            ]
        }
        if index == names.startIndex {
            names.removeFirst()
        } else {
            names.remove(at: index)
        }
        guard names.isEmpty else {
            entries[0].expectation = .confirmations(kind, isSubscribe: isSubscribe, names: names)
            return []
        }
        return finishHead(failed: false)
    }

    mutating func receivePong() -> [Outcome] {
        guard entries.first?.expectation == .pong else {
            return [.unexpected("a PING reply arrived while \(describeHead()) was expected")]
        }
        return finishHead(failed: false)
    }

    mutating func receiveOK() -> [Outcome] {
        guard entries.first?.expectation == .ok else {
            return [.unexpected("+OK arrived while \(describeHead()) was expected")]
        }
        return finishHead(failed: false)
    }

    /// Records an error reply, which ends the oldest command whatever it expected.
    mutating func receiveError() -> [Outcome] {
        guard !entries.isEmpty else {
            return [.unexpected("an error reply arrived while no command was waiting")]
        }
        return finishHead(failed: true)
    }

    /// Forgets every entry, as when the connection is lost; returns their ids.
    mutating func reset() -> [UInt64] {
        let ids = entries.map(\.id)
        entries.removeAll()
        resubscribesOutstanding = 0
        return ids
    }

    private mutating func finishHead(failed: Bool) -> [Outcome] {
        let head = entries.removeFirst()
        var outcomes: [Outcome] = [failed ? .failed(id: head.id) : .completed(id: head.id)]
        if head.isResubscribe {
            resubscribesOutstanding -= 1
            if resubscribesOutstanding == 0 {
                outcomes.append(.resubscribeFinished)
            }
        }
        return outcomes
    }

    private func describeHead() -> String {
        switch entries.first?.expectation {
        case nil: "nothing"
        case .pong: "a PING reply"
        case .ok: "+OK"
        case .confirmations(let kind, let isSubscribe, let names):
            "a \(commandName(kind, isSubscribe: isSubscribe)) confirmation for "
                + names.prefix(3).map { "\"\(Self.describe($0))\"" }.joined(separator: ", ")
                + (names.count > 3 ? " or \(names.count - 3) more" : "")
        }
    }

    /// Renders a channel name for a message: at most 64 bytes, invalid UTF-8 replaced.
    private static func describe(_ name: [UInt8]) -> String {
        let text = String(decoding: name.prefix(64), as: UTF8.self)
        return name.count > 64 ? text + "..." : text
    }

    private func commandName(_ kind: SubscriptionKind, isSubscribe: Bool) -> String {
        String(decoding: isSubscribe ? kind.subscribeCommand : kind.unsubscribeCommand, as: UTF8.self)
    }
}

/// The map from channels, patterns and shard channels to local listeners. Many listeners share
/// one server subscription, so a name is subscribed on the server when its first listener
/// arrives and unsubscribed when its last one leaves.
struct SubscriptionRegistry {
    private(set) var listenersByKey: [SubscriptionKey: [UInt64]] = [:]
    private var keysByListener: [UInt64: [SubscriptionKey]] = [:]

    var isEmpty: Bool { listenersByKey.isEmpty }

    /// Adds a listener for `names`; returns the names that have no server subscription yet,
    /// in the given order without duplicates.
    mutating func add(listener: UInt64, kind: SubscriptionKind, names: [[UInt8]]) -> [[UInt8]] {
        var newNames: [[UInt8]] = []
        for name in names {
            let key = SubscriptionKey(kind: kind, name: name)
            if keysByListener[listener, default: []].contains(key) { continue }
            keysByListener[listener, default: []].append(key)
            if listenersByKey[key] == nil {
                newNames.append(name)
            }
            listenersByKey[key, default: []].append(listener)
        }
        return newNames
    }

    /// Removes a listener; returns, per kind, the names that lost their last listener and must
    /// be unsubscribed on the server.
    mutating func remove(listener: UInt64) -> [SubscriptionKind: [[UInt8]]] {
        guard let keys = keysByListener.removeValue(forKey: listener) else { return [:] }
        var emptied: [SubscriptionKind: [[UInt8]]] = [:]
        for key in keys {
            var listeners = listenersByKey[key] ?? []
            listeners.removeAll { $0 == listener }
            if listeners.isEmpty {
                listenersByKey.removeValue(forKey: key)
                emptied[key.kind, default: []].append(key.name)
            } else {
                listenersByKey[key] = listeners
            }
        }
        return emptied
    }

    func listeners(for key: SubscriptionKey) -> [UInt64] {
        listenersByKey[key] ?? []
    }

    func hasListeners(_ listener: UInt64) -> Bool {
        keysByListener[listener] != nil
    }

    var allListeners: [UInt64] { Array(keysByListener.keys) }

    /// Commands that subscribe every current name again, at most `batchSize` names each:
    /// SUBSCRIBE, then PSUBSCRIBE, then SSUBSCRIBE.
    func resubscribeCommands(batchSize: Int) -> [(kind: SubscriptionKind, names: [[UInt8]])] {
        var commands: [(kind: SubscriptionKind, names: [[UInt8]])] = []
        for kind in SubscriptionKind.allCases {
            let names = listenersByKey.keys.filter { $0.kind == kind }.map(\.name)
            var start = 0
            while start < names.count {
                let end = min(start + max(batchSize, 1), names.count)
                commands.append((kind, Array(names[start..<end])))
                start = end
            }
        }
        return commands
    }
}

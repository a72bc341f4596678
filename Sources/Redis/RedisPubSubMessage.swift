/// A message received on a subscription.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The kind of subscription that delivered the message.
    public enum Kind: Sendable, Hashable {
        /// `message`: a PUBLISH to a channel subscribed with SUBSCRIBE.
        case message
        /// `pmessage`: a PUBLISH to a channel matching a pattern subscribed with PSUBSCRIBE.
        case pmessage
        /// `smessage`: an SPUBLISH to a shard channel subscribed with SSUBSCRIBE.
        case smessage
    }

    public var kind: Kind
    public var channel: [UInt8]
    /// The matching pattern for ``Kind/pmessage``, otherwise nil.
    public var pattern: [UInt8]?
    public var payload: [UInt8]

    public init(kind: Kind, channel: [UInt8], pattern: [UInt8]? = nil, payload: [UInt8]) {
        self.kind = kind
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}

/// An event of a ``RedisSubscription``.
public enum RedisSubscriptionEvent: Sendable {
    case message(RedisPubSubMessage)
    /// After a reconnect, the server confirmed every channel, pattern and shard channel again.
    /// Messages published between ``disconnected(_:)`` and this event were lost.
    case resubscribed
    /// The connection was lost; the subscriber reconnects and resubscribes on its own.
    case disconnected(RedisError)
}

/// The three subscription families, each with its own subscribe and unsubscribe command.
enum SubscriptionKind: Hashable, Sendable, CaseIterable {
    case channel
    case pattern
    case shardChannel

    var subscribeCommand: [UInt8] {
        switch self {
        case .channel: Array("SUBSCRIBE".utf8)
        case .pattern: Array("PSUBSCRIBE".utf8)
        case .shardChannel: Array("SSUBSCRIBE".utf8)
        }
    }

    var unsubscribeCommand: [UInt8] {
        switch self {
        case .channel: Array("UNSUBSCRIBE".utf8)
        case .pattern: Array("PUNSUBSCRIBE".utf8)
        case .shardChannel: Array("SUNSUBSCRIBE".utf8)
        }
    }

    /// Returns the kind whose confirmation starts with `word`, and whether it confirms a subscribe.
    static func confirmation(_ word: [UInt8]) -> (SubscriptionKind, isSubscribe: Bool)? {
        switch String(decoding: word, as: UTF8.self) {
        case "subscribe": (.channel, true)
        case "psubscribe": (.pattern, true)
        case "ssubscribe": (.shardChannel, true)
        case "unsubscribe": (.channel, false)
        case "punsubscribe": (.pattern, false)
        case "sunsubscribe": (.shardChannel, false)
        default: nil
        }
    }
}

/// A channel, pattern or shard channel name with its kind.
struct SubscriptionKey: Hashable, Sendable {
    var kind: SubscriptionKind
    var name: [UInt8]
}

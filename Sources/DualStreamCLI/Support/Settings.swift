import DualStream
import Glibc
import Kafka
import Redis
import SocketTransport

/// Connection settings shared by the commands, from options first, then environment variables.
enum Settings {
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// `--brokers` or `DUALSTREAM_BROKERS`: comma-separated `host:port` list. Required, because
    /// no broker address is assumed.
    static func brokers(_ arguments: Arguments) throws(CommandError) -> [String] {
        guard let text = arguments.value("brokers") ?? environment("DUALSTREAM_BROKERS") else {
            throw .usage("no Kafka brokers given: pass --brokers HOST:PORT or set DUALSTREAM_BROKERS")
        }
        let brokers = text.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingSpaces()
        }
        if let empty = brokers.firstIndex(of: "") {
            throw .usage(
                "invalid --brokers \(text.debugDescription): entry \(empty + 1) is empty; "
                    + "expected HOST:PORT[,HOST:PORT…] without a leading, trailing or doubled comma")
        }
        for broker in brokers {
            try checkBroker(broker)
        }
        return brokers
    }

    /// Rejects a broker address that the producer cannot parse. The producer parses the same way,
    /// but its failure would surface only at start-up, as a run-time error (exit status 1) rather
    /// than as an invalid option.
    private static func checkBroker(_ broker: String) throws(CommandError) {
        let context = "invalid broker address \(broker.debugDescription) in --brokers or DUALSTREAM_BROKERS"
        // Tansu's own commands name a broker as `tcp://host:port`, but Kafka clients take
        // HOST:PORT. Without this check the parser reads the colons as an IPv6 address.
        if let schemeEnd = broker.firstRange(of: "://") {
            let scheme = broker[..<schemeEnd.lowerBound]
            throw .usage(
                "\(context): a scheme (\(scheme)://) is not allowed; write HOST:PORT, "
                    + "as in \(broker[schemeEnd.upperBound...].debugDescription)")
        }
        do {
            _ = try Endpoint.parse(broker)
        } catch {
            // The parser's message repeats the address, so only its reason is kept. Its IPv6
            // example uses the Redis port, so a Kafka port replaces it here.
            var reason = error.description
            let repeated = "invalid endpoint '\(broker)': "
            if reason.hasPrefix(repeated) { reason.removeFirst(repeated.count) }
            reason = reason.replacing("[::1]:6379", with: "[::1]:9092")
            throw .usage("\(context): \(reason)")
        }
    }

    /// `--topic` or `DUALSTREAM_TOPIC`, default `events`.
    static func topic(_ arguments: Arguments) -> String {
        arguments.value("topic") ?? environment("DUALSTREAM_TOPIC") ?? "events"
    }

    /// `--redis-url` or `DUALSTREAM_REDIS_URL`; `nil` with `--no-redis`. Error messages show the
    /// URL's endpoint only, never its credentials.
    static func redis(_ arguments: Arguments, allowDisabling: Bool) throws(CommandError)
        -> RedisConfiguration?
    {
        let disabled = allowDisabling && arguments.flag("no-redis")
        let url = arguments.value("redis-url") ?? environment("DUALSTREAM_REDIS_URL")
        if disabled { return nil }
        guard let url else {
            let hint = allowDisabling ? ", or pass --no-redis to publish to Kafka only" : ""
            throw .usage(
                "no Redis URL given: pass --redis-url redis://HOST:PORT or set DUALSTREAM_REDIS_URL\(hint)")
        }
        do {
            return try RedisConfiguration(url: url)
        } catch {
            throw .usage("invalid Redis URL in --redis-url or DUALSTREAM_REDIS_URL: \(error.message)")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}

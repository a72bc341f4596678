import DualStream
import DualStreamLogging
import Redis

/// `dualstream subscribe`: prints every message of the given channels and patterns as one JSON
/// line, `{"channel":…,"pattern":…,"message":…}`. A message that is a JSON object (every
/// notification is) is embedded as is; any other message becomes a JSON string.
enum SubscribeCommand {
    static let help = """
        Usage: dualstream subscribe [options] CHANNEL|PATTERN...

        Subscribes to Redis channels and prints each message as one JSON line on standard output:
          {"channel":"events:repo:octocat/hello","pattern":"events:*","message":{…}}
        An argument containing *, ? or [ is a pattern (PSUBSCRIBE), any other a channel
        (SUBSCRIBE). The subscriber reconnects and subscribes again after a connection loss, and
        reports that on standard error.

        Options:
          --redis-url URL    redis://[user:password@]host[:port][/db] or unix:///path
                             (env DUALSTREAM_REDIS_URL); the password is never printed
          --count N          exit after N messages
          --timeout SEC      exit after SEC seconds
          --log-level LEVEL  trace, debug, info, notice, warning (default), error, critical
        """

    static func run(arguments list: [String]) async throws(CommandError) -> Int32 {
        let arguments = try Arguments(
            list, command: "subscribe", valued: ["redis-url", "count", "timeout", "log-level"], flags: [])
        guard var configuration = try Settings.redis(arguments, allowDisabling: false) else {
            throw .usage("no Redis URL given")
        }
        let count = try arguments.integer("count", range: 1...Int.max)
        let timeout = try arguments.seconds("timeout")
        let logger = try StandardErrorLogHandler.logger(
            label: "dualstream", level: arguments.value("log-level"))
        let targets = arguments.positional
        guard !targets.isEmpty else {
            throw .usage("no channel or pattern given; for example: dualstream subscribe 'events:*'")
        }
        let patterns = targets.filter(isPattern).map { Array($0.utf8) }
        let channels = targets.filter { !isPattern($0) }.map { Array($0.utf8) }
        configuration.clientName = "dualstream-subscribe"

        let subscriber = RedisSubscriber(configuration: configuration, logger: logger)
        var subscriptions: [RedisSubscription] = []
        do {
            if !channels.isEmpty {
                subscriptions.append(try await subscriber.subscribe(channels: channels))
            }
            if !patterns.isEmpty {
                subscriptions.append(try await subscriber.psubscribe(patterns: patterns))
            }
        } catch {
            await subscriber.close()
            throw .failure("cannot subscribe: \(error)")
        }
        Output.error("subscribed to \(targets.joined(separator: " ")) at \(configuration.endpoint)")

        let printed = await printMessages(subscriptions, count: count, timeout: timeout)
        await subscriber.close()
        if let count, printed < count {
            Output.error("stopped after \(printed) of \(count) messages")
        }
        return ExitStatus.success
    }

    private static func isPattern(_ target: String) -> Bool {
        target.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" })
    }

    /// Prints messages until `count` were printed, `timeout` passed or every subscription ended.
    private static func printMessages(
        _ subscriptions: [RedisSubscription], count: Int?, timeout: Duration?
    ) async -> Int {
        await withTaskGroup(of: Int.self) { group in
            let counter = MessageCounter(limit: count)
            for subscription in subscriptions {
                group.addTask {
                    var printed = 0
                    for await event in subscription {
                        switch event {
                        case .message(let message):
                            guard counter.claim() else { return printed }
                            Output.lineBytes(render(message))
                            printed += 1
                            if counter.isDone { return printed }
                        case .resubscribed:
                            Output.error("reconnected and subscribed again")
                        case .disconnected(let error):
                            Output.error("disconnected: \(error); reconnecting")
                        }
                    }
                    return printed
                }
            }
            if let timeout {
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return 0
                }
            }
            var total = 0
            while let printed = await group.next() {
                total += printed
                if counter.isDone || timeout != nil {
                    break
                }
            }
            group.cancelAll()
            return counter.claimed
        }
    }

    static func render(_ message: RedisPubSubMessage) -> [UInt8] {
        var output = Array(#"{"channel":"#.utf8)
        JSONString.append(String(decoding: message.channel, as: UTF8.self), to: &output)
        if let pattern = message.pattern {
            output.append(contentsOf: Array(#","pattern":"#.utf8))
            JSONString.append(String(decoding: pattern, as: UTF8.self), to: &output)
        }
        output.append(contentsOf: Array(#","message":"#.utf8))
        if case .some(.object) = try? JSONParser.parse(message.payload),
            !message.payload.contains(UInt8(ascii: "\n"))
        {
            output.append(contentsOf: message.payload)
        } else {
            JSONString.append(String(decoding: message.payload, as: UTF8.self), to: &output)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }
}

import DualStream
import DualStreamLogging
import Kafka
import Redis

/// The action for a line that is not valid JSON or lacks a mapped field.
enum InvalidLinePolicy: String {
    case skip
    case stop
}

/// The parsed options of `dualstream publish`.
struct PublishOptions {
    static let valued: Set<String> = [
        "brokers", "topic", "redis-url", "preset", "id-path", "type-path", "type", "source-type",
        "source-type-path", "source-id-path", "on-invalid", "batch-size", "delivery-timeout",
        "close-timeout", "max-block", "buffer-memory", "log-level",
    ]
    static let flags: Set<String> = ["no-redis", "hash-missing-ids", "dry-run", "summary-json"]

    var files: [String]
    var mapping: EventMapping
    var onInvalid: InvalidLinePolicy
    var batchSize: Int
    var dryRun: Bool
    var summaryJSON: Bool
    var brokers: [String] = []
    var topic: String
    var redis: RedisConfiguration?
    var deliveryTimeout: Duration
    var closeTimeout: Duration
    /// At most `deliveryTimeout`: a larger `--max-block` is lowered to it with a warning.
    var maxBlock: Duration
    /// Bytes of Kafka records the producer may hold, waiting or in flight.
    var bufferMemory: Int
    var logger: Logger

    init(arguments list: [String]) throws(CommandError) {
        let arguments = try Arguments(list, command: "publish", valued: Self.valued, flags: Self.flags)
        files = arguments.positional.isEmpty ? ["-"] : arguments.positional
        mapping = try Self.mapping(arguments)
        let policy = arguments.value("on-invalid") ?? "skip"
        guard let onInvalid = InvalidLinePolicy(rawValue: policy) else {
            throw .usage("invalid --on-invalid \(policy): expected skip or stop")
        }
        self.onInvalid = onInvalid
        batchSize = try arguments.integer("batch-size", range: 1...100_000) ?? 1_000
        dryRun = arguments.flag("dry-run")
        summaryJSON = arguments.flag("summary-json")
        topic = Settings.topic(arguments)
        deliveryTimeout = try arguments.seconds("delivery-timeout") ?? .seconds(120)
        closeTimeout = try arguments.seconds("close-timeout") ?? .seconds(5)
        let requestedMaxBlock = try arguments.seconds("max-block")
        maxBlock = min(requestedMaxBlock ?? .seconds(60), deliveryTimeout)
        if let requestedMaxBlock, requestedMaxBlock > deliveryTimeout {
            let timeout = arguments.value("delivery-timeout") ?? "120"
            Output.error(
                "warning: --max-block \(arguments.value("max-block") ?? "") is above --delivery-timeout "
                    + "\(timeout); events wait at most \(timeout) s")
        }
        let bufferMebibytes = try arguments.integer("buffer-memory", range: 1...4_096, unit: "MiB") ?? 32
        bufferMemory = bufferMebibytes * 1_048_576
        logger = try StandardErrorLogHandler.logger(label: "dualstream", level: arguments.value("log-level"))
        if !dryRun {
            brokers = try Settings.brokers(arguments)
            redis = try Settings.redis(arguments, allowDisabling: true)
        }
    }

    private static func mapping(_ arguments: Arguments) throws(CommandError) -> EventMapping {
        var mapping = EventMapping()
        if let preset = arguments.value("preset") {
            guard preset == "github" else {
                throw .usage("unknown --preset \(preset): the only preset is github")
            }
            mapping = .github
        }
        if let path = arguments.value("id-path") {
            mapping.id = .path(EventMapping.parsePath(path))
        }
        if let path = arguments.value("type-path") {
            mapping.type = .path(EventMapping.parsePath(path))
        }
        if let type = arguments.value("type") {
            mapping.type = .fixed(type)
        }
        if let sourceType = arguments.value("source-type") {
            mapping.sourceType = .fixed(sourceType)
        }
        if let path = arguments.value("source-type-path") {
            mapping.sourceType = .path(EventMapping.parsePath(path))
        }
        if let path = arguments.value("source-id-path") {
            mapping.sourceID = .path(EventMapping.parsePath(path))
            mapping.githubRepositoryFallback = false
        }
        if arguments.flag("hash-missing-ids") {
            mapping.hashMissingIDs = true
        }
        return mapping
    }

    static let help = """
        Usage: dualstream publish [options] [FILE...]

        Reads JSON lines from the files (or standard input when none is given, or for -), maps
        each line to an event and publishes it: the line, byte for byte, as the value of a Kafka
        record keyed by the source id, then a notification on the Redis channel
        events:{source_type}:{source_id}.

        Connection:
          --brokers HOST:PORT[,…]   Kafka bootstrap brokers (env DUALSTREAM_BROKERS)
          --topic NAME              Kafka topic (env DUALSTREAM_TOPIC, default events)
          --redis-url URL           redis://[user:password@]host[:port][/db] or unix:///path
                                    (env DUALSTREAM_REDIS_URL); the password is never printed
          --no-redis                publish to Kafka only

        Mapping (JSON paths are dot-separated keys and array indexes, for example repo.name):
          --preset github           GH Archive events: id, type, source type repo, source id
                                    repo.name or, for 2014 events, repository.owner/repository.name,
                                    and ids derived from the line for events without one
          --id-path PATH            event id (default id)
          --type-path PATH          event type (default type)
          --type NAME               one event type for every line
          --source-type NAME        one source type for every line (default repo)
          --source-type-path PATH   source type from each line
          --source-id-path PATH     source id (default repo.name)
          --hash-missing-ids        derive a missing id: fnv1a64- and the 64-bit FNV-1a hash of
                                    the line in hex

        Behaviour:
          --on-invalid skip|stop    report an invalid line and continue (default), or stop there
          --batch-size N            events per Kafka batch and Redis pipeline (default 1000)
          --delivery-timeout SEC    how long Kafka may take to acknowledge an event (default 120)
          --close-timeout SEC       how long to wait at the end for notifications (default 5)
          --max-block SEC           how long an event may wait for a reachable broker, the
                                    topic's metadata or buffer space before it fails (default 60;
                                    a larger value than --delivery-timeout is lowered to it,
                                    with a warning)
          --buffer-memory MIB       MiB of memory for records waiting for Kafka (default 32);
                                    when it stays full for --max-block, events fail
          --dry-run                 print each mapped event as JSON and publish nothing
          --summary-json            print the final summary as one JSON object
          --log-level LEVEL         trace, debug, info, notice, warning (default), error, critical

        Exit status: 0 when every event was acknowledged by Kafka (invalid lines skipped with
        --on-invalid skip are listed but do not count), 1 when some were not (the summary lists
        their lines), 2 for invalid options, 3 when --on-invalid stop stopped at a line.
        """
}

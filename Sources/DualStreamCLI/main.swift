import Glibc

let usage = """
    Usage: dualstream COMMAND [options]

    Publishes events to Kafka and, once Kafka acknowledged them, notifications to Redis Pub/Sub
    channels events:{source_type}:{source_id}.

    Commands:
      publish     publish JSON lines from files or standard input
      subscribe   print the notifications of channels or patterns as JSON lines
      help        show this text, or `dualstream help COMMAND` for a command's options

    Settings come from options or from DUALSTREAM_BROKERS, DUALSTREAM_TOPIC and
    DUALSTREAM_REDIS_URL.
    """

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
do {
    switch arguments.first {
    case nil, "help", "--help", "-h":
        switch arguments.dropFirst().first {
        case "publish": Output.line(PublishOptions.help)
        case "subscribe": Output.line(SubscribeCommand.help)
        case nil, "help", "--help", "-h": Output.line(usage)
        case let command?:
            throw CommandError.usage("unknown command \(command.debugDescription); see dualstream --help")
        }
        status = arguments.isEmpty ? ExitStatus.usage : ExitStatus.success
    case "publish":
        if arguments.contains("--help") || arguments.contains("-h") {
            Output.line(PublishOptions.help)
            status = ExitStatus.success
        } else {
            status = try await PublishCommand.run(arguments: Array(arguments.dropFirst()))
        }
    case "subscribe":
        if arguments.contains("--help") || arguments.contains("-h") {
            Output.line(SubscribeCommand.help)
            status = ExitStatus.success
        } else {
            status = try await SubscribeCommand.run(arguments: Array(arguments.dropFirst()))
        }
    case let command?:
        throw CommandError.usage("unknown command \(command.debugDescription); see dualstream --help")
    }
} catch let error as CommandError {
    Output.error("dualstream: \(error.message)")
    status = error.exitStatus
} catch {
    Output.error("dualstream: \(error)")
    status = ExitStatus.notAcknowledged
}
exit(status)

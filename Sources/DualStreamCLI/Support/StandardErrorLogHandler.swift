import DualStreamLogging

/// Writes log records to standard error as `level label: message key=value …`, keys sorted.
struct StandardErrorLogHandler: LogHandler {
    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata, label: String,
        file: String, function: String, line: UInt
    ) {
        var text = "\(level) \(label): \(message)"
        for key in metadata.keys.sorted() {
            text += " \(key)=\(metadata[key]!)"
        }
        Output.error(text)
    }

    static func logger(label: String, level: String?) throws(CommandError) -> Logger {
        let name = level ?? "warning"
        guard let parsed = Logger.Level.allCases.first(where: { $0.description == name }) else {
            let names = Logger.Level.allCases.map(\.description).joined(separator: ", ")
            throw .usage("invalid --log-level \(name): expected one of \(names)")
        }
        return Logger(label: label, handler: StandardErrorLogHandler(), logLevel: parsed)
    }
}

import DualStreamLogging
import Foundation

/// Writes log records to standard error when `KAFKA_TEST_LOG` is set (to a level name, e.g. `trace`).
struct StandardErrorLogHandler: LogHandler {
    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata, label: String,
        file: String, function: String, line: UInt
    ) {
        let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        FileHandle.standardError.write(Data("\(Date()) \(level) \(message) \(fields)\n".utf8))
    }
}

enum TestLogging {
    static var logger: Logger {
        guard let name = ProcessInfo.processInfo.environment["KAFKA_TEST_LOG"],
              let level = Logger.Level.allCases.first(where: { $0.description == name })
        else { return .silent }
        return Logger(label: "kafka.test", handler: StandardErrorLogHandler(), logLevel: level)
    }
}

/// A logger with the shape of swift-log's `Logger`: levels, a label, structured metadata and a
/// replaceable handler.
///
/// The library never creates a global logger. Each client takes one in its initializer and is
/// silent by default (``Logger/silent``). `docs/logging.md` shows how to forward records to
/// swift-log's `LoggingSystem` from an application.
public struct Logger: Sendable {
    /// Severity, ordered from most to least verbose, with the same cases as swift-log.
    public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case trace
        case debug
        case info
        case notice
        case warning
        case error
        case critical

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .notice: "notice"
            case .warning: "warning"
            case .error: "error"
            case .critical: "critical"
            }
        }
    }

    /// A fixed log message. Values belong in metadata, not in the message text.
    public struct Message: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
        public var description: String

        public init(stringLiteral value: String) { self.description = value }
        public init(_ value: String) { self.description = value }
    }

    /// A metadata value: a string, or a nested dictionary or array of values.
    public enum MetadataValue: Sendable, Equatable, CustomStringConvertible,
        ExpressibleByStringLiteral, ExpressibleByStringInterpolation
    {
        case string(String)
        case dictionary([String: MetadataValue])
        case array([MetadataValue])

        public init(stringLiteral value: String) { self = .string(value) }

        public var description: String {
            switch self {
            case .string(let value): value
            case .dictionary(let value): value.description
            case .array(let value): value.description
            }
        }
    }

    /// Metadata keys are dot-separated, for example `kafka.partition`.
    public typealias Metadata = [String: MetadataValue]

    public let label: String
    public var handler: any LogHandler
    /// Records below this level are dropped before the handler is called.
    public var logLevel: Level
    /// Metadata attached to every record of this logger.
    public var metadata: Metadata

    public init(label: String, handler: any LogHandler, logLevel: Level = .info, metadata: Metadata = [:]) {
        self.label = label
        self.handler = handler
        self.logLevel = logLevel
        self.metadata = metadata
    }

    /// A logger that drops every record: the default of every client in this package.
    public static var silent: Logger {
        Logger(label: "dualstream.silent", handler: SilentLogHandler(), logLevel: .critical)
    }

    public subscript(metadataKey key: String) -> MetadataValue? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    @inlinable
    public func log(
        level: Level,
        _ message: @autoclosure () -> Message,
        metadata: @autoclosure () -> Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        guard level >= logLevel else { return }
        var merged = self.metadata
        if let extra = metadata() {
            merged.merge(extra) { _, new in new }
        }
        handler.log(
            level: level, message: message(), metadata: merged, label: label,
            file: file, function: function, line: line
        )
    }

    @inlinable
    public func trace(
        _ message: @autoclosure () -> Message, metadata: @autoclosure () -> Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .trace, message(), metadata: metadata(), file: file, function: function, line: line)
    }

    @inlinable
    public func debug(
        _ message: @autoclosure () -> Message, metadata: @autoclosure () -> Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .debug, message(), metadata: metadata(), file: file, function: function, line: line)
    }

    @inlinable
    public func info(
        _ message: @autoclosure () -> Message, metadata: @autoclosure () -> Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .info, message(), metadata: metadata(), file: file, function: function, line: line)
    }

    @inlinable
    public func warning(
        _ message: @autoclosure () -> Message, metadata: @autoclosure () -> Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .warning, message(), metadata: metadata(), file: file, function: function, line: line)
    }

    @inlinable
    public func error(
        _ message: @autoclosure () -> Message, metadata: @autoclosure () -> Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .error, message(), metadata: metadata(), file: file, function: function, line: line)
    }
}

/// Receives the records that pass a ``Logger``'s level. Implementations must be thread-safe,
/// because clients log from their I/O threads.
public protocol LogHandler: Sendable {
    func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata: Logger.Metadata,
        label: String,
        file: String,
        function: String,
        line: UInt
    )
}

/// Drops every record.
public struct SilentLogHandler: LogHandler {
    public init() {}

    public func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata, label: String,
        file: String, function: String, line: UInt
    ) {}
}

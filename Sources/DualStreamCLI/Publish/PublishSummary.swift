import DualStream

/// Counts of one `publish` run and how they are printed at the end.
struct PublishSummary {
    var eventsRead = 0
    var acknowledged = 0
    var failedLines = InputLines()
    /// The first ids of events that were not acknowledged.
    var failedIDs: [String] = []
    /// Events not acknowledged, by the producer's error code, in the order the causes appeared.
    var failureCauses = CauseCounts()
    var invalidLines = InputLines()
    var publishDuration: Duration = .zero
    var statistics = DualPublisherStatistics()
    var stoppedAt: (input: String, line: Int)?
    /// The producer's error code that stopped the run after a whole batch failed.
    var stopCause: String?
    /// Inputs that were not read to their end after the stop (pipes, terminals), with the first
    /// line not read.
    var unreadInputs: [(name: String, line: Int)] = []

    var seconds: Double {
        let (whole, fraction) = publishDuration.components
        return Double(whole) + Double(fraction) / 1e18
    }

    var eventsPerSecond: Double {
        seconds > 0 ? Double(acknowledged) / seconds : 0
    }

    func print(json: Bool, redisEnabled: Bool) {
        if json {
            Output.line(jsonText(redisEnabled: redisEnabled))
            return
        }
        let rate = Int(eventsPerSecond.rounded())
        Output.line(
            "read \(counted(eventsRead, "event")) in \(formatted(seconds)) s (\(rate) events/s): "
                + "\(acknowledged) acknowledged by Kafka, \(failedLines.count) not acknowledged")
        if redisEnabled {
            Output.line(
                "notifications: \(statistics.redisSent) sent, \(statistics.redisFailed) failed, "
                    + "\(statistics.redisDropped) dropped")
        } else {
            Output.line("notifications: disabled (--no-redis)")
        }
        if let p50 = statistics.kafkaAckLatencyP50, let p99 = statistics.kafkaAckLatencyP99 {
            Output.line(
                "Kafka acknowledgement latency: p50 \(milliseconds(p50)) ms, p99 \(milliseconds(p99)) ms")
        }
        if invalidLines.count > 0 {
            Output.line("invalid lines skipped: \(invalidLines.count) (\(invalidLines.rendered()))")
        }
        if failedLines.count > 0 {
            Output.line("not acknowledged: \(failedLines.rendered())")
            Output.line("not acknowledged by cause: \(failureCauses.rendered())")
            Output.line("first ids not acknowledged: \(failedIDs.joined(separator: ", "))")
            Output.line("to resume, publish those lines again")
        }
        if let stopCause {
            Output.line(
                "stopped after a whole batch failed with \(stopCause); "
                    + "the lines after it were not sent (notSent)")
        }
        for input in unreadInputs {
            Output.line("not read: \(input.name) from line \(input.line) on; publish it again from there")
        }
        if let stoppedAt {
            Output.line(
                "stopped at invalid line \(stoppedAt.line) of \(stoppedAt.input) (--on-invalid stop); "
                    + "the lines before it were published")
        }
    }

    private func jsonText(redisEnabled: Bool) -> String {
        var output: [UInt8] = []
        func key(_ name: String) {
            output.append(contentsOf: Array((output.isEmpty ? "{" : ",").utf8))
            JSONString.append(name, to: &output)
            output.append(UInt8(ascii: ":"))
        }
        func number(_ name: String, _ value: Int) {
            key(name)
            output.append(contentsOf: Array(String(value).utf8))
        }
        func strings(_ name: String, _ values: [String]) {
            key(name)
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONString.append(value, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        }
        number("events", eventsRead)
        number("acknowledged", acknowledged)
        number("not_acknowledged", failedLines.count)
        number("invalid_lines", invalidLines.count)
        key("redis_enabled")
        output.append(contentsOf: Array((redisEnabled ? "true" : "false").utf8))
        number("notifications_sent", statistics.redisSent)
        number("notifications_failed", statistics.redisFailed)
        number("notifications_dropped", statistics.redisDropped)
        key("seconds")
        output.append(contentsOf: Array(formatted(seconds, digits: 6).utf8))
        number("events_per_second", Int(eventsPerSecond.rounded()))
        strings("not_acknowledged_lines", failedLines.renderedList())
        strings("not_acknowledged_ids", failedIDs)
        key("not_acknowledged_by_cause")
        output.append(UInt8(ascii: "{"))
        for (index, entry) in failureCauses.entries.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONString.append(entry.cause, to: &output)
            output.append(contentsOf: Array(":\(entry.count)".utf8))
        }
        output.append(UInt8(ascii: "}"))
        strings("invalid_lines_list", invalidLines.renderedList())
        key("stopped")
        output.append(contentsOf: Array((stoppedAt == nil ? "false" : "true").utf8))
        key("stop_cause")
        if let stopCause {
            JSONString.append(stopCause, to: &output)
        } else {
            output.append(contentsOf: Array("null".utf8))
        }
        strings("not_read", unreadInputs.map { "\($0.name):\($0.line)-" })
        output.append(UInt8(ascii: "}"))
        return String(decoding: output, as: UTF8.self)
    }

    private func milliseconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return formatted(Double(whole) * 1_000 + Double(fraction) / 1e15)
    }

    /// Fixed-point text without Foundation's formatters.
    private func formatted(_ value: Double, digits: Int = 2) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        let fraction = String(scaled % Int(scale))
        return "\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}

/// `count` and `noun`, with an "s" unless the count is 1: "1 event", "2 events".
func counted(_ count: Int, _ noun: String) -> String {
    count == 1 ? "\(count) \(noun)" : "\(count) \(noun)s"
}

/// Counts by cause, kept in the order the causes first appeared.
struct CauseCounts {
    private(set) var entries: [(cause: String, count: Int)] = []

    func count(_ cause: String) -> Int {
        entries.first { $0.cause == cause }?.count ?? 0
    }

    mutating func add(_ cause: String) {
        if let index = entries.firstIndex(where: { $0.cause == cause }) {
            entries[index].count += 1
        } else {
            entries.append((cause, 1))
        }
    }

    /// "timedOut 681, bufferFull 2319".
    func rendered() -> String {
        entries.map { "\($0.cause) \($0.count)" }.joined(separator: ", ")
    }
}

import DualStreamLogging
import Synchronization

/// Counts the Produce requests a `KafkaProducer` sends, from its trace record
/// "kafka produce request", so a throughput run can report request sizes and pipeline depth.
final class ProduceRequestStats: LogHandler {
    struct Totals {
        var requests = 0
        var batches = 0
        var records = 0
        var bytes = 0
        /// Requests by the number already in flight on the connection when each was sent.
        var inFlightAtSend = [Int](repeating: 0, count: 6)
    }

    private let totals = Mutex(Totals())

    /// A trace-level logger whose records go to this counter.
    var logger: Logger { Logger(label: "bench.produce", handler: self, logLevel: .trace) }

    func reset() { totals.withLock { $0 = Totals() } }

    var snapshot: Totals { totals.withLock { $0 } }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata, label: String,
        file: String, function: String, line: UInt
    ) {
        guard message.description == "kafka produce request" else { return }
        func integer(_ key: String) -> Int { Int(metadata[key]?.description ?? "") ?? 0 }
        let batches = integer("kafka.batches")
        let records = integer("kafka.records")
        let bytes = integer("kafka.bytes")
        let inFlight = integer("kafka.in_flight")
        totals.withLock { totals in
            totals.requests += 1
            totals.batches += batches
            totals.records += records
            totals.bytes += bytes
            totals.inFlightAtSend[min(max(inFlight, 0), totals.inFlightAtSend.count - 1)] += 1
        }
    }

    /// Returns the JSON fields a throughput run adds. `seconds` is the time the counted requests took.
    static func fields(_ totals: Totals, seconds: Double) -> [String: Any] {
        let requests = max(totals.requests, 1)
        return [
            "produce_requests": totals.requests,
            "produce_requests_per_second": Double(totals.requests) / seconds,
            "mean_request_bytes": Double(totals.bytes) / Double(requests),
            "mean_batches_per_request": Double(totals.batches) / Double(requests),
            "mean_records_per_batch": Double(totals.records) / Double(max(totals.batches, 1)),
            "in_flight_at_send": totals.inFlightAtSend,
        ]
    }
}

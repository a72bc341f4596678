import DualStream
import DualStreamLogging
import Kafka

/// `dualstream publish`: reads JSON lines, publishes them in batches and prints a summary.
struct PublishCommand {
    /// An event with the input position it came from.
    struct Located {
        var event: Event
        var input: String
        var line: Int
    }

    private let options: PublishOptions
    private var summary = PublishSummary()
    private var batch: [Located] = []
    /// The error code of a batch that failed as a whole for a reason no event can avoid, such as
    /// no reachable broker. Once it is set, the run stops reading.
    private var stopCause: KafkaProducerError.Code?
    private var errorsPrinted = 0
    private var printedFurtherFailuresLine = false
    private var lastProgress = ContinuousClock.now
    private let showProgress = Output.standardErrorIsTerminal

    static func run(arguments: [String]) async throws(CommandError) -> Int32 {
        let options = try PublishOptions(arguments: arguments)
        if options.dryRun {
            return try DryRun.run(options)
        }
        var command = PublishCommand(options: options)
        return try await command.publishAll()
    }

    private init(options: PublishOptions) {
        self.options = options
    }

    private mutating func publishAll() async throws(CommandError) -> Int32 {
        var kafka = KafkaProducerConfiguration(bootstrapServers: options.brokers)
        kafka.clientID = "dualstream-publish"
        kafka.deliveryTimeout = options.deliveryTimeout
        kafka.requestTimeout = min(kafka.requestTimeout, options.deliveryTimeout)
        kafka.maxBlock = min(options.maxBlock, options.deliveryTimeout)
        kafka.bufferMemory = options.bufferMemory
        kafka.batchSize = min(kafka.batchSize, options.bufferMemory)
        var redis = options.redis
        redis?.clientName = "dualstream-publish"
        // Reconnect attempts are cheap, and notifications resume sooner after Redis restarts.
        redis?.reconnectBackoffMaximum = .milliseconds(250)
        var configuration = DualPublisherConfiguration(topic: options.topic)
        configuration.closeTimeout = options.closeTimeout
        configuration.kafkaCloseTimeout = options.deliveryTimeout
        let publisher: DualPublisher
        do {
            publisher = try DualPublisher(
                kafka: kafka, redis: redis, configuration: configuration, logger: options.logger)
        } catch {
            throw .failure("cannot start publishing: \(error)")
        }

        let started = ContinuousClock.now
        var stoppedAt: (input: String, line: Int)?
        var interrupted: (reader: LineReader, line: Int, nextFile: Int)?
        inputs: for (fileIndex, file) in options.files.enumerated() {
            let reader = try LineReader(path: file)
            var lineNumber = 0
            while true {
                // A live stream (a pipe, a FIFO) may pause: publish what is batched rather than
                // hold it until the batch fills.
                if !batch.isEmpty && !reader.hasInputReady {
                    await flush(publisher)
                }
                if stopCause != nil {
                    interrupted = (reader, lineNumber, fileIndex + 1)
                    break inputs
                }
                guard let line = try reader.next() else { break }
                lineNumber += 1
                switch map(line) {
                case .blank:
                    continue
                case .event(let event):
                    summary.eventsRead += 1
                    batch.append(Located(event: event, input: reader.name, line: lineNumber))
                    if batch.count >= options.batchSize {
                        await flush(publisher)
                    }
                case .invalid(let reason):
                    reportInvalid(input: reader.name, line: lineNumber, reason: reason)
                    if options.onInvalid == .stop {
                        stoppedAt = (reader.name, lineNumber)
                        break inputs
                    }
                }
            }
        }
        await flush(publisher)
        if let interrupted {
            try listUnsent(interrupted.reader, after: interrupted.line, nextFile: interrupted.nextFile)
        }
        summary.publishDuration = ContinuousClock.now - started
        if showProgress { Output.write(2, "\r\u{1B}[K") }
        await publisher.close()
        summary.statistics = publisher.statistics
        summary.stoppedAt = stoppedAt
        summary.stopCause = stopCause.map { "\($0)" }
        summary.print(json: options.summaryJSON, redisEnabled: options.redis != nil)

        if stoppedAt != nil { return ExitStatus.stoppedAtInvalidLine }
        return summary.failedLines.count > 0 ? ExitStatus.notAcknowledged : ExitStatus.success
    }

    private enum Mapped {
        case blank
        case event(Event)
        case invalid(String)
    }

    private func map(_ line: LineReader.Line) -> Mapped {
        switch line {
        case .tooLong(let length):
            return .invalid(
                "line of \(length) bytes is longer than the maximum of \(LineReader.maxLineBytes)")
        case .bytes(let bytes):
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return .blank }
            do {
                let event = try options.mapping.event(from: bytes)
                _ = try event.validatedChannel()
                return .event(event)
            } catch let error as LineError {
                return .invalid(error.description)
            } catch {
                return .invalid("\(error)")
            }
        }
    }

    private mutating func flush(_ publisher: DualPublisher) async {
        guard !batch.isEmpty else { return }
        let results = await publisher.publishBatch(batch.map(\.event))
        for (located, result) in zip(batch, results) {
            switch result {
            case .success:
                summary.acknowledged += 1
            case .failure(let error):
                summary.failedLines.insert(input: located.input, line: located.line)
                if summary.failedIDs.count < 10 { summary.failedIDs.append(located.event.id) }
                reportFailure(located, error)
            }
        }
        if let cause = Self.runStopCause(results) {
            stopCause = cause
            Output.error(
                "error: stopped reading: a whole batch failed with \(cause), which no event can avoid; "
                    + "the summary lists the lines not published")
        }
        batch.removeAll(keepingCapacity: true)
        printProgress()
    }

    /// Returns the error code that stops the run, or `nil`. The run stops when every event of the
    /// batch failed and at least one failed because no broker was reachable or the topic's
    /// metadata was not available within `--max-block`. Events that failed for their own reasons
    /// (too large, invalid) do not stop the run, because the next batch may succeed.
    private static func runStopCause(
        _ results: [Result<RecordMetadata, DualStreamError>]
    ) -> KafkaProducerError.Code? {
        var cause: KafkaProducerError.Code?
        for result in results {
            guard case .failure(let error) = result else { return nil }
            if let code = error.kafkaError?.code, code == .notConnected || code == .unknownTopic {
                cause = cause ?? code
            }
        }
        return cause
    }

    /// Lists the lines after a stop as not acknowledged, so the summary names every line to
    /// publish again. Regular files are read to their end, without publishing. A pipe or a
    /// terminal may never end, so it is listed from the next line on instead.
    private mutating func listUnsent(
        _ reader: LineReader, after line: Int, nextFile: Int
    ) throws(CommandError) {
        let readers = [reader] + (try options.files[nextFile...].map { file throws(CommandError) in
            try LineReader(path: file)
        })
        for (index, reader) in readers.enumerated() {
            var lineNumber = index == 0 ? line : 0
            guard reader.isRegularFile else {
                summary.unreadInputs.append((reader.name, lineNumber + 1))
                continue
            }
            while let next = try reader.next() {
                lineNumber += 1
                switch map(next) {
                case .blank:
                    continue
                case .event:
                    summary.eventsRead += 1
                    summary.failedLines.insert(input: reader.name, line: lineNumber)
                    summary.failureCauses.add("notSent")
                case .invalid(let reason):
                    reportInvalid(input: reader.name, line: lineNumber, reason: reason)
                }
            }
        }
    }

    /// Prints the first five failures and the first failure of every further cause, so a cause
    /// that starts late (a full buffer after a run of timeouts) is still explained once.
    private mutating func reportFailure(_ located: Located, _ error: DualStreamError) {
        let cause = error.kafkaError.map { "\($0.code)" } ?? (error.isClosed ? "closed" : "invalidEvent")
        let isNewCause = summary.failureCauses.count(cause) == 0
        summary.failureCauses.add(cause)
        errorsPrinted += 1
        if errorsPrinted <= 5 || isNewCause {
            let message = Self.withOptionNames(error.message)
            Output.error("error: \(located.input) line \(located.line): \(message)")
        } else if !printedFurtherFailuresLine {
            printedFurtherFailuresLine = true
            Output.error("error: further failures are counted in the summary")
        }
    }

    /// Replaces the producer's setting names in a library message with the options that set
    /// them here, so the message names something the user can change.
    static func withOptionNames(_ message: String) -> String {
        message
            .replacing("check bootstrapServers", with: "check --brokers (or DUALSTREAM_BROKERS)")
            .replacing("maxBlock", with: "--max-block")
            .replacing("bufferMemory", with: "--buffer-memory")
    }

    private mutating func reportInvalid(input: String, line: Int, reason: String) {
        summary.invalidLines.insert(input: input, line: line)
        let count = summary.invalidLines.count
        if count <= 20 {
            Output.error("invalid line \(line) of \(input): \(reason)")
        } else if count == 21 {
            Output.error("further invalid lines are listed in the summary")
        }
    }

    private mutating func printProgress() {
        guard showProgress, ContinuousClock.now - lastProgress >= .milliseconds(500) else { return }
        lastProgress = .now
        Output.write(
            2,
            "\r\u{1B}[Kread \(counted(summary.eventsRead, "event")): "
                + "\(summary.acknowledged) acknowledged, \(summary.failedLines.count) failed")
    }
}

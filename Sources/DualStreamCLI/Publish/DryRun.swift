import DualStream

/// `publish --dry-run`: maps every line and prints the event it would publish, one JSON object
/// a line: `{"line":…,"id":…,"type":…,"source_type":…,"source_id":…,"channel":…}`. Needs no
/// server, so it checks a mapping before a real run.
enum DryRun {
    static func run(_ options: PublishOptions) throws(CommandError) -> Int32 {
        for file in options.files {
            let reader = try LineReader(path: file)
            var lineNumber = 0
            while let line = try reader.next() {
                lineNumber += 1
                let reason: String
                switch line {
                case .tooLong(let length):
                    reason =
                        "line of \(length) bytes is longer than the maximum of \(LineReader.maxLineBytes)"
                case .bytes(let bytes):
                    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    do {
                        let event = try options.mapping.event(from: bytes)
                        let channel = try event.validatedChannel()
                        Output.lineBytes(describe(event, line: lineNumber, channel: channel))
                        continue
                    } catch {
                        reason = "\(error)"
                    }
                }
                Output.error("invalid line \(lineNumber) of \(reader.name): \(reason)")
                if options.onInvalid == .stop { return ExitStatus.stoppedAtInvalidLine }
            }
        }
        return ExitStatus.success
    }

    private static func describe(_ event: Event, line: Int, channel: String) -> [UInt8] {
        var output = Array(#"{"line":"#.utf8)
        output.append(contentsOf: Array(String(line).utf8))
        for (key, value) in [
            ("id", event.id), ("type", event.type), ("source_type", event.sourceType),
            ("source_id", event.sourceID), ("channel", channel),
        ] {
            output.append(UInt8(ascii: ","))
            JSONString.append(key, to: &output)
            output.append(UInt8(ascii: ":"))
            JSONString.append(value, to: &output)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }
}

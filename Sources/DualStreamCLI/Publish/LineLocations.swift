/// Line numbers of one input, kept as sorted ranges so a long outage costs little memory.
struct LineRanges {
    private(set) var ranges: [ClosedRange<Int>] = []
    private(set) var count = 0

    /// Adds a line number; numbers arrive in increasing order.
    mutating func insert(_ line: Int) {
        count += 1
        if let last = ranges.last, last.upperBound + 1 == line {
            ranges[ranges.count - 1] = last.lowerBound...line
        } else {
            ranges.append(line...line)
        }
    }

    /// `5-9, 12, 40-41`, cut after `limit` ranges with a count of the rest.
    func rendered(limit: Int = 20) -> String {
        var parts = ranges.prefix(limit).map { range in
            range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
        }
        if ranges.count > limit {
            parts.append("and \(ranges.count - limit) more ranges")
        }
        return parts.joined(separator: ", ")
    }
}

/// Line numbers per input, in input order.
struct InputLines {
    private(set) var inputs: [(name: String, lines: LineRanges)] = []

    var count: Int { inputs.reduce(0) { $0 + $1.lines.count } }

    mutating func insert(input: String, line: Int) {
        if inputs.last?.name != input {
            inputs.append((input, LineRanges()))
        }
        inputs[inputs.count - 1].lines.insert(line)
    }

    /// `file.jsonl lines 5-9, 12; other.jsonl line 3`.
    func rendered() -> String {
        inputs.map { input in
            let word = input.lines.count == 1 ? "line" : "lines"
            return "\(input.name) \(word) \(input.lines.rendered())"
        }.joined(separator: "; ")
    }

    /// One string per input, `name:ranges`, for the JSON summary.
    func renderedList() -> [String] {
        inputs.map { "\($0.name):\($0.lines.rendered(limit: 1_000))" }
    }
}

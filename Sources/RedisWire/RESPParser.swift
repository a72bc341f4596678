/// Incremental RESP2 reply parser.
///
/// ``parse(_:)`` returns `nil` and consumes nothing when the cursor does not yet contain a whole
/// reply. It consumes exactly one reply when it returns one, and throws on malformed input.
/// Lengths and counts from the wire are checked against ``RESPLimits`` and against the bytes
/// present before anything is allocated for them. Nested arrays are parsed with an explicit stack,
/// so hostile nesting ends in ``RESPParsingError/Code/nestingTooDeep``, not a stack overflow.
///
/// Use one parser per byte stream, and pass it the same cursor on every call. While a reply is
/// incomplete the parser keeps the arrays it opened and the elements it parsed, with the offset
/// from the reader index where it stopped. The next call resumes there, so a large array
/// arriving in many reads is parsed once, in time linear in its size. It also remembers how many
/// more bytes an incomplete value needs, so repeated calls while a large bulk string arrives do
/// not rescan it.
public struct RESPParser: Sendable {
    public let limits: RESPLimits
    /// Bytes consumed so far; error offsets count from the first of them.
    public private(set) var consumedBytes = 0
    /// Values and array headers parsed so far, counting each once, also inside replies that are
    /// still incomplete. Tests use it to show that resuming does not parse anything twice.
    package private(set) var parsedStepCount = 0
    /// Readable bytes the incomplete reply at the reader index needs at least, from the last call.
    private var minimumReadableBytes = 1
    /// Arrays of the incomplete reply at the reader index, outermost first.
    private var openArrays: [OpenArray] = []
    /// Offset from the reader index of the first byte that ``openArrays`` does not cover.
    private var resumeOffset = 0

    public init(limits: RESPLimits = .init()) {
        self.limits = limits
    }

    /// Parses one reply from the cursor's reader index.
    ///
    /// - Returns: the reply, consuming its bytes, or `nil` (consuming nothing) when more bytes
    ///   are needed.
    /// - Throws: ``RESPParsingError`` when the bytes are not valid RESP2 or exceed a limit. The
    ///   parser must not be used after it threw.
    public mutating func parse(_ cursor: inout ByteCursor) throws(RESPParsingError) -> RESPValue? {
        guard cursor.readableBytes >= minimumReadableBytes else { return nil }
        if openArrays.isEmpty, let (value, length) = cursor.withUnsafeReadableBytes(Self.parseSmallInteger) {
            cursor.moveReaderIndex(forwardBy: length)
            consumedBytes += length
            parsedStepCount += 1
            minimumReadableBytes = 1
            return value
        }
        var frame = FrameParser(streamOffset: consumedBytes, limits: limits, position: resumeOffset)
        swap(&frame.stack, &openArrays)
        defer { swap(&frame.stack, &openArrays) }
        let outcome: FrameOutcome
        do {
            outcome = try cursor.withUnsafeReadableBytes {
                (buffer) throws(RESPParsingError) -> FrameOutcome in
                try frame.parseFrame(buffer)
            }
        } catch {
            parsedStepCount += frame.stepCount
            frame.stack.removeAll()
            resumeOffset = 0
            throw error
        }
        parsedStepCount += frame.stepCount
        switch outcome {
        case .complete(let value, let length):
            cursor.moveReaderIndex(forwardBy: length)
            consumedBytes += length
            minimumReadableBytes = 1
            resumeOffset = 0
            return value
        case .incomplete(let neededBytes):
            resumeOffset = frame.position
            minimumReadableBytes = max(neededBytes, cursor.readableBytes + 1)
            return nil
        }
    }

    /// Parses a complete `:<digits>\r\n` reply of at most 18 digits, the reply to PUBLISH, INCR
    /// and other counting commands. Returns `nil` for anything else, which the general parser
    /// then handles, including every malformed or incomplete case.
    private static func parseSmallInteger(_ buffer: UnsafeBufferPointer<UInt8>) -> (RESPValue, Int)? {
        guard buffer.count >= 4, buffer[0] == UInt8(ascii: ":") else { return nil }
        var value: Int64 = 0
        var index = 1
        while index < buffer.count && index <= 18 {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            value = value &* 10 &+ Int64(digit)
            index += 1
        }
        guard index > 1, index + 1 < buffer.count, buffer[index] == carriageReturn,
            buffer[index + 1] == lineFeed
        else { return nil }
        return (.integer(value), index + 2)
    }
}

private struct OpenArray: Sendable {
    var elements: [RESPValue]
    var remaining: Int
}

private enum FrameOutcome {
    case complete(RESPValue, length: Int)
    case incomplete(neededBytes: Int)
}

private let carriageReturn = UInt8(ascii: "\r")
private let lineFeed = UInt8(ascii: "\n")

/// Parses one frame from the start of the unconsumed bytes, resuming at ``position`` with the
/// arrays in ``stack`` that an earlier call opened.
private struct FrameParser {
    private enum Step {
        case value(RESPValue)
        case openArray(count: Int)
    }

    private var buffer = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    let streamOffset: Int
    let limits: RESPLimits
    /// Offset of the next value; on `.incomplete`, of the first value not yet in ``stack``.
    private(set) var position: Int
    /// Open arrays, outermost first.
    var stack: [OpenArray] = []
    /// Values and array headers parsed in this call.
    private(set) var stepCount = 0
    /// Set before returning `nil`: a lower bound of the buffer size that could hold the frame.
    private var neededBytes = 0

    init(streamOffset: Int, limits: RESPLimits, position: Int) {
        self.streamOffset = streamOffset
        self.limits = limits
        self.position = position
    }

    mutating func parseFrame(_ buffer: UnsafeBufferPointer<UInt8>) throws(RESPParsingError) -> FrameOutcome {
        self.buffer = buffer
        while true {
            guard let step = try parseStep(depth: stack.count) else {
                return .incomplete(neededBytes: neededBytes)
            }
            stepCount += 1
            var value: RESPValue
            switch step {
            case .openArray(let count):
                // The count was checked against the bytes present, so this reserves no more than
                // one element per three bytes received.
                var elements: [RESPValue] = []
                elements.reserveCapacity(count)
                stack.append(OpenArray(elements: elements, remaining: count))
                continue
            case .value(let parsed):
                value = parsed
            }
            // Close every array that this value completes.
            while var top = stack.popLast() {
                top.elements.append(value)
                top.remaining -= 1
                if top.remaining > 0 {
                    stack.append(top)
                    break
                }
                value = .array(top.elements)
            }
            if stack.isEmpty {
                return .complete(value, length: position)
            }
        }
    }

    /// Parses one value, or the header of a non-empty array, at `position`.
    private mutating func parseStep(depth: Int) throws(RESPParsingError) -> Step? {
        guard position < buffer.count else {
            neededBytes = position + 1
            return nil
        }
        let start = position
        switch buffer[start] {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let end = try findLineEnd(typeOffset: start) else { return nil }
            let text = Array(UnsafeBufferPointer(rebasing: buffer[(start + 1)..<end]))
            position = end + 2
            return .value(buffer[start] == UInt8(ascii: "+") ? .simpleString(text) : .error(text))

        case UInt8(ascii: ":"):
            guard let (value, next) = try readInteger(typeOffset: start) else { return nil }
            position = next
            return .value(.integer(value))

        case UInt8(ascii: "$"):
            guard let (length, dataStart) = try readInteger(typeOffset: start) else { return nil }
            if length == -1 {
                position = dataStart
                return .value(.nullBulkString)
            }
            guard length >= 0 else {
                throw error(
                    .invalidLength, at: start,
                    "bulk string length \(length) in \(lineText(start)) is "
                        + "negative; only -1 (null bulk string) is allowed")
            }
            guard length <= Int64(limits.maxBulkStringLength) else {
                throw error(
                    .bulkStringTooLong, at: start,
                    "bulk string length \(length) exceeds the limit of "
                        + "\(limits.maxBulkStringLength) bytes (RESPLimits.maxBulkStringLength)")
            }
            let end = dataStart + Int(length)
            guard end + 2 <= buffer.count else {
                neededBytes = end + 2
                return nil
            }
            guard buffer[end] == carriageReturn, buffer[end + 1] == lineFeed else {
                throw error(
                    .missingBulkStringTerminator, at: end,
                    "bulk string of \(length) bytes is followed by "
                        + RESPBytesDescription.render(buffer[end..<(end + 2)], limit: 2)
                        + ", expected \"\\r\\n\""
                )
            }
            position = end + 2
            return .value(.bulkString(Array(UnsafeBufferPointer(rebasing: buffer[dataStart..<end]))))

        case UInt8(ascii: "*"):
            guard let (count, next) = try readInteger(typeOffset: start) else { return nil }
            if count == -1 {
                position = next
                return .value(.nullArray)
            }
            guard count >= 0 else {
                throw error(
                    .invalidLength, at: start,
                    "array count \(count) in \(lineText(start)) is negative; "
                        + "only -1 (null array) is allowed")
            }
            guard count <= Int64(limits.maxArrayCount) else {
                throw error(
                    .arrayTooLong, at: start,
                    "array count \(count) exceeds the limit of "
                        + "\(limits.maxArrayCount) elements (RESPLimits.maxArrayCount)")
            }
            position = next
            if count == 0 { return .value(.array([])) }
            guard depth < limits.maxNestingDepth else {
                throw error(
                    .nestingTooDeep, at: start,
                    "array nesting exceeds the limit of "
                        + "\(limits.maxNestingDepth) levels (RESPLimits.maxNestingDepth)")
            }
            // Every element takes at least three bytes ("+\r\n"): wait for them before reserving.
            let elementCount = Int(count)
            let (minimumBytes, overflow) = elementCount.multipliedReportingOverflow(by: 3)
            guard !overflow, minimumBytes <= buffer.count - next else {
                neededBytes = overflow ? Int.max : next + minimumBytes
                position = start
                return nil
            }
            return .openArray(count: elementCount)

        default:
            throw error(
                .invalidTypeByte, at: start,
                "type byte \(RESPBytesDescription.render([buffer[start]], limit: 1)) "
                    + "is not one of + - : $ *")
        }
    }

    /// Returns the index of the CR ending the line that starts after `typeOffset`, or `nil` when
    /// the line is incomplete.
    private mutating func findLineEnd(typeOffset: Int) throws(RESPParsingError) -> Int? {
        var index = typeOffset + 1
        while index < buffer.count {
            let byte = buffer[index]
            if byte == carriageReturn {
                guard index + 1 < buffer.count else {
                    neededBytes = index + 2
                    return nil
                }
                guard buffer[index + 1] == lineFeed else {
                    throw error(
                        .missingLineFeed, at: index + 1,
                        "CR in \(lineText(typeOffset)) is followed by "
                            + "\(RESPBytesDescription.render([buffer[index + 1]], limit: 1)) instead of LF")
                }
                return index
            }
            if byte == lineFeed {
                throw error(
                    .bareLineFeed, at: index,
                    "line \(lineText(typeOffset)) ends with LF alone; "
                        + "RESP lines end with CRLF")
            }
            if index - typeOffset > limits.maxLineLength {
                throw error(
                    .lineTooLong, at: typeOffset,
                    "simple string or error line exceeds the limit of "
                        + "\(limits.maxLineLength) bytes (RESPLimits.maxLineLength)")
            }
            index += 1
        }
        neededBytes = index + 1
        return nil
    }

    /// Reads the integer line after the type byte at `typeOffset`: an optional `-`, at least one
    /// digit, CRLF. Returns the value and the index after the CRLF, or `nil` when incomplete.
    /// Overflow and invalid bytes are reported as soon as they arrive, before the line ends.
    private mutating func readInteger(typeOffset: Int) throws(RESPParsingError) -> (Int64, Int)? {
        var index = typeOffset + 1
        let negative = index < buffer.count && buffer[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        var value: Int64 = 0
        while index < buffer.count {
            let byte = buffer[index]
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = Int64(byte &- UInt8(ascii: "0"))
                let (shifted, overflowMultiply) = value.multipliedReportingOverflow(by: 10)
                let (next, overflowAdd) =
                    negative
                    ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
                guard !overflowMultiply, !overflowAdd else {
                    throw error(
                        .integerOverflow, at: typeOffset,
                        "\(lineText(typeOffset)) does not fit in "
                            + "a signed 64-bit integer")
                }
                value = next
                index += 1
            case carriageReturn:
                guard index > digitsStart else {
                    throw error(.invalidInteger, at: index, "\(lineText(typeOffset)) has no digits")
                }
                guard index + 1 < buffer.count else {
                    neededBytes = index + 2
                    return nil
                }
                guard buffer[index + 1] == lineFeed else {
                    throw error(
                        .missingLineFeed, at: index + 1,
                        "CR in \(lineText(typeOffset)) is followed by "
                            + "\(RESPBytesDescription.render([buffer[index + 1]], limit: 1)) instead of LF")
                }
                return (value, index + 2)
            case lineFeed:
                throw error(
                    .bareLineFeed, at: index,
                    "line \(lineText(typeOffset)) ends with LF alone; "
                        + "RESP lines end with CRLF")
            default:
                throw error(
                    .invalidInteger, at: index,
                    "\(lineText(typeOffset)) contains \(RESPBytesDescription.render([byte], limit: 1)), "
                        + "expected an optional '-' and digits"
                )
            }
        }
        neededBytes = index + 1
        return nil
    }

    /// Returns the line starting at `offset`, up to its CR or LF and at most 32 bytes, for messages.
    private func lineText(_ offset: Int) -> String {
        var end = offset
        while end < buffer.count, end - offset < 32, buffer[end] != carriageReturn, buffer[end] != lineFeed {
            end += 1
        }
        return RESPBytesDescription.render(buffer[offset..<end], limit: 32)
    }

    private func error(_ code: RESPParsingError.Code, at index: Int, _ message: String) -> RESPParsingError {
        RESPParsingError(code, offset: streamOffset + index, message)
    }
}

import Testing

@testable import KafkaWire

/// Parses hex such as "00 0a FF" (spaces and `|` separators ignored) into bytes.
func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    var result: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        result.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return result
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

/// Runs `body` and returns the `WireDecodingError` it threw, or nil when it threw nothing.
func decodingError<T>(_ body: () throws -> T) -> WireDecodingError? {
    do {
        _ = try body()
        return nil
    } catch let error as WireDecodingError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// A small command-line parser: `--name value`, `--name=value`, flags, and positional arguments.
/// Everything after `--` is positional.
struct Arguments {
    private var options: [(name: String, value: String?)] = []
    private(set) var positional: [String] = []

    /// Parses `arguments`; `valued` names the options that take a value, `flags` those that
    /// take none. Any other option is rejected with a pointer to `dualstream help command`.
    init(_ arguments: [String], command: String, valued: Set<String>, flags: Set<String>)
        throws(CommandError)
    {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                positional.append(contentsOf: arguments[index...])
                break
            }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                positional.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard valued.contains(name) || flags.contains(name) else {
                throw .usage("unknown option --\(name); see dualstream help \(command)")
            }
            if flags.contains(name) && value != nil {
                throw .usage("option --\(name) takes no value")
            }
            if valued.contains(name) && value == nil {
                guard index < arguments.count else {
                    throw .usage("option --\(name) needs a value")
                }
                value = arguments[index]
                index += 1
            }
            options.append((name, value))
        }
    }

    /// The last value of a valued option.
    func value(_ name: String) -> String? {
        return options.last(where: { $0.name == name })?.value
    }

    /// Every value of a repeatable option, in order.
    func values(_ name: String) -> [String] {
        return options.filter { $0.name == name }.compactMap(\.value)
    }

    func flag(_ name: String) -> Bool {
        return options.contains(where: { $0.name == name })
    }

    /// Parses the integer value of `name` and checks it against `range`. The error message names
    /// `unit` ("MiB") when it is given.
    func integer(_ name: String, range: ClosedRange<Int>, unit: String? = nil) throws(CommandError) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            var bounds = "\(range.lowerBound) to \(range.upperBound)"
            if let unit { bounds += " (\(unit))" }
            throw .usage("invalid --\(name) \(text): expected an integer from \(bounds)")
        }
        return number
    }

    func seconds(_ name: String) throws(CommandError) -> Duration? {
        guard let text = value(name) else { return nil }
        guard let seconds = Double(text), seconds > 0, seconds <= 86_400 else {
            throw .usage("invalid --\(name) \(text): expected a number of seconds above 0 and at most 86400")
        }
        return .milliseconds(Int64((seconds * 1_000).rounded()))
    }
}

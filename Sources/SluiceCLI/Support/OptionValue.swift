import ArgumentParser

/// Why an option's text is not a value: what is wrong, if more than the text needs saying, and
/// what would be valid. Reported with the option's name and the text, as
/// `--size '4x': unknown unit 'x' in '4x' (valid: B, KB, MB, GB, KiB, MiB, GiB)` or
/// `--mode 'bogus' (valid: native, generic, auto)`.
struct OptionProblem: Error {
    var reason: String?
    var valid: String?

    init(_ reason: String? = nil, valid: String?) { self.reason = reason; self.valid = valid }

    func message(option: String, text: String) -> String {
        "\(option) '\(text)'" + (reason.map { ": \($0)" } ?? "") + (valid.map { " (valid: \($0))" } ?? "")
    }
}

/// How the text of one kind of option becomes its value: durations, sizes, rates, addresses,
/// modes. Each kind is parsed here and nowhere else.
protocol OptionSyntax {
    associatedtype Value
    static func parse(_ text: String) throws(OptionProblem) -> Value
}

/// An option's value, parsed once, when ArgumentParser reads the arguments.
///
/// ArgumentParser's `init?(argument:)` cannot say why a text is wrong, so a text that does not
/// parse is kept with its problem, and the command's `validate()` reports it with the option's
/// name (`value(_:)`), before `run()` and with the command's usage. `run()` then reads `parsed`.
struct OptionValue<Syntax: OptionSyntax>: ExpressibleByArgument, ExpressibleByStringLiteral {
    /// As given, for messages (and for a topology written from it).
    let text: String
    private let result: Result<Syntax.Value, OptionProblem>

    init(argument: String) {
        text = argument
        result = Result { () throws(OptionProblem) in try Syntax.parse(argument) }
    }

    init(stringLiteral text: String) { self.init(argument: text) }

    var defaultValueDescription: String { text }

    /// The value, or a `ValidationError` naming `option`, the text and what is valid.
    func value(_ option: String) throws -> Syntax.Value {
        switch result {
        case .success(let v): return v
        case .failure(let p): throw ValidationError(p.message(option: option, text: text))
        }
    }

    /// The value the command's `validate()` checked with `value(_:)`.
    var parsed: Syntax.Value {
        guard case .success(let v) = result else { preconditionFailure("'\(text)' was read without being validated") }
        return v
    }
}

/// One of an enumeration's cases by name: `--mode native`, `--shape udp`.
enum Choice<Case: CaseIterable & RawRepresentable>: OptionSyntax where Case.RawValue == String {
    static func parse(_ text: String) throws(OptionProblem) -> Case {
        guard let c = Case(rawValue: text) else { throw OptionProblem(valid: Case.allCases.map(\.rawValue).joined(separator: ", ")) }
        return c
    }
}

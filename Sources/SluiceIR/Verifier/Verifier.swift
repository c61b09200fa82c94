/// One problem the verifier found, naming the program, the element and how to fix it.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public var program: String
    /// The element at fault, as a reader finds it: `action 'ipv4_forward'`, `table 'ipv4_lpm'`,
    /// `parser state 'parse_ipv4'`, `header type 'ipv4_t'`.
    public var element: String
    public var message: String
    public var fix: String
    /// The rule's name, e.g. `undefined-reference`.
    public var rule: String

    public init(program: String, element: String, message: String, fix: String, rule: String) {
        self.program = program; self.element = element; self.message = message; self.fix = fix
        self.rule = rule
    }

    public var description: String {
        "program '\(program)', \(element): \(message)\(fix.isEmpty ? "" : " (fix: \(fix))") [\(rule)]"
    }
}

/// Thrown when a program fails verification; lists every problem found.
public struct VerificationError: Error, CustomStringConvertible, Sendable {
    public var diagnostics: [Diagnostic]
    public init(_ d: [Diagnostic]) { diagnostics = d }
    public var description: String {
        "\(diagnostics.count) problem\(diagnostics.count == 1 ? "" : "s") in program '\(diagnostics.first?.program ?? "?")':\n"
            + diagnostics.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// A single verification rule. Each rule lives in a file of its own in this folder.
public protocol VerifierRule: Sendable {
    /// Short kebab-case name shown in diagnostics.
    var name: String { get }
    func check(_ index: ProgramIndex) -> [Diagnostic]
}

public enum Verifier {
    /// Every rule, in the order they run.
    public static let rules: [any VerifierRule] = allRules

    /// All problems in a program; empty when it is valid.
    public static func diagnose(_ p: Program) -> [Diagnostic] {
        let index = ProgramIndex(p)
        return rules.flatMap { $0.check(index) }
    }

    /// The program, verified, with its facts; throws a `VerificationError` listing every
    /// problem. The only way to a `VerifiedProgram`.
    @discardableResult
    public static func verify(_ p: Program) throws(VerificationError) -> VerifiedProgram {
        let d = diagnose(p)
        if !d.isEmpty { throw VerificationError(d) }
        return VerifiedProgram(verified: p)
    }
}

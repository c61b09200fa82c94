import SluiceIR

/// A part of a program: a header type, a table, the ingress control...
public protocol ProgramComponent {
    func add(to program: inout Program)
}

@resultBuilder
public enum ProgramBuilder {
    public static func buildExpression(_ c: any ProgramComponent) -> [any ProgramComponent] { [c] }
    public static func buildExpression(_ c: [any ProgramComponent]) -> [any ProgramComponent] { c }
    public static func buildBlock(_ parts: [any ProgramComponent]...) -> [any ProgramComponent] { parts.flatMap { $0 } }
    public static func buildOptional(_ s: [any ProgramComponent]?) -> [any ProgramComponent] { s ?? [] }
    public static func buildEither(first s: [any ProgramComponent]) -> [any ProgramComponent] { s }
    public static func buildEither(second s: [any ProgramComponent]) -> [any ProgramComponent] { s }
    public static func buildArray(_ s: [[any ProgramComponent]]) -> [any ProgramComponent] { s.flatMap { $0 } }
}

/// A group of components, so that libraries can ship reusable pieces (a set of headers and
/// their parser states, a forwarding table and its actions) that programs compose.
public struct Components: ProgramComponent {
    let parts: [any ProgramComponent]
    public init(@ProgramBuilder _ body: () -> [any ProgramComponent]) { parts = body() }
    public func add(to program: inout Program) { for p in parts { p.add(to: &program) } }
}

/// A switch program written in the DSL. Building it lowers it to IR; `verified()` runs the
/// verifier, which every backend requires.
public struct SwitchProgram: Sendable {
    public let ir: Program

    public init(_ name: String, doc: String = "", @ProgramBuilder _ body: () -> [any ProgramComponent]) {
        var p = Program(name: name, doc: doc)
        for c in body() { c.add(to: &p) }
        ir = p
    }

    /// A program given as IR (read from a program file, or built by another tool).
    public init(ir: Program) { self.ir = ir }

    /// The IR, after the verifier found nothing wrong.
    public func verified() throws(VerificationError) -> VerifiedProgram {
        try Verifier.verify(ir)
    }
}

import SluiceIR

/// The parser: states in order, the first one is the start state.
public struct Parser: ProgramComponent {
    let states: [ParserState]
    public init(@ParserStatesBuilder _ states: () -> [ParserState]) { self.states = states() }
    public func add(to p: inout Program) { p.parser.states += states }
}

@resultBuilder
public enum ParserStatesBuilder {
    public static func buildExpression(_ s: State) -> [ParserState] { [s.state] }
    public static func buildBlock(_ parts: [ParserState]...) -> [ParserState] { parts.flatMap { $0 } }
    public static func buildOptional(_ s: [ParserState]?) -> [ParserState] { s ?? [] }
    public static func buildEither(first s: [ParserState]) -> [ParserState] { s }
    public static func buildEither(second s: [ParserState]) -> [ParserState] { s }
    public static func buildArray(_ s: [[ParserState]]) -> [ParserState] { s.flatMap { $0 } }
}

/// A parser state: statements, then one transition (`Accept()`, `Reject()`, `Goto`, `Select`).
/// A state without a transition accepts.
public struct State {
    let state: ParserState
    public init(_ name: String, @ParserStateBuilder _ body: () -> [ParserItem]) {
        var stmts: [Stmt] = []
        var transition: Transition = .accept
        for item in body() {
            switch item {
            case .statements(let s): stmts += s
            case .transition(let t): transition = t
            }
        }
        state = ParserState(name, statements: stmts, transition: transition)
    }
}

public enum ParserItem { case statements([Stmt]), transition(Transition) }

public protocol TransitionComponent { var transition: Transition { get } }

@resultBuilder
public enum ParserStateBuilder {
    public static func buildExpression(_ s: any Statement) -> [ParserItem] { [.statements(s.statements)] }
    public static func buildExpression(_ s: [Stmt]) -> [ParserItem] { [.statements(s)] }
    public static func buildExpression(_ t: any TransitionComponent) -> [ParserItem] { [.transition(t.transition)] }
    public static func buildBlock(_ parts: [ParserItem]...) -> [ParserItem] { parts.flatMap { $0 } }
    public static func buildOptional(_ s: [ParserItem]?) -> [ParserItem] { s ?? [] }
    public static func buildEither(first s: [ParserItem]) -> [ParserItem] { s }
    public static func buildEither(second s: [ParserItem]) -> [ParserItem] { s }
    public static func buildArray(_ s: [[ParserItem]]) -> [ParserItem] { s.flatMap { $0 } }
}

/// Copy the header at the cursor into `header` and advance; `hdr.stack.next` for stacks.
public struct Extract: Statement {
    public let statements: [Stmt]
    public init(_ header: HeaderValue) { statements = [.extract(header.name, index: header.index)] }
}

/// Reject with `error` unless `condition` holds.
public struct Verify: Statement {
    public let statements: [Stmt]
    public init(_ condition: Value, error: String) { statements = [.verify(condition.ir, error: error)] }
}

/// Skip `bits` bits (a multiple of 8) at the cursor, or a run-time number of `bytes` (a 16-bit
/// value, at most `SkipLimit.bytes`): skipped bytes are not emitted again.
public struct Advance: Statement {
    public let statements: [Stmt]
    public init(bits: Int) { statements = [.advance(bits)] }
    public init(bytes: Value) { statements = [.skip(bytes.ir)] }
}

public struct Accept: TransitionComponent {
    public init() {}
    public var transition: Transition { .accept }
}

public struct Reject: TransitionComponent {
    public init() {}
    public var transition: Transition { .reject }
}

public struct Goto: TransitionComponent {
    public let transition: Transition
    public init(_ state: String) { transition = .goto(state) }
}

/// `transition select(keys) { cases }`: the first matching case wins; no match rejects
/// (`NoMatch`) unless there is a `Default`.
public struct Select: TransitionComponent {
    public let transition: Transition
    public init(_ keys: Value..., @SelectCaseBuilder cases: () -> [SelectCase]) {
        transition = .select(keys.map(\.ir), cases())
    }
}

@resultBuilder
public enum SelectCaseBuilder {
    public static func buildExpression(_ c: Case) -> [SelectCase] { [c.selectCase] }
    public static func buildExpression(_ c: Default) -> [SelectCase] { [c.selectCase] }
    public static func buildBlock(_ parts: [SelectCase]...) -> [SelectCase] { parts.flatMap { $0 } }
    public static func buildArray(_ s: [[SelectCase]]) -> [SelectCase] { s.flatMap { $0 } }
}

/// A keyset element: a value, a value under a mask, a range, or anything.
public struct Keyset: ExpressibleByIntegerLiteral, Sendable {
    let element: KeysetElement
    public init(integerLiteral v: UInt64) { element = .value(UInt128(v)) }
    public init(_ v: UInt128) { element = .value(v) }
    public static func masked(_ v: UInt128, _ mask: UInt128) -> Keyset { Keyset(.mask(v, mask)) }
    public static func range(_ r: ClosedRange<UInt128>) -> Keyset { Keyset(.range(r.lowerBound, r.upperBound)) }
    public static var any: Keyset { Keyset(.any) }
    init(_ e: KeysetElement) { element = e }
}

/// One case of a `Select`: one keyset element per key, then the next state (or
/// "accept"/"reject").
public struct Case {
    let selectCase: SelectCase
    public init(_ keys: Keyset..., next: String) { selectCase = SelectCase(keys.map(\.element), next: next) }
}

/// The case that matches anything.
public struct Default {
    let selectCase: SelectCase
    public init(next: String) { selectCase = SelectCase([.any], next: next) }
    /// Matches anything for a select on `keyCount` keys.
    public init(keys keyCount: Int, next: String) { selectCase = SelectCase(Array(repeating: .any, count: keyCount), next: next) }
}

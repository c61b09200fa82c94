public struct Parser: Hashable, Sendable, Codable {
    /// The first state is the start state.
    public var states: [ParserState]
    public init(states: [ParserState]) { self.states = states }
}

public struct ParserState: Hashable, Sendable, Codable {
    public var name: String
    public var statements: [Stmt]
    public var transition: Transition
    public init(_ name: String, statements: [Stmt], transition: Transition) {
        self.name = name; self.statements = statements; self.transition = transition
    }
}

public enum Transition: Hashable, Sendable, Codable {
    case accept
    case reject
    case goto(String)
    /// Match the keys against each case in order; the first match wins; no match rejects with
    /// `NoMatch` unless a case is all `.any` (a default).
    case select([Expr], [SelectCase])
}

public struct SelectCase: Hashable, Sendable, Codable {
    public var keys: [KeysetElement]
    /// A state name, or `accept` / `reject`.
    public var next: String
    public init(_ keys: [KeysetElement], next: String) { self.keys = keys; self.next = next }
}

public enum KeysetElement: Hashable, Sendable, Codable {
    case value(UInt128)
    case mask(UInt128, UInt128)
    case range(UInt128, UInt128)
    case any
}

/// Reserved state names a transition may name.
public enum ReservedState {
    public static let accept = "accept"
    public static let reject = "reject"
}

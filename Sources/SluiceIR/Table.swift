public enum MatchKind: String, Hashable, Sendable, Codable, CaseIterable {
    case exact, lpm, ternary, range, optional
}

public struct TableKey: Hashable, Sendable, Codable {
    public var expr: Expr
    public var kind: MatchKind
    /// The name entries files use; defaults to the printed expression (`hdr.ipv4.dstAddr`).
    public var name: String
    public init(_ expr: Expr, _ kind: MatchKind, name: String) {
        self.expr = expr; self.kind = kind; self.name = name
    }
}

public struct ActionCall: Hashable, Sendable, Codable {
    public var action: String
    public var args: [UInt128]
    public init(_ action: String, _ args: [UInt128] = []) { self.action = action; self.args = args }
}

/// One key's match in a table entry.
public enum Match: Hashable, Sendable, Codable {
    case exact(UInt128)
    case lpm(UInt128, prefixLength: Int)
    case ternary(UInt128, mask: UInt128)
    case range(UInt128, UInt128)
    /// An exact value, or `nil` for a wildcard.
    case optional(UInt128?)
}

public struct TableEntry: Hashable, Sendable, Codable {
    public var matches: [Match]
    public var action: ActionCall
    /// Higher wins among ternary, range and optional entries that both match.
    public var priority: Int
    public init(_ matches: [Match], _ action: ActionCall, priority: Int = 0) {
        self.matches = matches; self.action = action; self.priority = priority
    }
}

public struct Table: Hashable, Sendable, Codable {
    public var name: String
    public var keys: [TableKey]
    public var actions: [String]
    public var defaultAction: ActionCall
    /// The control plane cannot change a const default action.
    public var defaultIsConst: Bool
    /// Installed before the control plane runs; with `constEntries`, entries cannot change.
    public var entries: [TableEntry]
    public var entriesAreConst: Bool
    public var size: Int
    /// Per-entry packet and byte counters, read through the control plane.
    public var directCounter: Bool
    public init(
        _ name: String, keys: [TableKey], actions: [String], defaultAction: ActionCall,
        defaultIsConst: Bool = false, entries: [TableEntry] = [], entriesAreConst: Bool = false,
        size: Int = 1024, directCounter: Bool = false
    ) {
        self.name = name; self.keys = keys; self.actions = actions
        self.defaultAction = defaultAction; self.defaultIsConst = defaultIsConst
        self.entries = entries; self.entriesAreConst = entriesAreConst; self.size = size
        self.directCounter = directCounter
    }
}

public struct Action: Hashable, Sendable, Codable {
    public var name: String
    public var params: [FieldDecl]
    public var body: [Stmt]
    public init(_ name: String, params: [FieldDecl] = [], body: [Stmt]) {
        self.name = name; self.params = params; self.body = body
    }
}

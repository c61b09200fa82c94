import SluiceIR

/// A match-action table (the default action is `NoAction` unless given): `Table("ipv4_lpm") { Key(hdr.ipv4.dstAddr, .lpm); Actions("fwd", "drop"); DefaultAction("drop") }`.
public struct Table: ProgramComponent {
    let table: SluiceIR.Table
    public init(_ name: String, @TablePropertyBuilder _ body: () -> [TableProperty]) {
        var t = SluiceIR.Table(name, keys: [], actions: [], defaultAction: ActionCall("NoAction"))
        for prop in body() {
            switch prop {
            case .key(let k): t.keys.append(k)
            case .actions(let a): t.actions += a
            case .defaultAction(let c, let isConst): t.defaultAction = c; t.defaultIsConst = isConst
            case .size(let n): t.size = n
            case .entries(let es, let isConst): t.entries += es; t.entriesAreConst = t.entriesAreConst || isConst
            case .directCounter: t.directCounter = true
            }
        }
        table = t
    }
    public func add(to p: inout Program) { p.tables.append(table) }
}

public enum TableProperty {
    case key(TableKey)
    case actions([String])
    case defaultAction(ActionCall, isConst: Bool)
    case size(Int)
    case entries([TableEntry], isConst: Bool)
    case directCounter
}

public protocol TablePropertyComponent { var property: TableProperty { get } }

@resultBuilder
public enum TablePropertyBuilder {
    public static func buildExpression(_ p: any TablePropertyComponent) -> [TableProperty] { [p.property] }
    public static func buildBlock(_ parts: [TableProperty]...) -> [TableProperty] { parts.flatMap { $0 } }
    public static func buildOptional(_ s: [TableProperty]?) -> [TableProperty] { s ?? [] }
    public static func buildEither(first s: [TableProperty]) -> [TableProperty] { s }
    public static func buildEither(second s: [TableProperty]) -> [TableProperty] { s }
    public static func buildArray(_ s: [[TableProperty]]) -> [TableProperty] { s.flatMap { $0 } }
}

/// A table key. Its name in entries files is the printed expression unless given.
public struct Key: TablePropertyComponent {
    public let property: TableProperty
    public init(_ v: Value, _ kind: MatchKind, name: String? = nil) {
        property = .key(TableKey(v.ir, kind, name: name ?? IRPrinter.expr(v.ir)))
    }
}

public struct Actions: TablePropertyComponent {
    public let property: TableProperty
    public init(_ names: String...) { property = .actions(names) }
}

/// The action a miss runs; `isConst` stops the control plane from changing it.
public struct DefaultAction: TablePropertyComponent {
    public let property: TableProperty
    public init(_ action: String, _ args: UInt128..., isConst: Bool = false) {
        self.init(action, arguments: args, isConst: isConst)
    }
    /// The arguments as a list, for a builder that makes them.
    public init(_ action: String, arguments: [UInt128], isConst: Bool = false) {
        property = .defaultAction(ActionCall(action, arguments), isConst: isConst)
    }
}

public struct Size: TablePropertyComponent {
    public let property: TableProperty
    public init(_ n: Int) { property = .size(n) }
}

/// Per-entry packet and byte counters.
public struct DirectCounter: TablePropertyComponent {
    public init() {}
    public var property: TableProperty { .directCounter }
}

/// Entries installed when the program loads; `isConst` (P4's `const entries`) forbids changes.
public struct Entries: TablePropertyComponent {
    public let property: TableProperty
    public init(isConst: Bool = false, @EntryBuilder _ body: () -> [TableEntry]) { property = .entries(body(), isConst: isConst) }
}

@resultBuilder
public enum EntryBuilder {
    public static func buildExpression(_ e: Entry) -> [TableEntry] { [e.entry] }
    public static func buildBlock(_ parts: [TableEntry]...) -> [TableEntry] { parts.flatMap { $0 } }
    public static func buildArray(_ s: [[TableEntry]]) -> [TableEntry] { s.flatMap { $0 } }
}

/// `Entry(.exact(0x0800), .lpm(0x0a000100, prefixLength: 24), action: "fwd", 2, priority: 10)`
public struct Entry {
    let entry: TableEntry
    public init(_ matches: Match..., action: String, _ args: UInt128..., priority: Int = 0) {
        entry = TableEntry(matches, ActionCall(action, args), priority: priority)
    }
}

/// The empty action (`NoAction`), declared once by programs that need it.
public struct NoAction: ProgramComponent {
    public init() {}
    public func add(to p: inout Program) { p.actions.append(SluiceIR.Action("NoAction", body: [])) }
}

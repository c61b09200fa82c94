import SluiceIR
import SluiceP4Runtime

/// A program as P4Runtime addresses it: every id of its P4Info resolved to the IR's name and the
/// widths the wire values must fit. Built once per installed pipeline; requests look ids up here.
struct P4RuntimeSchema: Sendable {
    struct KeyField: Sendable { var name: String; var kind: MatchKind; var width: Int }
    struct TableInfo: Sendable {
        var name: String
        var id: UInt32
        var keys: [KeyField]
        /// Action ids this table may run.
        var actions: Set<UInt32>
        var table: Table
        /// Entries have priorities: some key is ternary, range or optional.
        var needsPriority: Bool { keys.contains { $0.kind == .ternary || $0.kind == .range || $0.kind == .optional } }
    }
    struct ActionInfo: Sendable { var name: String; var id: UInt32; var params: [FieldDecl] }
    struct Sized: Sendable { var name: String; var id: UInt32; var size: Int; var width: Int }

    let program: Program
    let ids: P4Ids
    var tables: [UInt32: TableInfo] = [:]
    var actions: [UInt32: ActionInfo] = [:]
    var actionIDs: [String: UInt32] = [:]
    var counters: [UInt32: Sized] = [:]
    var directCounters: [UInt32: TableInfo] = [:]
    var meters: [UInt32: Sized] = [:]
    var registers: [UInt32: Sized] = [:]
    var digests: [UInt32: Digest] = [:]
    var digestIDs: [String: UInt32] = [:]

    init(_ program: Program) throws(P4RuntimeError) {
        self.program = program
        ids = P4Ids(program)
        let ix = ProgramIndex(program)
        for a in program.actions {
            let id = ids.id(.action, a.name)!
            actions[id] = ActionInfo(name: a.name, id: id, params: a.params)
            actionIDs[a.name] = id
        }
        for t in program.tables {
            var keys: [KeyField] = []
            for k in t.keys {
                guard let w = ix.width(of: k.expr) else {
                    throw P4RuntimeError(.invalidArgument, "table '\(t.name)': key '\(k.name)' has no width")
                }
                keys.append(KeyField(name: k.name, kind: k.kind, width: w))
            }
            let id = ids.id(.table, t.name)!
            let info = TableInfo(name: t.name, id: id, keys: keys, actions: Set(t.actions.compactMap { actionIDs[$0] }), table: t)
            tables[id] = info
            if t.directCounter { directCounters[ids.id(.directCounter, t.name)!] = info }
        }
        for c in program.counters { counters[ids.id(.counter, c.name)!] = Sized(name: c.name, id: ids.id(.counter, c.name)!, size: c.size, width: 64) }
        for m in program.meters { meters[ids.id(.meter, m.name)!] = Sized(name: m.name, id: ids.id(.meter, m.name)!, size: m.size, width: 0) }
        for r in program.registers { registers[ids.id(.register, r.name)!] = Sized(name: r.name, id: ids.id(.register, r.name)!, size: r.size, width: r.width) }
        for d in program.digests {
            digests[ids.id(.digest, d.name)!] = d
            digestIDs[d.name] = ids.id(.digest, d.name)!
        }
    }

    func table(_ id: UInt32) throws(P4RuntimeError) -> TableInfo {
        guard let t = tables[id] else { throw unknown("table", id, tables.values.map { ($0.name, $0.id) }) }
        return t
    }

    func action(_ id: UInt32, in table: TableInfo) throws(P4RuntimeError) -> ActionInfo {
        guard let a = actions[id] else { throw unknown("action", id, actions.values.map { ($0.name, $0.id) }) }
        guard table.actions.contains(id) else {
            throw P4RuntimeError(.invalidArgument, "table '\(table.name)' (id \(table.id)): action '\(a.name)' (id \(id)) is not one of its actions; valid: "
                                 + table.table.actions.map { "\($0) (id \(actionIDs[$0] ?? 0))" }.joined(separator: ", "))
        }
        return a
    }

    /// NOT_FOUND naming the kind, the id and the ids that exist.
    func unknown(_ kind: String, _ id: UInt32, _ known: [(String, UInt32)]) -> P4RuntimeError {
        let list = known.sorted { $0.1 < $1.1 }.map { "\($0.0) (\($0.1))" }
        return P4RuntimeError(.notFound, "no \(kind) with id \(id) in program '\(program.name)'; "
                              + (list.isEmpty ? "it has no \(kind)s" : "valid: \(list.joined(separator: ", "))"))
    }

    static func sized(_ kind: String, _ id: UInt32, in map: [UInt32: Sized], program: String) throws(P4RuntimeError) -> Sized {
        guard let s = map[id] else {
            let list = map.values.sorted { $0.id < $1.id }.map { "\($0.name) (\($0.id))" }
            throw P4RuntimeError(.notFound, "no \(kind) with id \(id) in program '\(program)'; "
                                 + (list.isEmpty ? "it has no \(kind)s" : "valid: \(list.joined(separator: ", "))"))
        }
        return s
    }
}

import SluiceIR

/// What the control plane may write into a program, checked in one place for every backend, so
/// the runtime and XDP word an error the same way: tables, their keys and actions, entries,
/// defaults, counters, registers, meters and multicast groups. Built once per program; names
/// are looked up here, on the control plane's path, never per packet.
public struct EntryRules: Sendable {
    /// A table as the control plane sees it: its declaration, the width of each key and the
    /// parameters of each action it lists (in the table's order).
    public struct TableRules: Sendable {
        public let decl: Table
        public let keyWidths: [Int]
        public let actionParams: [[FieldDecl]]
    }

    public let program: Program
    let tables: [String: TableRules]

    public init(_ program: Program) {
        self.program = program
        let index = ProgramIndex(program)
        var tables: [String: TableRules] = [:]
        for t in program.tables {
            tables[t.name] = TableRules(decl: t, keyWidths: t.keys.map { index.width(of: $0.expr) ?? 64 },
                                        actionParams: t.actions.map { index.actions[$0]?.params ?? [] })
        }
        self.tables = tables
    }

    /// The table named `name`, or an error listing the program's tables.
    public func table(_ name: String) throws(ControlPlaneError) -> TableRules {
        guard let t = tables[name] else {
            throw ControlPlaneError("no table '\(name)' in program '\(program.name)'; tables: \(program.tables.map(\.name).joined(separator: ", "))")
        }
        return t
    }

    /// The index (in the table's list) of the action `call` names, once its arguments are
    /// counted and each fits its parameter.
    public func actionIndex(_ t: TableRules, _ call: ActionCall) throws(ControlPlaneError) -> Int {
        guard let ai = t.decl.actions.firstIndex(of: call.action) else {
            throw ControlPlaneError("table '\(t.decl.name)' has no action '\(call.action)'; actions: \(t.decl.actions.joined(separator: ", "))")
        }
        let params = t.actionParams[ai]
        guard params.count == call.args.count else {
            throw ControlPlaneError("action '\(call.action)' takes \(params.count) argument\(params.count == 1 ? "" : "s") (\(params.map { "\($0.name): \($0.width) bits" }.joined(separator: ", "))), got \(call.args.count)")
        }
        for (p, v) in zip(params, call.args) where v > WidthMask.u128(p.width) {
            throw ControlPlaneError("argument \(p.name) = \(IRPrinter.hex(v)) of action '\(call.action)' does not fit in \(p.width) bits")
        }
        return ai
    }

    /// Checks an entry's matches against the table's keys: one a key, of the key's kind (an
    /// exact value is accepted for any kind), every value within the key's width.
    public func checkMatches(_ t: TableRules, _ ms: [Match]) throws(ControlPlaneError) {
        let keys = t.decl.keys
        guard ms.count == keys.count else {
            throw ControlPlaneError("table '\(t.decl.name)' has \(keys.count) key\(keys.count == 1 ? "" : "s") (\(keys.map { "\($0.name): \($0.kind.rawValue)" }.joined(separator: ", "))), the entry gives \(ms.count)")
        }
        for (i, (k, m)) in zip(keys, ms).enumerated() {
            let w = t.keyWidths[i], full = WidthMask.u128(w)
            func fits(_ v: UInt128) throws(ControlPlaneError) {
                if v > full { throw ControlPlaneError("key \(k.name) of table '\(t.decl.name)': \(IRPrinter.hex(v)) does not fit in \(w) bits") }
            }
            switch (k.kind, m) {
            case (.exact, .exact(let v)): try fits(v)
            case (.lpm, .lpm(let v, let len)):
                try fits(v)
                if len < 0 || len > w { throw ControlPlaneError("key \(k.name) of table '\(t.decl.name)': prefix length \(len) is outside 0...\(w)") }
            case (.ternary, .ternary(let v, let mk)): try fits(v); try fits(mk)
            case (.range, .range(let lo, let hi)):
                try fits(lo); try fits(hi)
                if lo > hi { throw ControlPlaneError("key \(k.name) of table '\(t.decl.name)': range \(lo)..\(hi) is empty (low > high)") }
            case (.optional, .optional(let v)): if let v { try fits(v) }
            // Exact values are accepted where a wider match kind is declared.
            case (.ternary, .exact(let v)), (.lpm, .exact(let v)), (.optional, .exact(let v)), (.range, .exact(let v)): try fits(v)
            default:
                throw ControlPlaneError("key \(k.name) of table '\(t.decl.name)' is matched \(k.kind.rawValue), but the entry gives \(m)")
            }
        }
    }

    /// Exact values given for wider kinds become the equivalent match of the declared kind.
    public func normalize(_ t: TableRules, _ ms: [Match]) -> [Match] {
        zip(t.decl.keys, ms).enumerated().map { i, km in
            let (k, m) = km
            guard case .exact(let v) = m else { return m }
            let w = t.keyWidths[i]
            switch k.kind {
            case .exact: return m
            case .lpm: return .lpm(v, prefixLength: w)
            case .ternary: return .ternary(v, mask: WidthMask.u128(w))
            case .range: return .range(v, v)
            case .optional: return .optional(v)
            }
        }
    }

    /// Checks a new entry completely (the table's entries may change, matches, action and
    /// priority) and returns it normalized, with its action's index.
    public func entry(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> (table: TableRules, entry: TableEntry, action: Int) {
        let t = try changeable(table)
        try checkMatches(t, entry.matches)
        let ai = try actionIndex(t, entry.action)
        guard Int32(exactly: entry.priority) != nil else {
            throw ControlPlaneError("table '\(table)': priority \(entry.priority) is outside \(Int32.min)...\(Int32.max)")
        }
        var e = entry
        e.matches = normalize(t, entry.matches)
        return (t, e, ai)
    }

    /// The table, if the control plane may change its entries.
    public func changeable(_ table: String) throws(ControlPlaneError) -> TableRules {
        let t = try self.table(table)
        if t.decl.entriesAreConst { throw ControlPlaneError("table '\(table)' has const entries; the control plane cannot change them") }
        return t
    }

    /// The table and the index of `action`, if the control plane may set its default action.
    public func defaultAction(_ table: String, _ action: ActionCall) throws(ControlPlaneError) -> (table: TableRules, action: Int) {
        let t = try self.table(table)
        if t.decl.defaultIsConst { throw ControlPlaneError("table '\(table)' has a const default action (\(t.decl.defaultAction.action)); it cannot be changed") }
        return (t, try actionIndex(t, action))
    }

    public func duplicate(_ table: String, _ matches: [Match]) -> ControlPlaneError {
        ControlPlaneError("table '\(table)' already has an entry \(matches.map(IRPrinter.match).joined(separator: " ")); modify it or delete it first")
    }

    public func noEntry(_ h: EntryHandle) -> ControlPlaneError {
        ControlPlaneError("table '\(h.table)' has no entry with handle \(h.id)")
    }

    public func noDirectCounter(_ table: String) -> ControlPlaneError {
        ControlPlaneError("table '\(table)' has no direct counter; add DirectCounter() to it")
    }

    /// The counter named `name`; with `index`, one within its size.
    public func counter(_ name: String, index: Int? = nil) throws(ControlPlaneError) -> Counter {
        guard let c = program.counters.first(where: { $0.name == name }) else {
            throw ControlPlaneError("no counter '\(name)' in program '\(program.name)'; counters: \(program.counters.map(\.name).joined(separator: ", "))")
        }
        if let index, !(index >= 0 && index < c.size) { throw ControlPlaneError("counter '\(name)' has indices 0...\(c.size - 1); \(index) is outside") }
        return c
    }

    /// The register named `name`, with `index` within its size and `value` (if given) within
    /// its width.
    public func register(_ name: String, index: Int, value: UInt64? = nil) throws(ControlPlaneError) -> Register {
        guard let r = program.registers.first(where: { $0.name == name }) else {
            throw ControlPlaneError("no register '\(name)' in program '\(program.name)'; registers: \(program.registers.map(\.name).joined(separator: ", "))")
        }
        guard index >= 0 && index < r.size else { throw ControlPlaneError("register '\(name)' has indices 0...\(r.size - 1); \(index) is outside") }
        if let value, UInt128(value) > WidthMask.u128(r.width) {
            throw ControlPlaneError("register '\(name)' holds \(r.width)-bit values; \(value) does not fit")
        }
        return r
    }

    /// The meter named `name`, with `index` within its size and rates a meter can take.
    public func meter(_ name: String, index: Int, _ rates: MeterRates) throws(ControlPlaneError) -> Meter {
        guard let m = program.meters.first(where: { $0.name == name }) else {
            throw ControlPlaneError("no meter '\(name)' in program '\(program.name)'; meters: \(program.meters.map(\.name).joined(separator: ", "))")
        }
        guard index >= 0 && index < m.size else { throw ControlPlaneError("meter '\(name)' has indices 0...\(m.size - 1); \(index) is outside") }
        guard rates.cir <= rates.pir else { throw ControlPlaneError("meter '\(name)': the committed rate \(rates.cir) exceeds the peak rate \(rates.pir)") }
        return m
    }

    /// Checks a multicast group's id and members.
    public func multicastGroup(_ group: UInt16, _ members: [MulticastMember]) throws(ControlPlaneError) {
        guard group != 0 else { throw ControlPlaneError("multicast group 0 means 'no multicast'; use a group id of 1 or more") }
        for m in members where m.port > 511 {
            throw ControlPlaneError("multicast group \(group): port \(m.port) is outside 0...511 (ports are 9 bits)")
        }
    }

    public func noMulticastGroup(_ group: UInt16) -> ControlPlaneError { ControlPlaneError("no multicast group \(group)") }
}

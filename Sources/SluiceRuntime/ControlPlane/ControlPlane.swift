import SluiceIR

/// A control-plane operation failed; the message names the table, action, entry or extern and
/// what would be valid.
public struct ControlPlaneError: Error, CustomStringConvertible, Hashable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An installed entry, as the control plane refers to it.
public struct EntryHandle: Hashable, Sendable {
    public var table: String
    public var id: Int32
    /// Backends other than the runtime's (the XDP control plane) make their own handles.
    public init(table: String, id: Int32) { self.table = table; self.id = id }
}

/// The one control-plane interface every backend implements: tables, defaults, counters,
/// registers, meters, multicast groups and digests. Names are resolved here, never per packet.
public protocol ControlPlane: AnyObject {
    var program: Program { get }
    @discardableResult
    func insert(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle
    func modify(_ handle: EntryHandle, _ action: ActionCall) throws(ControlPlaneError)
    func delete(_ handle: EntryHandle) throws(ControlPlaneError)
    /// The handle of the entry with exactly these matches (and priority, for ternary/range tables).
    func find(_ table: String, _ matches: [Match], priority: Int) throws(ControlPlaneError) -> EntryHandle?
    func entries(_ table: String) throws(ControlPlaneError) -> [(EntryHandle, TableEntry)]
    func setDefault(_ table: String, _ action: ActionCall) throws(ControlPlaneError)
    func clear(_ table: String) throws(ControlPlaneError)
    /// Packets and bytes at an index of an indexed counter.
    func counter(_ name: String, index: Int) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64)
    func resetCounter(_ name: String) throws(ControlPlaneError)
    /// Packets and bytes that hit an entry (tables with direct counters).
    func directCounter(_ handle: EntryHandle) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64)
    func readRegister(_ name: String, index: Int) throws(ControlPlaneError) -> UInt64
    func writeRegister(_ name: String, index: Int, _ value: UInt64) throws(ControlPlaneError)
    func resetRegister(_ name: String) throws(ControlPlaneError)
    func setMeter(_ name: String, index: Int, _ rates: MeterRates) throws(ControlPlaneError)
    func setMulticastGroup(_ group: UInt16, _ members: [MulticastMember]) throws(ControlPlaneError)
    func deleteMulticastGroup(_ group: UInt16) throws(ControlPlaneError)
    /// Digests sent since the last call, oldest first.
    func drainDigests() -> [DigestMessage]
}

/// The control-plane side of a program: what it installs at start and how it reacts to digests.
public protocol ProgramController: AnyObject {
    func setup(_ cp: any ControlPlane) throws
    func handle(_ digests: [DigestMessage], _ cp: any ControlPlane) throws
}

extension ControlPlane {
    /// Insert, or replace the action of an existing entry with the same matches.
    @discardableResult
    public func upsert(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle {
        if let h = try find(table, entry.matches, priority: entry.priority) {
            try modify(h, entry.action)
            return h
        }
        return try insert(table, entry)
    }
}

extension Pipeline: ControlPlane {
    func table(_ name: String) throws(ControlPlaneError) -> RuntimeTable {
        guard let t = compiler.tables[name] else {
            throw ControlPlaneError("no table '\(name)' in program '\(program.name)'; tables: \(program.tables.map(\.name).joined(separator: ", "))")
        }
        return t
    }

    /// Check an action call against a table: listed, right argument count, each argument fits.
    func checkCall(_ t: RuntimeTable, _ call: ActionCall) throws(ControlPlaneError) -> Int32 {
        guard let ai = t.decl.actions.firstIndex(of: call.action) else {
            throw ControlPlaneError("table '\(t.decl.name)' has no action '\(call.action)'; actions: \(t.decl.actions.joined(separator: ", "))")
        }
        let params = t.actionParams[ai]
        guard params.count == call.args.count else {
            throw ControlPlaneError("action '\(call.action)' takes \(params.count) argument\(params.count == 1 ? "" : "s") (\(params.map { "\($0.name): \($0.width) bits" }.joined(separator: ", "))), got \(call.args.count)")
        }
        for (p, v) in zip(params, call.args) where v > Bits.mask128(p.width) {
            throw ControlPlaneError("argument \(p.name) = \(IRPrinter.hex(v)) of action '\(call.action)' does not fit in \(p.width) bits")
        }
        return Int32(ai)
    }

    func checkMatches(_ t: RuntimeTable, _ ms: [Match]) throws(ControlPlaneError) {
        let keys = t.decl.keys
        guard ms.count == keys.count else {
            throw ControlPlaneError("table '\(t.decl.name)' has \(keys.count) key\(keys.count == 1 ? "" : "s") (\(keys.map { "\($0.name): \($0.kind.rawValue)" }.joined(separator: ", "))), the entry gives \(ms.count)")
        }
        for (i, (k, m)) in zip(keys, ms).enumerated() {
            let w = t.fieldWidths[i], full = Bits.mask128(w)
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
    func normalize(_ t: RuntimeTable, _ ms: [Match]) -> [Match] {
        zip(t.decl.keys, ms).enumerated().map { i, km in
            let (k, m) = km
            guard case .exact(let v) = m else { return m }
            let w = t.fieldWidths[i]
            switch k.kind {
            case .exact: return m
            case .lpm: return .lpm(v, prefixLength: w)
            case .ternary: return .ternary(v, mask: Bits.mask128(w))
            case .range: return .range(v, v)
            case .optional: return .optional(v)
            }
        }
    }

    @discardableResult
    public func insert(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle {
        let t = try self.table(table)
        if t.decl.entriesAreConst { throw ControlPlaneError("table '\(table)' has const entries; the control plane cannot change them") }
        try checkMatches(t, entry.matches)
        let ai = try checkCall(t, entry.action)
        guard Int32(exactly: entry.priority) != nil else {
            throw ControlPlaneError("table '\(table)': priority \(entry.priority) is outside \(Int32.min)...\(Int32.max)")
        }
        var e = entry
        e.matches = normalize(t, entry.matches)
        if t.find(e.matches, priority: e.priority) != nil {
            throw ControlPlaneError("table '\(table)' already has an entry \(e.matches.map(IRPrinter.match).joined(separator: " ")); modify it or delete it first")
        }
        guard let id = t.insert(e, action: ai) else {
            throw ControlPlaneError("table '\(table)' is full (size \(t.decl.size)); raise its Size or delete entries")
        }
        return EntryHandle(table: table, id: id)
    }

    func live(_ h: EntryHandle) throws(ControlPlaneError) -> RuntimeTable {
        let t = try table(h.table)
        guard h.id >= 0, Int(h.id) < t.entries.count, t.entries[Int(h.id)] != nil else {
            throw ControlPlaneError("table '\(h.table)' has no entry with handle \(h.id)")
        }
        return t
    }

    public func modify(_ h: EntryHandle, _ action: ActionCall) throws(ControlPlaneError) {
        let t = try live(h)
        if t.decl.entriesAreConst { throw ControlPlaneError("table '\(h.table)' has const entries; the control plane cannot change them") }
        let ai = try checkCall(t, action)
        t.modify(h.id, action, action: ai)
    }

    public func delete(_ h: EntryHandle) throws(ControlPlaneError) {
        let t = try live(h)
        if t.decl.entriesAreConst { throw ControlPlaneError("table '\(h.table)' has const entries; the control plane cannot change them") }
        t.remove(h.id)
    }

    public func find(_ table: String, _ matches: [Match], priority: Int = 0) throws(ControlPlaneError) -> EntryHandle? {
        let t = try self.table(table)
        try checkMatches(t, matches)
        return t.find(normalize(t, matches), priority: priority).map { EntryHandle(table: table, id: $0) }
    }

    public func entries(_ table: String) throws(ControlPlaneError) -> [(EntryHandle, TableEntry)] {
        let t = try self.table(table)
        return t.entries.enumerated().compactMap { i, e in e.map { (EntryHandle(table: table, id: Int32(i)), $0) } }
    }

    public func setDefault(_ table: String, _ action: ActionCall) throws(ControlPlaneError) {
        let t = try self.table(table)
        if t.decl.defaultIsConst { throw ControlPlaneError("table '\(table)' has a const default action (\(t.decl.defaultAction.action)); it cannot be changed") }
        let ai = try checkCall(t, action)
        t.setDefault(action, action: ai)
    }

    public func clear(_ table: String) throws(ControlPlaneError) {
        for (h, _) in try entries(table) { try delete(h) }
    }

    func counterState(_ name: String) throws(ControlPlaneError) -> CounterState {
        guard let c = compiler.counters[name] else {
            throw ControlPlaneError("no counter '\(name)' in program '\(program.name)'; counters: \(program.counters.map(\.name).joined(separator: ", "))")
        }
        return c
    }

    public func counter(_ name: String, index: Int) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64) {
        let c = try counterState(name)
        guard index >= 0 && index < c.size else { throw ControlPlaneError("counter '\(name)' has indices 0...\(c.size - 1); \(index) is outside") }
        return (c.packets[index], c.bytes[index])
    }

    public func resetCounter(_ name: String) throws(ControlPlaneError) { try counterState(name).reset() }

    public func directCounter(_ h: EntryHandle) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64) {
        let t = try live(h)
        guard t.decl.directCounter else { throw ControlPlaneError("table '\(h.table)' has no direct counter; add DirectCounter() to it") }
        return (t.hitPackets[Int(h.id)], t.hitBytes[Int(h.id)])
    }

    func registerState(_ name: String, _ index: Int) throws(ControlPlaneError) -> RegisterState {
        guard let r = compiler.registers[name] else {
            throw ControlPlaneError("no register '\(name)' in program '\(program.name)'; registers: \(program.registers.map(\.name).joined(separator: ", "))")
        }
        guard index >= 0 && index < r.decl.size else { throw ControlPlaneError("register '\(name)' has indices 0...\(r.decl.size - 1); \(index) is outside") }
        return r
    }

    public func readRegister(_ name: String, index: Int) throws(ControlPlaneError) -> UInt64 {
        try registerState(name, index).cells[index]
    }

    public func writeRegister(_ name: String, index: Int, _ value: UInt64) throws(ControlPlaneError) {
        let r = try registerState(name, index)
        guard value <= r.mask else { throw ControlPlaneError("register '\(name)' holds \(r.decl.width)-bit values; \(value) does not fit") }
        r.cells[index] = value
    }

    public func resetRegister(_ name: String) throws(ControlPlaneError) {
        let r = try registerState(name, 0)
        r.cells.update(repeating: 0, count: r.decl.size)
    }

    public func setMeter(_ name: String, index: Int, _ rates: MeterRates) throws(ControlPlaneError) {
        guard let m = compiler.meters[name] else { throw ControlPlaneError("no meter '\(name)' in program '\(program.name)'") }
        guard index >= 0 && index < m.decl.size else { throw ControlPlaneError("meter '\(name)' has indices 0...\(m.decl.size - 1); \(index) is outside") }
        guard rates.cir <= rates.pir else { throw ControlPlaneError("meter '\(name)': the committed rate \(rates.cir) exceeds the peak rate \(rates.pir)") }
        m.configure(index, rates)
    }

    public func setMulticastGroup(_ group: UInt16, _ members: [MulticastMember]) throws(ControlPlaneError) {
        guard group != 0 else { throw ControlPlaneError("multicast group 0 means 'no multicast'; use a group id of 1 or more") }
        for m in members where m.port > 511 {
            throw ControlPlaneError("multicast group \(group): port \(m.port) is outside 0...511 (ports are 9 bits)")
        }
        groups[group] = members
        rebuildMulticast()
    }

    public func deleteMulticastGroup(_ group: UInt16) throws(ControlPlaneError) {
        guard groups.removeValue(forKey: group) != nil else { throw ControlPlaneError("no multicast group \(group)") }
        rebuildMulticast()
    }

    /// Members of a multicast group, or nil.
    public func multicastGroup(_ group: UInt16) -> [MulticastMember]? { groups[group] }

    public func drainDigests() -> [DigestMessage] {
        var out: [DigestMessage] = []
        let ring = compiler.digests
        ring.drain { id, values in
            let d = program.digests[Int(id)]
            out.append(DigestMessage(name: d.name, values: (0..<d.fields.count).map { values[$0] }))
        }
        stats.digestsDropped = ring.dropped
        return out
    }
}

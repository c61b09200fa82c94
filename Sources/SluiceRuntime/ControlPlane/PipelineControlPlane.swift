import SluiceIR
import SluiceControlPlane

/// The runtime's control plane: `EntryRules` checks every request (the same checks and words
/// as every other backend), then the runtime's tables and extern state take it.
extension Pipeline: ControlPlane {
    func table(_ name: String) throws(ControlPlaneError) -> RuntimeTable {
        _ = try compiler.rules.table(name)
        return compiler.tables[name]!
    }

    @discardableResult
    public func insert(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle {
        let (_, e, ai) = try compiler.rules.entry(table, entry)
        let t = compiler.tables[table]!
        if t.find(e.matches, priority: e.priority) != nil { throw compiler.rules.duplicate(table, e.matches) }
        guard let id = t.insert(e, action: Int32(ai)) else {
            throw ControlPlaneError("table '\(table)' is full (size \(t.decl.size)); raise its Size or delete entries", full: true)
        }
        return EntryHandle(table: table, id: id)
    }

    func live(_ h: EntryHandle) throws(ControlPlaneError) -> RuntimeTable {
        let t = try table(h.table)
        guard h.id >= 0, Int(h.id) < t.entries.count, t.entries[Int(h.id)] != nil else { throw compiler.rules.noEntry(h) }
        return t
    }

    public func modify(_ h: EntryHandle, _ action: ActionCall) throws(ControlPlaneError) {
        let t = try live(h)
        let ai = try compiler.rules.actionIndex(compiler.rules.changeable(h.table), action)
        t.modify(h.id, action, action: Int32(ai))
    }

    public func delete(_ h: EntryHandle) throws(ControlPlaneError) {
        let t = try live(h)
        _ = try compiler.rules.changeable(h.table)
        t.remove(h.id)
    }

    public func find(_ table: String, _ matches: [Match], priority: Int = 0) throws(ControlPlaneError) -> EntryHandle? {
        let rules = try compiler.rules.table(table)
        try compiler.rules.checkMatches(rules, matches)
        return compiler.tables[table]!.find(compiler.rules.normalize(rules, matches), priority: priority).map { EntryHandle(table: table, id: $0) }
    }

    public func entries(_ table: String) throws(ControlPlaneError) -> [(EntryHandle, TableEntry)] {
        let t = try self.table(table)
        return t.entries.enumerated().compactMap { i, e in e.map { (EntryHandle(table: table, id: Int32(i)), $0) } }
    }

    public func entry(_ h: EntryHandle) throws(ControlPlaneError) -> TableEntry {
        try live(h).entries[Int(h.id)]!
    }

    public func setDefault(_ table: String, _ action: ActionCall) throws(ControlPlaneError) {
        let (_, ai) = try compiler.rules.defaultAction(table, action)
        compiler.tables[table]!.setDefault(action, action: Int32(ai))
    }

    public func clear(_ table: String) throws(ControlPlaneError) {
        for (h, _) in try entries(table) { try delete(h) }
    }

    public func counter(_ name: String, index: Int) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64) {
        _ = try compiler.rules.counter(name, index: index)
        let c = compiler.counters[name]!
        return (c.packets[index], c.bytes[index])
    }

    public func resetCounter(_ name: String) throws(ControlPlaneError) {
        _ = try compiler.rules.counter(name)
        compiler.counters[name]!.reset()
    }

    public func writeCounter(_ name: String, index: Int, packets: UInt64, bytes: UInt64) throws(ControlPlaneError) {
        _ = try compiler.rules.counter(name, index: index)
        let c = compiler.counters[name]!
        c.packets[index] = packets
        c.bytes[index] = bytes
    }

    public func directCounter(_ h: EntryHandle) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64) {
        let t = try live(h)
        guard t.decl.directCounter else { throw compiler.rules.noDirectCounter(h.table) }
        return (t.hitPackets[Int(h.id)], t.hitBytes[Int(h.id)])
    }

    public func writeDirectCounter(_ h: EntryHandle, packets: UInt64, bytes: UInt64) throws(ControlPlaneError) {
        let t = try live(h)
        guard t.decl.directCounter else { throw compiler.rules.noDirectCounter(h.table) }
        t.hitPackets[Int(h.id)] = packets
        t.hitBytes[Int(h.id)] = bytes
    }

    public func readRegister(_ name: String, index: Int) throws(ControlPlaneError) -> UInt64 {
        _ = try compiler.rules.register(name, index: index)
        return compiler.registers[name]!.cells[index]
    }

    public func writeRegister(_ name: String, index: Int, _ value: UInt64) throws(ControlPlaneError) {
        _ = try compiler.rules.register(name, index: index, value: value)
        compiler.registers[name]!.cells[index] = value
    }

    public func resetRegister(_ name: String) throws(ControlPlaneError) {
        let decl = try compiler.rules.register(name, index: 0)
        compiler.registers[name]!.cells.update(repeating: 0, count: decl.size)
    }

    public func setMeter(_ name: String, index: Int, _ rates: MeterRates) throws(ControlPlaneError) {
        _ = try compiler.rules.meter(name, index: index, rates)
        compiler.meters[name]!.configure(index, rates)
    }

    public func clearMeter(_ name: String, index: Int) throws(ControlPlaneError) {
        _ = try compiler.rules.meter(name, index: index, MeterRates(cir: 0, cbs: 0, pir: 0, pbs: 0))
        compiler.meters[name]!.cells[index] = MeterState.Cell()
    }

    public func setMulticastGroup(_ group: UInt16, _ members: [MulticastMember]) throws(ControlPlaneError) {
        try compiler.rules.multicastGroup(group, members)
        groups[group] = members
        rebuildMulticast()
    }

    public func deleteMulticastGroup(_ group: UInt16) throws(ControlPlaneError) {
        guard groups.removeValue(forKey: group) != nil else { throw compiler.rules.noMulticastGroup(group) }
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
        counters.digestsDropped = ring.dropped
        return out
    }
}

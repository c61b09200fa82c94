import Foundation
import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime

extension P4RuntimeDevice {
    /// `Read`: the entities each request entity selects, with the specification's wildcards (an
    /// id of 0 is every resource of that kind; a table entry with no match fields is every entry
    /// of the table; no index is every index).
    public func read(_ req: P4_V1_ReadRequest) throws(P4RuntimeError) -> [P4_V1_Entity] {
        try checkDevice(req.deviceID)
        return try lock.withLock { () throws(P4RuntimeError) -> [P4_V1_Entity] in
            guard let p = pipeline else {
                throw P4RuntimeError(.failedPrecondition, "Read: no forwarding pipeline is set on device \(deviceID); send SetForwardingPipelineConfig first")
            }
            var out: [P4_V1_Entity] = []
            var failure: P4RuntimeError?
            _ = try? target.withControlPlane { cp in
                do throws(P4RuntimeError) {
                    for e in req.entities { try readEntity(e, p, cp, &out) }
                } catch { failure = error }
            }
            if let failure { throw failure }
            return out
        }
    }

    func readEntity(_ e: P4_V1_Entity, _ p: Pipeline, _ cp: any ControlPlane, _ out: inout [P4_V1_Entity]) throws(P4RuntimeError) {
        let s = p.schema
        switch e.entity {
        case .tableEntry(let q)?:
            let tables = q.tableID == 0 ? s.tables.values.sorted { $0.id < $1.id } : [try s.table(q.tableID)]
            for t in tables {
                if q.isDefaultAction {
                    var r = P4_V1_TableEntry()
                    r.tableID = t.id
                    r.isDefaultAction = true
                    let call = p.defaults[t.name] ?? t.table.defaultAction
                    r.action = WireValues.action(call, id: s.actionIDs[call.action] ?? 0)
                    var ent = P4_V1_Entity(); ent.tableEntry = r; out.append(ent)
                    continue
                }
                let wanted: [Match]? = q.match.isEmpty ? nil : try WireValues.matches(q.match, t)
                // counter_data set in the request: the entry's direct counter comes back with it.
                let withCounter = q.hasCounterData && t.table.directCounter
                for (h, entry) in try checked(cp.entries(t.name)) {
                    if let wanted, wanted != entry.matches { continue }
                    if q.priority != 0 && Int(q.priority) != entry.priority { continue }
                    let counter = withCounter ? try checked(cp.directCounter(h)) : nil
                    var ent = P4_V1_Entity(); ent.tableEntry = tableEntry(entry, t, s, counter: counter); out.append(ent)
                }
            }
        case .directCounterEntry(let q)?:
            let tables = q.tableEntry.tableID == 0 ? s.directCounters.values.sorted { $0.id < $1.id } : [try s.table(q.tableEntry.tableID)]
            for t in tables {
                guard t.table.directCounter else {
                    throw P4RuntimeError(.invalidArgument, "table '\(t.name)' (id \(t.id)) has no direct counter")
                }
                let wanted: [Match]? = q.tableEntry.match.isEmpty ? nil : try WireValues.matches(q.tableEntry.match, t)
                var found = false
                for (h, entry) in try checked(cp.entries(t.name)) {
                    if let wanted, wanted != entry.matches { continue }
                    if q.tableEntry.priority != 0 && Int(q.tableEntry.priority) != entry.priority { continue }
                    found = true
                    let c = try checked(cp.directCounter(h))
                    var d = P4_V1_DirectCounterEntry()
                    d.tableEntry = tableEntry(entry, t, s, counter: nil)
                    d.data.packetCount = Int64(clamping: c.packets)
                    d.data.byteCount = Int64(clamping: c.bytes)
                    var ent = P4_V1_Entity(); ent.directCounterEntry = d; out.append(ent)
                }
                // One entry asked for by its match fields must exist, as the specification says.
                if wanted != nil && !found {
                    throw P4RuntimeError(.notFound, "direct counter of table '\(t.name)' (id \(t.id)): no entry with these match fields\(q.tableEntry.priority != 0 ? " and priority \(q.tableEntry.priority)" : ""); read with no match fields for every entry")
                }
            }
        case .counterEntry(let q)?:
            let counters = q.counterID == 0 ? s.counters.values.sorted { $0.id < $1.id } : [try P4RuntimeSchema.sized("counter", q.counterID, in: s.counters, program: s.program.name)]
            for c in counters {
                if q.hasIndex { try checkIndex(q.index.index, c.size, "counter '\(c.name)'") }
                let indices = q.hasIndex ? [Int(q.index.index)] : Array(0..<c.size)
                for i in indices {
                    let v = try checked(cp.counter(c.name, index: i))
                    var r = P4_V1_CounterEntry()
                    r.counterID = c.id
                    r.index.index = Int64(i)
                    r.data.packetCount = Int64(clamping: v.packets)
                    r.data.byteCount = Int64(clamping: v.bytes)
                    var ent = P4_V1_Entity(); ent.counterEntry = r; out.append(ent)
                }
            }
        case .registerEntry(let q)?:
            let registers = q.registerID == 0 ? s.registers.values.sorted { $0.id < $1.id } : [try P4RuntimeSchema.sized("register", q.registerID, in: s.registers, program: s.program.name)]
            for r in registers {
                if q.hasIndex { try checkIndex(q.index.index, r.size, "register '\(r.name)'") }
                let indices = q.hasIndex ? [Int(q.index.index)] : Array(0..<r.size)
                for i in indices {
                    var x = P4_V1_RegisterEntry()
                    x.registerID = r.id
                    x.index.index = Int64(i)
                    x.data.bitstring = WireValues.encode(UInt128(try checked(cp.readRegister(r.name, index: i))))
                    var ent = P4_V1_Entity(); ent.registerEntry = x; out.append(ent)
                }
            }
        case .meterEntry(let q)?:
            let meters = q.meterID == 0 ? s.meters.values.sorted { $0.id < $1.id } : [try P4RuntimeSchema.sized("meter", q.meterID, in: s.meters, program: s.program.name)]
            for m in meters {
                if q.hasIndex { try checkIndex(q.index.index, m.size, "meter '\(m.name)'") }
                let indices = q.hasIndex ? [q.index.index] : (0..<Int64(m.size)).map { $0 }
                for i in indices {
                    var x = P4_V1_MeterEntry()
                    x.meterID = m.id
                    x.index.index = i
                    if let c = p.meters[m.id]?[i] { x.config = c }
                    var ent = P4_V1_Entity(); ent.meterEntry = x; out.append(ent)
                }
            }
        case .packetReplicationEngineEntry(let q)?:
            let id: UInt32
            if case .multicastGroupEntry(let g)? = q.type { id = g.multicastGroupID } else { id = 0 }
            for (gid, replicas) in p.groups.sorted(by: { $0.key < $1.key }) where id == 0 || id == gid {
                var g = P4_V1_MulticastGroupEntry()
                g.multicastGroupID = gid
                g.replicas = replicas
                var pre = P4_V1_PacketReplicationEngineEntry(); pre.multicastGroupEntry = g
                var ent = P4_V1_Entity(); ent.packetReplicationEngineEntry = pre; out.append(ent)
            }
        case .digestEntry(let q)?:
            for (id, config) in p.digests.sorted(by: { $0.key < $1.key }) where q.digestID == 0 || q.digestID == id {
                var d = P4_V1_DigestEntry(); d.digestID = id; d.config = config
                var ent = P4_V1_Entity(); ent.digestEntry = d; out.append(ent)
            }
        case .externEntry?, .actionProfileMember?, .actionProfileGroup?, .directMeterEntry?, .valueSetEntry?:
            throw P4RuntimeError(.unimplemented, "Read of this entity kind: Sluice programs have no action profiles, direct meters, value sets or other externs")
        case nil:
            throw P4RuntimeError(.invalidArgument, "Read: an entity is empty; set one kind (table_entry with table_id 0 reads every table)")
        }
    }

    func tableEntry(_ entry: TableEntry, _ t: P4RuntimeSchema.TableInfo, _ s: P4RuntimeSchema, counter: (packets: UInt64, bytes: UInt64)?) -> P4_V1_TableEntry {
        var r = P4_V1_TableEntry()
        r.tableID = t.id
        r.match = WireValues.fieldMatches(entry.matches, t)
        r.priority = Int32(clamping: entry.priority)
        r.action = WireValues.action(entry.action, id: s.actionIDs[entry.action.action] ?? 0)
        if let counter {
            r.counterData.packetCount = Int64(clamping: counter.packets)
            r.counterData.byteCount = Int64(clamping: counter.bytes)
        }
        return r
    }
}

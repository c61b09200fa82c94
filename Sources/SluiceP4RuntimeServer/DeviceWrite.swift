import Foundation
import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime

/// A batch in which some updates failed: one result per update, in order (nil for those that
/// succeeded), which the service sends as a `google.rpc.Status` carrying one `p4.v1.Error` each.
public struct P4RuntimeBatchError: Error, Sendable {
    public var results: [P4RuntimeError?]
    public var summary: String {
        let failed = results.enumerated().compactMap { i, e in e.map { "update \(i): \($0)" } }
        return "\(failed.count) of \(results.count) updates failed: " + failed.prefix(3).joined(separator: "; ") + (failed.count > 3 ? "; ..." : "")
    }
}

extension P4RuntimeDevice {
    /// `Write`: every update applied in order (CONTINUE_ON_ERROR), each on the switch between
    /// packets. Request-level problems (device, arbitration, no pipeline, atomicity) throw
    /// `P4RuntimeError`; failed updates throw `P4RuntimeBatchError`.
    public func write(_ req: P4_V1_WriteRequest) throws -> Void {
        try checkDevice(req.deviceID)
        try arbitration.checkPrimary(req.electionID, hasElectionID: req.hasElectionID, role: req.role, what: "Write")
        switch req.atomicity {
        case .continueOnError: break
        case .rollbackOnError, .dataplaneAtomic:
            throw P4RuntimeError(.unimplemented, "Write: atomicity \(req.atomicity == .rollbackOnError ? "ROLLBACK_ON_ERROR" : "DATAPLANE_ATOMIC") is not supported; use CONTINUE_ON_ERROR")
        case .UNRECOGNIZED(let n): throw P4RuntimeError(.invalidArgument, "Write: atomicity \(n) is not one of CONTINUE_ON_ERROR, ROLLBACK_ON_ERROR, DATAPLANE_ATOMIC")
        }
        var results: [P4RuntimeError?] = []
        results.reserveCapacity(req.updates.count)
        var failed = false
        try lock.withLock { () throws(P4RuntimeError) in
            guard pipeline != nil else {
                throw P4RuntimeError(.failedPrecondition, "Write: no forwarding pipeline is set on device \(deviceID); send SetForwardingPipelineConfig first")
            }
            let ran: Void? = try? target.withControlPlane { cp in
                for u in req.updates {
                    do throws(P4RuntimeError) {
                        try apply(u, cp)
                        results.append(nil)
                    } catch {
                        results.append(error)
                        failed = true
                    }
                }
            }
            if ran == nil { throw P4RuntimeError(.failedPrecondition, "Write: the switch runs no program") }
        }
        if failed { throw P4RuntimeBatchError(results: results) }
    }

    /// One update, with `lock` and the switch's lock held.
    func apply(_ u: P4_V1_Update, _ cp: any ControlPlane) throws(P4RuntimeError) {
        let op: String
        switch u.type {
        case .insert: op = "INSERT"
        case .modify: op = "MODIFY"
        case .delete: op = "DELETE"
        default: throw P4RuntimeError(.invalidArgument, "update type \(u.type.rawValue) is not one of INSERT, MODIFY, DELETE")
        }
        guard let schema = pipeline?.schema else { throw P4RuntimeError(.failedPrecondition, "no forwarding pipeline is set") }
        switch u.entity.entity {
        case .tableEntry(let e)?: try writeTableEntry(u.type, op, e, schema, cp)
        case .counterEntry(let e)?: try writeCounter(u.type, op, e, schema, cp)
        case .registerEntry(let e)?:
            let r = try P4RuntimeSchema.sized("register", e.registerID, in: schema.registers, program: schema.program.name)
            guard u.type == .modify else { throw P4RuntimeError(.invalidArgument, "register '\(r.name)': \(op); registers take MODIFY only") }
            guard case .bitstring(let bytes)? = e.data.data else {
                throw P4RuntimeError(.invalidArgument, "register '\(r.name)': data must be a bitstring of \(r.width) bits")
            }
            let v = try WireValues.decode(bytes, width: min(r.width, 64), "register '\(r.name)' data")
            if e.hasIndex {
                try checkIndex(e.index.index, r.size, "register '\(r.name)'")
                try checked(cp.writeRegister(r.name, index: Int(e.index.index), UInt64(v)))
            } else {
                for i in 0..<r.size { try checked(cp.writeRegister(r.name, index: i, UInt64(v))) }
            }
        case .meterEntry(let e)?: try writeMeter(u.type, op, e, schema, cp)
        case .packetReplicationEngineEntry(let pre)?:
            guard case .multicastGroupEntry(let g)? = pre.type else {
                throw P4RuntimeError(.unimplemented, "packet replication: only multicast_group_entry is supported (no clone sessions)")
            }
            let what = "multicast group \(g.multicastGroupID)"
            guard g.multicastGroupID > 0, g.multicastGroupID <= UInt32(UInt16.max) else {
                throw P4RuntimeError(.invalidArgument, "\(what): ids are 1...65535")
            }
            let exists = pipeline?.groups[g.multicastGroupID] != nil
            switch u.type {
            case .insert where exists: throw P4RuntimeError(.alreadyExists, "\(what) exists; MODIFY it or DELETE it first")
            case .modify where !exists, .delete where !exists: throw P4RuntimeError(.notFound, "\(what) does not exist; INSERT it first")
            default: break
            }
            if u.type == .delete {
                try checked(cp.deleteMulticastGroup(UInt16(g.multicastGroupID)))
                pipeline?.groups[g.multicastGroupID] = nil
            } else {
                var members: [MulticastMember] = []
                for r in g.replicas {
                    let port: UInt32
                    switch r.portKind {
                    case .egressPort(let p)?: port = p
                    case .port(let bytes)?: port = UInt32(try WireValues.decode(bytes, width: 9, "\(what) replica port"))
                    case nil: throw P4RuntimeError(.invalidArgument, "\(what): a replica has no port")
                    }
                    guard port < 512, r.instance <= UInt32(UInt16.max) else {
                        throw P4RuntimeError(.invalidArgument, "\(what): replica port \(port) instance \(r.instance); ports are 0...511, instances 0...65535")
                    }
                    members.append(MulticastMember(port: UInt16(port), rid: UInt16(r.instance)))
                }
                try checked(cp.setMulticastGroup(UInt16(g.multicastGroupID), members))
                pipeline?.groups[g.multicastGroupID] = g.replicas
            }
        case .digestEntry(let d)?:
            guard let digest = schema.digests[d.digestID] else {
                throw schema.unknown("digest", d.digestID, schema.digests.map { ($0.value.name, $0.key) })
            }
            let exists = pipeline?.digests[d.digestID] != nil
            switch u.type {
            case .insert where exists: throw P4RuntimeError(.alreadyExists, "digest '\(digest.name)' is already configured; MODIFY it")
            case .modify where !exists, .delete where !exists: throw P4RuntimeError(.notFound, "digest '\(digest.name)' is not configured; INSERT it first")
            default: break
            }
            pipeline?.digests[d.digestID] = u.type == .delete ? nil : d.config
        case .directCounterEntry(let e)?: try writeDirectCounter(u.type, op, e, schema, cp)
        case .externEntry?, .actionProfileMember?, .actionProfileGroup?, .directMeterEntry?, .valueSetEntry?:
            throw P4RuntimeError(.unimplemented, "\(op) of this entity kind: the program has no such resources (Sluice has no action profiles, direct meters, value sets or externs beyond counters, meters and registers)")
        case nil:
            throw P4RuntimeError(.invalidArgument, "\(op): the update's entity is empty")
        }
    }

    /// A control-plane failure as a P4Runtime error (the backend's message kept): a full table
    /// is RESOURCE_EXHAUSTED, anything else the request's fault.
    func checked<T>(_ body: @autoclosure () throws(ControlPlaneError) -> T) throws(P4RuntimeError) -> T {
        do { return try body() } catch { throw P4RuntimeError(error.full ? .resourceExhausted : .invalidArgument, error.message) }
    }

    /// A negative index is INVALID_ARGUMENT, one past the end OUT_OF_RANGE, as the specification
    /// says for counters, meters and registers.
    func checkIndex(_ i: Int64, _ size: Int, _ what: String) throws(P4RuntimeError) {
        guard i >= 0 else { throw P4RuntimeError(.invalidArgument, "\(what): index \(i) is negative; valid: 0...\(size - 1)") }
        guard i < Int64(size) else { throw P4RuntimeError(.outOfRange, "\(what): index \(i); valid: 0...\(size - 1)") }
    }

    /// Counts a controller writes: neither may be negative.
    func counts(_ d: P4_V1_CounterData, _ what: String) throws(P4RuntimeError) -> (packets: UInt64, bytes: UInt64) {
        guard d.packetCount >= 0, d.byteCount >= 0 else {
            throw P4RuntimeError(.invalidArgument, "\(what): packet_count \(d.packetCount), byte_count \(d.byteCount); counts must be >= 0")
        }
        return (UInt64(d.packetCount), UInt64(d.byteCount))
    }

    /// MeterEntry MODIFY: the cell at `index`, or every cell with no index, takes the config; with
    /// no config it goes back to the default (every packet green), as the specification says.
    func writeMeter(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_MeterEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane) throws(P4RuntimeError) {
        let m = try P4RuntimeSchema.sized("meter", e.meterID, in: schema.meters, program: schema.program.name)
        let what = "meter '\(m.name)' (id \(m.id))"
        guard type == .modify else { throw P4RuntimeError(.invalidArgument, "\(what): \(op); meters take MODIFY only") }
        if e.hasIndex { try checkIndex(e.index.index, m.size, what) }
        guard !e.hasCounterData else {
            throw P4RuntimeError(.unimplemented, "\(what): counter_data; Sluice meters keep no per-color counters, leave it unset")
        }
        let rates = e.hasConfig ? try meterRates(e.config, what) : nil
        for i in e.hasIndex ? [e.index.index] : Array(0..<Int64(m.size)) {
            if let rates {
                try checked(cp.setMeter(m.name, index: Int(i), rates))
                pipeline?.meters[m.id, default: [:]][i] = e.config
            } else {
                try checked(cp.clearMeter(m.name, index: Int(i)))
                pipeline?.meters[m.id]?[i] = nil
            }
        }
    }

    /// A two-rate three-color config (the type P4Info gives every Sluice meter) as the control
    /// plane's rates.
    func meterRates(_ c: P4_V1_MeterConfig, _ what: String) throws(P4RuntimeError) -> MeterRates {
        guard c.cir >= 0, c.cburst >= 0, c.pir >= 0, c.pburst >= 0, c.cir <= c.pir else {
            throw P4RuntimeError(.invalidArgument, "\(what): config cir \(c.cir), cburst \(c.cburst), pir \(c.pir), pburst \(c.pburst); rates and bursts must be >= 0 and cir <= pir")
        }
        guard c.eburst == 0 else {
            throw P4RuntimeError(.invalidArgument, "\(what): config eburst \(c.eburst); the meter is two-rate three-color (RFC 2698), which takes no eburst")
        }
        return MeterRates(cir: UInt64(c.cir), cbs: UInt64(c.cburst), pir: UInt64(c.pir), pbs: UInt64(c.pburst))
    }

    /// CounterEntry MODIFY: the cell at `index`, or every cell with no index, set to `data`;
    /// with no data, nothing changes (the specification's words).
    func writeCounter(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_CounterEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane) throws(P4RuntimeError) {
        let c = try P4RuntimeSchema.sized("counter", e.counterID, in: schema.counters, program: schema.program.name)
        let what = "counter '\(c.name)' (id \(c.id))"
        guard type == .modify else { throw P4RuntimeError(.invalidArgument, "\(what): \(op); counters take MODIFY only") }
        if e.hasIndex { try checkIndex(e.index.index, c.size, what) }
        guard e.hasData else { return }
        let v = try counts(e.data, what)
        for i in e.hasIndex ? [Int(e.index.index)] : Array(0..<c.size) {
            try checked(cp.writeCounter(c.name, index: i, packets: v.packets, bytes: v.bytes))
        }
    }

    func writeTableEntry(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_TableEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane) throws(P4RuntimeError) {
        let t = try schema.table(e.tableID)
        let where_ = "table '\(t.name)' (id \(t.id))"
        if e.isDefaultAction {
            guard type == .modify else {
                throw P4RuntimeError(.invalidArgument, "\(where_): \(op) of the default entry; the default entry takes MODIFY only")
            }
            guard e.match.isEmpty, e.priority == 0 else { throw P4RuntimeError(.invalidArgument, "\(where_): the default entry has no match fields and no priority") }
            guard !e.hasCounterData else {
                throw P4RuntimeError(.unimplemented, "\(where_): counter_data of the default entry; the default entry has no direct counter in Sluice, leave it unset")
            }
            guard !t.table.defaultIsConst else {
                throw P4RuntimeError(.permissionDenied, "\(where_): the default action '\(t.table.defaultAction.action)' is const; it cannot be changed")
            }
            let call: ActionCall
            if e.hasAction {
                call = try tableAction(e.action, t, schema, where_)
            } else {
                call = t.table.defaultAction // MODIFY without an action resets the default.
            }
            try checked(cp.setDefault(t.name, call))
            pipeline?.defaults[t.name] = call
            return
        }
        if t.table.entriesAreConst {
            throw P4RuntimeError(.permissionDenied, "\(where_): its entries are const; they cannot change")
        }
        let (matches, existing) = try lookUp(e, t, where_, cp)
        // counter_data sets the entry's direct counter (INSERT: its first value; MODIFY: unset keeps it).
        var counter: (packets: UInt64, bytes: UInt64)?
        if e.hasCounterData && type != .delete {
            guard t.table.directCounter else {
                throw P4RuntimeError(.invalidArgument, "\(where_): counter_data is set but the table has no direct counter; leave it unset")
            }
            counter = try counts(e.counterData, "\(where_): counter_data")
        }
        switch type {
        case .insert:
            if existing != nil { throw P4RuntimeError(.alreadyExists, "\(where_): an entry with these match fields\(t.needsPriority ? " and priority \(e.priority)" : "") exists; MODIFY it or DELETE it first") }
            guard e.hasAction else { throw P4RuntimeError(.invalidArgument, "\(where_): INSERT without an action") }
            let call = try tableAction(e.action, t, schema, where_)
            let h = try checked(cp.insert(t.name, TableEntry(matches, call, priority: Int(e.priority))))
            if let counter { try checked(cp.writeDirectCounter(h, packets: counter.packets, bytes: counter.bytes)) }
        case .modify:
            guard let h = existing else { throw P4RuntimeError(.notFound, "\(where_): no entry with these match fields\(t.needsPriority ? " and priority \(e.priority)" : ""); INSERT it first") }
            guard e.hasAction else { throw P4RuntimeError(.invalidArgument, "\(where_): MODIFY without an action") }
            let call = try tableAction(e.action, t, schema, where_)
            try checked(cp.modify(h, call))
            if let counter { try checked(cp.writeDirectCounter(h, packets: counter.packets, bytes: counter.bytes)) }
        default:
            guard let h = existing else { throw P4RuntimeError(.notFound, "\(where_): no entry with these match fields\(t.needsPriority ? " and priority \(e.priority)" : "") to delete") }
            try checked(cp.delete(h))
        }
    }

    /// An entry's matches as the IR's, its priority checked against the table's kinds, and the
    /// handle of the installed entry with both (nil when there is none).
    func lookUp(_ e: P4_V1_TableEntry, _ t: P4RuntimeSchema.TableInfo, _ where_: String, _ cp: any ControlPlane) throws(P4RuntimeError) -> ([Match], EntryHandle?) {
        let matches = try WireValues.matches(e.match, t)
        if t.needsPriority {
            guard e.priority > 0 else { throw P4RuntimeError(.invalidArgument, "\(where_): priority \(e.priority); entries of a table with ternary, range or optional fields need a priority >= 1") }
        } else {
            guard e.priority == 0 else { throw P4RuntimeError(.invalidArgument, "\(where_): priority \(e.priority); a table with only exact and lpm fields takes priority 0") }
        }
        return (matches, try checked(cp.find(t.name, matches, priority: Int(e.priority))))
    }

    /// DirectCounterEntry MODIFY: the packets and bytes of the entry its `table_entry` names (by
    /// match fields and priority); with no data, nothing changes. INSERT and DELETE are the
    /// entry's own (its counter starts and ends with it).
    func writeDirectCounter(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_DirectCounterEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane) throws(P4RuntimeError) {
        let withCounters = schema.directCounters.values.sorted { $0.id < $1.id }.map { "\($0.name) (id \($0.id))" }
        let valid = withCounters.isEmpty ? "program '\(schema.program.name)' has no table with one" : "tables with one: " + withCounters.joined(separator: ", ")
        guard e.tableEntry.tableID != 0 else {
            throw P4RuntimeError(.invalidArgument, "direct counter: table_entry.table_id is 0; a write names one table's entry (\(valid))")
        }
        let t = try schema.table(e.tableEntry.tableID)
        let where_ = "direct counter of table '\(t.name)' (id \(t.id))"
        guard type == .modify else {
            throw P4RuntimeError(.invalidArgument, "\(where_): \(op); direct counters take MODIFY only (an entry's counter comes with its INSERT and goes with its DELETE)")
        }
        guard t.table.directCounter else { throw P4RuntimeError(.invalidArgument, "table '\(t.name)' (id \(t.id)) has no direct counter; \(valid)") }
        guard !e.tableEntry.isDefaultAction else {
            throw P4RuntimeError(.unimplemented, "\(where_): the default entry has no direct counter in Sluice (only installed entries count their hits)")
        }
        let (_, existing) = try lookUp(e.tableEntry, t, where_, cp)
        guard let h = existing else {
            throw P4RuntimeError(.notFound, "\(where_): no entry with these match fields\(t.needsPriority ? " and priority \(e.tableEntry.priority)" : ""); INSERT it first")
        }
        guard e.hasData else { return }
        let v = try counts(e.data, where_)
        try checked(cp.writeDirectCounter(h, packets: v.packets, bytes: v.bytes))
    }

    func tableAction(_ a: P4_V1_TableAction, _ t: P4RuntimeSchema.TableInfo, _ schema: P4RuntimeSchema, _ where_: String) throws(P4RuntimeError) -> ActionCall {
        guard case .action(let action)? = a.type else {
            throw P4RuntimeError(.unimplemented, "\(where_): only direct actions are supported (no action profiles)")
        }
        return try WireValues.actionCall(action, try schema.action(action.actionID, in: t), where_: where_)
    }
}

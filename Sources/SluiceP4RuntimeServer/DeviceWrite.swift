import Foundation
import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime

/// A batch in which some updates failed: one result per update, in order (nil for those that
/// succeeded), which the service sends as a `google.rpc.Status` carrying one `p4.v1.Error` each.
public struct P4RuntimeBatchError: Error, Sendable {
    public var results: [P4RuntimeError?]
    /// The status message: the updates that failed (not those ABORTED because another did).
    public var summary: String {
        let all = results.enumerated().compactMap { i, e in e.map { (i, $0) } }
        let failed = all.filter { $0.1.code != .aborted }.map { "update \($0.0): \($0.1)" }
        let aborted = all.count - failed.count
        return "\(failed.count) of \(results.count) updates failed" + (aborted > 0 ? " (\(aborted) more ABORTED: every update or none)" : "") + ": "
            + failed.prefix(3).joined(separator: "; ") + (failed.count > 3 ? "; ..." : "")
    }
}

extension P4RuntimeDevice {
    /// `Write`: the updates applied in order on the switch, all in one control-plane call between
    /// packets: every one (CONTINUE_ON_ERROR), or all or none (ROLLBACK_ON_ERROR, `applyAllOrNone`).
    /// Where the switch runs no packet during that call (`SwitchTarget.dataplaneAtomic`), all or
    /// none is also DATAPLANE_ATOMIC: a packet sees the tables from before the batch or after it,
    /// and nothing of a batch undone. Request-level problems (device, arbitration, no pipeline,
    /// atomicity) throw `P4RuntimeError`; failed updates throw `P4RuntimeBatchError`.
    public func write(_ req: P4_V1_WriteRequest) throws -> Void {
        try checkDevice(req.deviceID)
        try arbitration.checkPrimary(req.electionID, hasElectionID: req.hasElectionID, role: req.role, what: "Write")
        let allOrNone: String?
        switch req.atomicity {
        case .continueOnError: allOrNone = nil
        case .rollbackOnError: allOrNone = "ROLLBACK_ON_ERROR"
        case .dataplaneAtomic:
            guard target.dataplaneAtomic else {
                throw P4RuntimeError(.unimplemented, "Write: atomicity DATAPLANE_ATOMIC is not supported: this switch runs packets while its tables change; use ROLLBACK_ON_ERROR (every update or none) or CONTINUE_ON_ERROR")
            }
            allOrNone = "DATAPLANE_ATOMIC"
        case .UNRECOGNIZED(let n): throw P4RuntimeError(.invalidArgument, "Write: atomicity \(n) is not one of CONTINUE_ON_ERROR, ROLLBACK_ON_ERROR, DATAPLANE_ATOMIC")
        }
        var results: [P4RuntimeError?] = []
        try lock.withLock { () throws(P4RuntimeError) in
            guard pipeline != nil else {
                throw P4RuntimeError(.failedPrecondition, "Write: no forwarding pipeline is set on device \(deviceID); send SetForwardingPipelineConfig first")
            }
            let ran: Void? = try? target.withControlPlane { cp in
                if let allOrNone {
                    results = applyAllOrNone(req.updates, cp, mode: allOrNone)
                } else {
                    results = req.updates.map { u -> P4RuntimeError? in
                        do throws(P4RuntimeError) { try apply(u, cp, undo: nil) } catch { return error }
                        return nil
                    }
                }
            }
            if ran == nil { throw P4RuntimeError(.failedPrecondition, "Write: the switch runs no program") }
        }
        if results.contains(where: { $0 != nil }) { throw P4RuntimeBatchError(results: results) }
    }

    /// One update, with `lock` and the switch's lock held; with `undo`, every change it makes on
    /// the switch is recorded there to be undone.
    func apply(_ u: P4_V1_Update, _ cp: any ControlPlane, undo: UndoLog?) throws(P4RuntimeError) {
        let op: String
        switch u.type {
        case .insert: op = "INSERT"
        case .modify: op = "MODIFY"
        case .delete: op = "DELETE"
        default: throw P4RuntimeError(.invalidArgument, "update type \(u.type.rawValue) is not one of INSERT, MODIFY, DELETE")
        }
        guard let schema = pipeline?.schema else { throw P4RuntimeError(.failedPrecondition, "no forwarding pipeline is set") }
        switch u.entity.entity {
        case .tableEntry(let e)?: try writeTableEntry(u.type, op, e, schema, cp, undo)
        case .counterEntry(let e)?: try writeCounter(u.type, op, e, schema, cp, undo)
        case .registerEntry(let e)?: try writeRegister(u.type, op, e, schema, cp, undo)
        case .meterEntry(let e)?: try writeMeter(u.type, op, e, schema, cp, undo)
        case .packetReplicationEngineEntry(let pre)?: try writeReplication(u.type, pre, cp, undo)
        case .digestEntry(let d)?: try writeDigest(u.type, d, schema)
        case .directCounterEntry(let e)?: try writeDirectCounter(u.type, op, e, schema, cp, undo)
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

    /// A multicast group entry (clone sessions are not served): INSERT, MODIFY or DELETE.
    func writeReplication(_ type: P4_V1_Update.TypeEnum, _ pre: P4_V1_PacketReplicationEngineEntry, _ cp: any ControlPlane, _ undo: UndoLog?) throws(P4RuntimeError) {
        guard case .multicastGroupEntry(let g)? = pre.type else {
            throw P4RuntimeError(.unimplemented, "packet replication: only multicast_group_entry is supported (no clone sessions)")
        }
        let what = "multicast group \(g.multicastGroupID)"
        guard g.multicastGroupID > 0, g.multicastGroupID <= UInt32(UInt16.max) else {
            throw P4RuntimeError(.invalidArgument, "\(what): ids are 1...65535")
        }
        let exists = pipeline?.groups[g.multicastGroupID] != nil
        switch type {
        case .insert where exists: throw P4RuntimeError(.alreadyExists, "\(what) exists; MODIFY it or DELETE it first")
        case .modify where !exists, .delete where !exists: throw P4RuntimeError(.notFound, "\(what) does not exist; INSERT it first")
        default: break
        }
        let group = UInt16(g.multicastGroupID)
        // What was there, as members (checked when it was written).
        let old = try pipeline?.groups[g.multicastGroupID].map { (r) throws(P4RuntimeError) in try members(r, what) }
        if type == .delete {
            try checked(cp.deleteMulticastGroup(group))
            pipeline?.groups[g.multicastGroupID] = nil
        } else {
            let members = try members(g.replicas, what)
            try checked(cp.setMulticastGroup(group, members))
            pipeline?.groups[g.multicastGroupID] = g.replicas
        }
        undo?.add(what) { cp in
            if let old { try cp.setMulticastGroup(group, old) } else { try cp.deleteMulticastGroup(group) }
        }
    }

    /// Replicas as the control plane's members: a port (0...511) and an instance (0...65535) each.
    func members(_ replicas: [P4_V1_Replica], _ what: String) throws(P4RuntimeError) -> [MulticastMember] {
        var members: [MulticastMember] = []
        for r in replicas {
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
        return members
    }

    /// A digest's configuration: the device's own (digests reach the controller when configured).
    func writeDigest(_ type: P4_V1_Update.TypeEnum, _ d: P4_V1_DigestEntry, _ schema: P4RuntimeSchema) throws(P4RuntimeError) {
        guard let digest = schema.digests[d.digestID] else {
            throw schema.unknown("digest", d.digestID, schema.digests.map { ($0.value.name, $0.key) })
        }
        let exists = pipeline?.digests[d.digestID] != nil
        switch type {
        case .insert where exists: throw P4RuntimeError(.alreadyExists, "digest '\(digest.name)' is already configured; MODIFY it")
        case .modify where !exists, .delete where !exists: throw P4RuntimeError(.notFound, "digest '\(digest.name)' is not configured; INSERT it first")
        default: break
        }
        pipeline?.digests[d.digestID] = type == .delete ? nil : d.config
    }

    func writeTableEntry(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_TableEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane, _ undo: UndoLog?) throws(P4RuntimeError) {
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
            let old = pipeline?.defaults[t.name] ?? t.table.defaultAction
            try checked(cp.setDefault(t.name, call))
            pipeline?.defaults[t.name] = call
            undo?.add("\(where_): default action") { try $0.setDefault(t.name, old) }
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
            undo?.add("\(where_): INSERT") { cp in try cp.delete(UndoLog.installed(cp, t.name, matches, priority: Int(e.priority))) }
            if let counter { try checked(cp.writeDirectCounter(h, packets: counter.packets, bytes: counter.bytes)) }
        case .modify:
            guard let h = existing else { throw P4RuntimeError(.notFound, "\(where_): no entry with these match fields\(t.needsPriority ? " and priority \(e.priority)" : ""); INSERT it first") }
            guard e.hasAction else { throw P4RuntimeError(.invalidArgument, "\(where_): MODIFY without an action") }
            let call = try tableAction(e.action, t, schema, where_)
            let old = undo == nil ? nil : try checked(cp.entry(h))
            try checked(cp.modify(h, call))
            if let old {
                undo?.add("\(where_): MODIFY") { cp in try cp.modify(UndoLog.installed(cp, t.name, matches, priority: Int(e.priority)), old.action) }
            }
            if let counter {
                let oldCounter = undo == nil ? nil : try checked(cp.directCounter(h))
                try checked(cp.writeDirectCounter(h, packets: counter.packets, bytes: counter.bytes))
                if let oldCounter {
                    undo?.add("\(where_): counter_data") { cp in
                        try cp.writeDirectCounter(UndoLog.installed(cp, t.name, matches, priority: Int(e.priority)), packets: oldCounter.packets, bytes: oldCounter.bytes)
                    }
                }
            }
        default:
            guard let h = existing else { throw P4RuntimeError(.notFound, "\(where_): no entry with these match fields\(t.needsPriority ? " and priority \(e.priority)" : "") to delete") }
            // The entry as installed and its counts, to insert again.
            let old = undo == nil ? nil : try checked(cp.entry(h))
            let oldCounter = undo != nil && t.table.directCounter ? try checked(cp.directCounter(h)) : nil
            try checked(cp.delete(h))
            if let old {
                undo?.add("\(where_): DELETE") { cp in
                    let h = try cp.insert(t.name, old)
                    if let oldCounter { try cp.writeDirectCounter(h, packets: oldCounter.packets, bytes: oldCounter.bytes) }
                }
            }
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

    func tableAction(_ a: P4_V1_TableAction, _ t: P4RuntimeSchema.TableInfo, _ schema: P4RuntimeSchema, _ where_: String) throws(P4RuntimeError) -> ActionCall {
        guard case .action(let action)? = a.type else {
            throw P4RuntimeError(.unimplemented, "\(where_): only direct actions are supported (no action profiles)")
        }
        return try WireValues.actionCall(action, try schema.action(action.actionID, in: t), where_: where_)
    }
}

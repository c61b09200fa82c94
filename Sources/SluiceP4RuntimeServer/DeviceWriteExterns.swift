import SluiceControlPlane
import SluiceP4Runtime

/// Writes of the program's externs: indexed counters, direct counters, meters and registers
/// (MODIFY only, as the specification says; INSERT and DELETE are INVALID_ARGUMENT).
extension P4RuntimeDevice {
    /// MeterEntry MODIFY: the cell at `index`, or every cell with no index, takes the config; with
    /// no config it goes back to the default (every packet green), as the specification says.
    func writeMeter(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_MeterEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane, _ undo: UndoLog?) throws(P4RuntimeError) {
        let m = try P4RuntimeSchema.sized("meter", e.meterID, in: schema.meters, program: schema.program.name)
        let what = "meter '\(m.name)' (id \(m.id))"
        guard type == .modify else { throw P4RuntimeError(.invalidArgument, "\(what): \(op); meters take MODIFY only") }
        if e.hasIndex { try checkIndex(e.index.index, m.size, what) }
        guard !e.hasCounterData else {
            throw P4RuntimeError(.unimplemented, "\(what): counter_data; Sluice meters keep no per-color counters, leave it unset")
        }
        let rates = e.hasConfig ? try meterRates(e.config, what) : nil
        for i in e.hasIndex ? [e.index.index] : Array(0..<Int64(m.size)) {
            // The cell's rates before (nil: unconfigured), from the config last written.
            let old = pipeline?.meters[m.id]?[i].map { c in MeterRates(cir: UInt64(c.cir), cbs: UInt64(c.cburst), pir: UInt64(c.pir), pbs: UInt64(c.pburst)) }
            if let rates {
                try checked(cp.setMeter(m.name, index: Int(i), rates))
                pipeline?.meters[m.id, default: [:]][i] = e.config
            } else {
                try checked(cp.clearMeter(m.name, index: Int(i)))
                pipeline?.meters[m.id]?[i] = nil
            }
            undo?.add("\(what) index \(i)") { cp in
                if let old { try cp.setMeter(m.name, index: Int(i), old) } else { try cp.clearMeter(m.name, index: Int(i)) }
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
    func writeCounter(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_CounterEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane, _ undo: UndoLog?) throws(P4RuntimeError) {
        let c = try P4RuntimeSchema.sized("counter", e.counterID, in: schema.counters, program: schema.program.name)
        let what = "counter '\(c.name)' (id \(c.id))"
        guard type == .modify else { throw P4RuntimeError(.invalidArgument, "\(what): \(op); counters take MODIFY only") }
        if e.hasIndex { try checkIndex(e.index.index, c.size, what) }
        guard e.hasData else { return }
        let v = try counts(e.data, what)
        for i in e.hasIndex ? [Int(e.index.index)] : Array(0..<c.size) {
            let old = undo == nil ? nil : try checked(cp.counter(c.name, index: i))
            try checked(cp.writeCounter(c.name, index: i, packets: v.packets, bytes: v.bytes))
            if let old { undo?.add("\(what) index \(i)") { try $0.writeCounter(c.name, index: i, packets: old.packets, bytes: old.bytes) } }
        }
    }

    /// DirectCounterEntry MODIFY: the packets and bytes of the entry its `table_entry` names (by
    /// match fields and priority); with no data, nothing changes. INSERT and DELETE are the
    /// entry's own (its counter starts and ends with it).
    func writeDirectCounter(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_DirectCounterEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane, _ undo: UndoLog?) throws(P4RuntimeError) {
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
        let (matches, existing) = try lookUp(e.tableEntry, t, where_, cp)
        guard let h = existing else {
            throw P4RuntimeError(.notFound, "\(where_): no entry with these match fields\(t.needsPriority ? " and priority \(e.tableEntry.priority)" : ""); INSERT it first")
        }
        guard e.hasData else { return }
        let v = try counts(e.data, where_)
        let old = undo == nil ? nil : try checked(cp.directCounter(h))
        try checked(cp.writeDirectCounter(h, packets: v.packets, bytes: v.bytes))
        if let old {
            let priority = Int(e.tableEntry.priority)
            undo?.add(where_) { cp in try cp.writeDirectCounter(UndoLog.installed(cp, t.name, matches, priority: priority), packets: old.packets, bytes: old.bytes) }
        }
    }

    /// RegisterEntry MODIFY: the cell at `index`, or every cell with no index, takes the value.
    func writeRegister(_ type: P4_V1_Update.TypeEnum, _ op: String, _ e: P4_V1_RegisterEntry, _ schema: P4RuntimeSchema, _ cp: any ControlPlane, _ undo: UndoLog?) throws(P4RuntimeError) {
        let r = try P4RuntimeSchema.sized("register", e.registerID, in: schema.registers, program: schema.program.name)
        guard type == .modify else { throw P4RuntimeError(.invalidArgument, "register '\(r.name)': \(op); registers take MODIFY only") }
        guard case .bitstring(let bytes)? = e.data.data else {
            throw P4RuntimeError(.invalidArgument, "register '\(r.name)': data must be a bitstring of \(r.width) bits")
        }
        let v = try WireValues.decode(bytes, width: min(r.width, 64), "register '\(r.name)' data")
        if e.hasIndex { try checkIndex(e.index.index, r.size, "register '\(r.name)'") }
        for i in e.hasIndex ? [Int(e.index.index)] : Array(0..<r.size) {
            let old = undo == nil ? nil : try checked(cp.readRegister(r.name, index: i))
            try checked(cp.writeRegister(r.name, index: i, UInt64(v)))
            if let old { undo?.add("register '\(r.name)' index \(i)") { try $0.writeRegister(r.name, index: i, old) } }
        }
    }
}

import SluiceEBPF
import SluiceIR

/// A table's installed state: an index from keys to entry ids, and per entry its action,
/// action data and direct counters. Entry ids are slots reused after deletion.
final class RuntimeTable {
    let decl: Table
    /// Words each key field occupies (1 up to 64 bits, 2 up to 128).
    let fieldWords: [Int]
    let fieldWidths: [Int]
    let keyWords: Int
    /// Action-data words per entry (the widest action's parameters).
    let stride: Int
    /// For each action the table lists: its parameters' word offsets.
    let actionParams: [[FieldDecl]]
    let usesPriority: Bool
    let tuples: TupleSpaceIndex?
    let linear: LinearIndex?
    /// Single-key LPM tables of 16 to 64 bits (routing tables) use the bucketed LPM index.
    let lpm: LPMIndex?
    /// The index in use, unretained, for `lookup` (0 LPM, 1 tuple space, 2 linear): the
    /// optionals above are kept for the control plane and keep the index alive.
    let indexKind: UInt8
    let indexRef: Unmanaged<AnyObject>

    // Per entry id. Grown on demand, never beyond `decl.size`.
    @exclusivity(unchecked) var capacity = 0
    @exclusivity(unchecked) var entryAction: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var actionData: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var hitPackets: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var hitBytes: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var entries: [TableEntry?] = []
    @exclusivity(unchecked) var free: [Int32] = []
    @exclusivity(unchecked) var liveCount = 0

    @exclusivity(unchecked) var defaultAction: Int32
    let defaultData: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var defaultCall: ActionCall
    @exclusivity(unchecked) var missPackets: UInt64 = 0
    /// The table as native code reads it (`HostTableABI`'s `struct sl_table`), when a native
    /// engine runs the pipeline: written again after every change (`publish`).
    var native: UnsafeMutableRawPointer?

    init(_ t: Table, index: ProgramIndex, widths: [Int]) {
        decl = t
        fieldWidths = widths
        fieldWords = widths.map { $0 > 64 ? 2 : 1 }
        keyWords = fieldWords.reduce(0, +)
        actionParams = t.actions.map { index.actions[$0]?.params ?? [] }
        stride = max(1, actionParams.map { $0.reduce(0) { $0 + ($1.width > 64 ? 2 : 1) } }.max() ?? 1)
        let kinds = t.keys.map(\.kind)
        usesPriority = kinds.contains { $0 == .ternary || $0 == .range || $0 == .optional }
        switch HostTableABI.Index.of(kinds: kinds, widths: widths) {
        case .linear: linear = LinearIndex(fieldWords: fieldWords); tuples = nil; lpm = nil
        case .lpm: lpm = LPMIndex(width: widths[0]); tuples = nil; linear = nil
        case .tupleSpace: tuples = TupleSpaceIndex(keyWords: max(keyWords, 1)); linear = nil; lpm = nil
        }
        if let lpm { indexKind = 0; indexRef = .passUnretained(lpm) }
        else if let tuples { indexKind = 1; indexRef = .passUnretained(tuples) }
        else { indexKind = 2; indexRef = .passUnretained(linear!) }
        entryAction = .allocate(capacity: 1)
        actionData = .allocate(capacity: stride)
        hitPackets = .allocate(capacity: 1)
        hitBytes = .allocate(capacity: 1)
        defaultData = .allocate(capacity: stride); defaultData.initialize(repeating: 0, count: stride)
        defaultAction = Int32(t.actions.firstIndex(of: t.defaultAction.action) ?? 0)
        defaultCall = t.defaultAction
    }

    deinit {
        entryAction.deallocate(); actionData.deallocate(); hitPackets.deallocate(); hitBytes.deallocate()
        defaultData.deallocate()
        native?.deallocate()
    }

    func grow(to n: Int) {
        guard n > capacity else { return }
        let newCap = min(max(n, capacity * 2, 16), max(decl.size, 1))
        func re<T>(_ p: UnsafeMutablePointer<T>, _ old: Int, _ new: Int, _ zero: T) -> UnsafeMutablePointer<T> {
            let q = UnsafeMutablePointer<T>.allocate(capacity: new)
            q.initialize(repeating: zero, count: new)
            if old > 0 { q.update(from: p, count: old) }
            p.deallocate()
            return q
        }
        entryAction = re(entryAction, capacity, newCap, 0)
        actionData = re(actionData, capacity * stride, newCap * stride, 0)
        hitPackets = re(hitPackets, capacity, newCap, 0)
        hitBytes = re(hitBytes, capacity, newCap, 0)
        entries += Array(repeating: nil, count: newCap - capacity)
        capacity = newCap
    }

    /// Pack action arguments into action-data words.
    func pack(_ call: ActionCall, into p: UnsafeMutablePointer<UInt64>) {
        p.update(repeating: 0, count: stride)
        guard let ai = decl.actions.firstIndex(of: call.action) else { return }
        var w = 0
        for (i, prm) in actionParams[ai].enumerated() where i < call.args.count {
            let v = call.args[i]
            if prm.width > 64 {
                p[w] = UInt64(truncatingIfNeeded: v >> 64); p[w + 1] = UInt64(truncatingIfNeeded: v); w += 2
            } else {
                p[w] = UInt64(truncatingIfNeeded: v); w += 1
            }
        }
    }

    /// Key words and masks of an entry for the tuple-space index.
    func words(_ e: TableEntry) -> (value: [UInt64], mask: [UInt64], priority: Int32) {
        var value: [UInt64] = [], mask: [UInt64] = []
        var lpmLength = 0
        for (i, m) in e.matches.enumerated() {
            let w = fieldWidths[i]
            let full = Bits.mask128(w)
            let (v, mk): (UInt128, UInt128)
            switch m {
            case .exact(let x): (v, mk) = (x, full)
            case .lpm(let x, let len):
                lpmLength = len
                mk = len == 0 ? 0 : (full >> UInt128(w - len)) << UInt128(w - len)
                v = x
            case .ternary(let x, let msk): (v, mk) = (x, msk & full)
            case .optional(let x): (v, mk) = x.map { ($0, full) } ?? (0, 0)
            case .range(let lo, _): (v, mk) = (lo, full)
            }
            // Key words are already masked to their width, so a full-width mask is all ones:
            // exact tables then take the index's exact-match path.
            let m = mk == full ? ~UInt128(0) : mk
            if fieldWords[i] == 2 {
                value += [UInt64(truncatingIfNeeded: (v & mk) >> 64), UInt64(truncatingIfNeeded: v & mk)]
                mask += [UInt64(truncatingIfNeeded: m >> 64), UInt64(truncatingIfNeeded: m)]
            } else {
                value.append(UInt64(truncatingIfNeeded: v & mk)); mask.append(UInt64(truncatingIfNeeded: m))
            }
        }
        return (value, mask, Int32(clamping: usesPriority ? e.priority : lpmLength))
    }

    func conditions(_ e: TableEntry) -> [LinearIndex.Condition] {
        e.matches.enumerated().map { i, m in
            let full = Bits.mask128(fieldWidths[i])
            switch m {
            case .exact(let x): return (x, x, full)
            case .lpm(let x, let len):
                let w = fieldWidths[i]
                let mk = len == 0 ? 0 : (full >> UInt128(w - len)) << UInt128(w - len)
                return (x & mk, x & mk, mk)
            case .ternary(let x, let mk): return (x & mk, x & mk, mk & full)
            case .optional(let x): return x.map { ($0, $0, full) } ?? (0, 0, 0)
            case .range(let lo, let hi): return (lo, hi, full)
            }
        }
    }

    /// The id of an installed entry with exactly these matches (and priority for priority tables).
    func find(_ matches: [Match], priority: Int) -> Int32? {
        if let lpm {
            let w = words(TableEntry(matches, ActionCall(""), priority: priority))
            return lpm.find(value: w.value[0], length: Int(w.priority))
        }
        // Tuple-space entries are identified by their masked values (whatever the priority);
        // range entries by their conditions and priority.
        if let ts = tuples {
            let w = words(TableEntry(matches, ActionCall(""), priority: priority))
            return ts.entry(value: w.value, mask: w.mask)
        }
        let want = conditions(TableEntry(matches, ActionCall(""), priority: priority))
        for (i, e) in entries.enumerated() {
            guard let e, e.priority == priority else { continue }
            let have = conditions(e)
            if have.count == want.count && zip(have, want).allSatisfy({ $0.lo == $1.lo && $0.hi == $1.hi && $0.mask == $1.mask }) {
                return Int32(i)
            }
        }
        return nil
    }

    func insert(_ e: TableEntry, action: Int32) -> Int32? {
        // Also when refused: `grow` may have moved the entry arrays.
        defer { publish() }
        let id: Int32
        if let f = free.popLast() { id = f } else {
            guard liveCount < decl.size else { return nil }
            id = Int32(liveCount + free.count)
            grow(to: Int(id) + 1)
        }
        let ok: Bool
        if let lpm {
            let w = words(e)
            ok = lpm.insert(value: w.value[0], length: Int(w.priority), entry: id)
        } else if let ts = tuples {
            let w = words(e)
            ok = ts.insert(value: w.value, mask: w.mask, priority: w.priority, entry: id)
        } else {
            ok = linear!.insert(conditions: conditions(e), priority: Int32(clamping: e.priority), entry: id)
        }
        guard ok else { free.append(id); return nil }
        entries[Int(id)] = e
        entryAction[Int(id)] = action
        pack(e.action, into: actionData + Int(id) * stride)
        hitPackets[Int(id)] = 0; hitBytes[Int(id)] = 0
        liveCount += 1
        return id
    }

    func remove(_ id: Int32) {
        guard let e = entries[Int(id)] else { return }
        if let lpm {
            let w = words(e)
            _ = lpm.remove(value: w.value[0], length: Int(w.priority))
        } else if let ts = tuples {
            let w = words(e)
            _ = ts.remove(value: w.value, mask: w.mask)
        } else {
            _ = linear!.remove(entry: id)
        }
        entries[Int(id)] = nil
        free.append(id)
        liveCount -= 1
        publish()
    }

    func modify(_ id: Int32, _ call: ActionCall, action: Int32) {
        entries[Int(id)]?.action = call
        entryAction[Int(id)] = action
        pack(call, into: actionData + Int(id) * stride)
        publish()
    }

    func setDefault(_ call: ActionCall, action: Int32) {
        defaultCall = call
        defaultAction = action
        pack(call, into: defaultData)
        publish()
    }

    /// No reference counting per packet: the index is reached through `indexRef`.
    @inline(__always) func lookup(_ key: UnsafePointer<UInt64>) -> Int32 {
        switch indexKind {
        case 0: return indexRef._withUnsafeGuaranteedRef { unsafeDowncast($0, to: LPMIndex.self).lookup(key.pointee) }
        case 1: return indexRef._withUnsafeGuaranteedRef { unsafeDowncast($0, to: TupleSpaceIndex.self).lookup(key) }
        default: return indexRef._withUnsafeGuaranteedRef { unsafeDowncast($0, to: LinearIndex.self).lookup(key) }
        }
    }
}

import CBPF
import Foundation
import SluiceEBPF
import SluiceIR
import SluiceControlPlane

/// The control plane of a loaded XDP program, on its maps: the same interface as the software
/// runtime's, so entries files, controllers and tests drive both. It keeps the entries it
/// installed (handles, priorities, masks) and writes each into the map layout `EBPFLayout`
/// gives the table: HASH, LPM_TRIE, tuple-space HASH plus mask list, or linear ARRAY.
public final class XDPControlPlane: ControlPlane {
    public let xdp: XDPProgram
    public var program: Program { xdp.program }
    /// The checks every backend shares (and words the same way); the maps come after.
    let rules: EntryRules

    struct Installed {
        var entry: TableEntry
        var seq: UInt64
        /// Tuple-space mask number, or linear slot.
        var slot: Int
    }
    var tables: [String: [Int32: Installed]] = [:]
    var nextID: [String: Int32] = [:]
    var seq: UInt64 = 1
    var masks: [String: [[UInt64]]] = [:]
    /// libbpf's consumer of the digests ring buffer, made on the first drain.
    var digestRing: OpaquePointer?
    let digestSink: DigestSink

    /// Installs every table's default action and const entries.
    public init(_ xdp: XDPProgram) throws {
        self.xdp = xdp
        rules = EntryRules(xdp.program)
        digestSink = DigestSink(words: EBPFLayout.digestWords(xdp.program))
        for t in xdp.layout.tables {
            try writeDefault(t, t.table.defaultAction)
            for e in t.table.entries { try install(t, e) }
        }
    }

    func info(_ table: String) throws(ControlPlaneError) -> EBPFLayout.TableInfo {
        _ = try rules.table(table)
        return xdp.layout.table(table)!
    }

    func actionIndex(_ t: EBPFLayout.TableInfo, _ call: ActionCall) throws(ControlPlaneError) -> Int {
        try rules.actionIndex(rules.table(t.table.name), call)
    }

    /// The value struct: action, priority, seq, args, packets, bytes (little-endian host words).
    func value(_ t: EBPFLayout.TableInfo, _ call: ActionCall, priority: Int, seq: UInt64) throws(ControlPlaneError) -> [UInt8] {
        let ai = try actionIndex(t, call)
        var w = Words()
        // Priorities compare unsigned in the kernel: flip the sign bit to keep their order.
        w.u32(UInt32(ai)); w.u32(UInt32(bitPattern: Int32(clamping: priority)) ^ 0x8000_0000)
        w.u64(seq)
        for i in 0..<t.argSlots { w.u64(i < call.args.count ? UInt64(truncatingIfNeeded: call.args[i]) : 0) }
        w.u64(0); w.u64(0)
        return w.bytes
    }

    func writeDefault(_ t: EBPFLayout.TableInfo, _ call: ActionCall) throws(ControlPlaneError) {
        var v = try value(t, call, priority: 0, seq: 0)
        var k: UInt32 = 0
        try update(EBPFLayout.defaultMapName(table: t.table.name), &k, &v)
    }

    func update(_ map: String, _ key: UnsafeMutableRawPointer, _ value: UnsafeMutableRawPointer, flags: UInt64 = 0) throws(ControlPlaneError) {
        let m: (fd: Int32, keySize: Int, valueSize: Int)
        do { m = try xdp.map(map) } catch { throw ControlPlaneError("\(error)") }
        guard bpf_map_update_elem(m.fd, key, value, flags) == 0 else {
            let e = errno
            throw ControlPlaneError("map \(map): update failed: \(String(cString: strerror(e)))\(e == E2BIG || e == ENOSPC ? " (the table is full)" : "")",
                                    full: e == E2BIG || e == ENOSPC)
        }
    }

    func mapSizes(_ map: String) throws(ControlPlaneError) -> (key: Int, value: Int) {
        do { let m = try xdp.map(map); return (m.keySize, m.valueSize) } catch { throw ControlPlaneError("\(error)") }
    }

    /// Per key: (value, mask) for exact, LPM, ternary and optional matches; (low, high) for ranges.
    /// The matches are checked first (`EntryRules.checkMatches`), so every value fits its key.
    func parts(_ t: EBPFLayout.TableInfo, _ ms: [Match]) throws(ControlPlaneError) -> [(UInt64, UInt64)] {
        try rules.checkMatches(rules.table(t.table.name), ms)
        return zip(zip(t.table.keys, t.keyWidths), ms).map { kw, m in
            let (k, w) = kw, full = WidthMask.u64(w)
            switch m {
            case .range(let lo, let hi): return (UInt64(lo), UInt64(hi))
            case .exact(let v): return k.kind == .range ? (UInt64(v), UInt64(v)) : (UInt64(v), full)
            case .lpm(let v, let len):
                let m = len == 0 ? 0 : full & ~WidthMask.u64(w - len)
                return (UInt64(v) & m, m)
            case .ternary(let v, let mk): return (UInt64(v) & UInt64(mk), UInt64(mk))
            case .optional(let v): return v.map { (UInt64($0), full) } ?? (0, 0)
            }
        }
    }

    @discardableResult
    func install(_ t: EBPFLayout.TableInfo, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle {
        let name = t.table.name
        let p = try parts(t, entry.matches)
        let s = seq; seq += 1
        var v = try value(t, entry.action, priority: entry.priority, seq: s)
        var slot = 0
        let mapName = EBPFLayout.mapName(table: name)
        switch t.kind {
        case .keyless:
            throw ControlPlaneError("table '\(name)' has no keys: set its default action instead")
        case .exact, .lpm:
            var k = try mapKey(t, p, slot: 0)
            try update(mapName, &k, &v, flags: UInt64(BPF_NOEXIST))
            if t.kind == .lpm { try addLength(t, p.last!.1.nonzeroBitCount) }
        case .lpmDirect(let l2, let l3, let blocks):
            var lpm = direct[name] ?? DirectLPM(width: t.keyWidths[0], l2Bits: l2, l3Bits: l3, blocks: blocks)
            let used = Set((tables[name] ?? [:]).values.map(\.slot))
            guard let free = (0..<max(1, t.table.size)).first(where: { !used.contains($0) }) else {
                throw ControlPlaneError("table '\(name)' is full (\(t.table.size) entries)", full: true)
            }
            slot = free
            let writes: [DirectLPM.Write]
            do { writes = try lpm.insert(p[0].0, p[0].1.nonzeroBitCount, slot: Int32(slot)) } catch {
                throw ControlPlaneError("table '\(name)': \(error.description)")
            }
            // The entry's value first, then the cells that lead to it.
            var k = UInt32(slot)
            try update(mapName, &k, &v)
            direct[name] = lpm
            try write(t, writes)
        case .ternary:
            let m = p.map(\.1)
            var list = masks[name] ?? []
            if let i = list.firstIndex(of: m) { slot = i } else {
                guard list.count < EBPFLayout.maxMasks else {
                    throw ControlPlaneError("table '\(name)': a \(EBPFLayout.maxMasks + 1)th distinct mask; the XDP tuple-space search takes \(EBPFLayout.maxMasks)")
                }
                slot = list.count
                list.append(m)
                masks[name] = list
                var mw = Words(); mw.u32(1); mw.u32(0); for x in m { mw.u64(x) }
                var mb = mw.bytes
                var mk = UInt32(slot)
                try update(EBPFLayout.masksMapName(table: name), &mk, &mb)
            }
            var kb = try mapKey(t, p, slot: slot)
            try update(mapName, &kb, &v, flags: UInt64(BPF_NOEXIST))
        case .linear(let slots):
            let used = Set((tables[name] ?? [:]).values.map(\.slot))
            guard let free = (0..<slots).first(where: { !used.contains($0) }) else {
                throw ControlPlaneError("table '\(name)' is full (\(slots) entries with range keys on XDP)", full: true)
            }
            slot = free
            var e = Words(); e.u32(1); e.u32(0)
            // Ranges as (low, high); the other kinds as (value & mask, mask).
            for x in p { e.u64(x.0) }
            for x in p { e.u64(x.1) }
            var eb = e.bytes + v
            var k = UInt32(free)
            try update(mapName, &k, &eb)
        }
        let id = nextID[name, default: 0]
        nextID[name] = id + 1
        tables[name, default: [:]][id] = Installed(entry: entry, seq: s, slot: slot)
        return EntryHandle(table: name, id: id)
    }

    func remove(_ t: EBPFLayout.TableInfo, _ i: Installed) throws(ControlPlaneError) {
        let p = try parts(t, i.entry.matches)
        let mapName = EBPFLayout.mapName(table: t.table.name)
        let fd: Int32
        do { fd = try xdp.map(mapName).fd } catch { throw ControlPlaneError("\(error)") }
        switch t.kind {
        case .keyless: break
        case .exact, .lpm, .ternary:
            var k = try mapKey(t, p, slot: i.slot)
            _ = bpf_map_delete_elem(fd, &k)
            if t.kind == .lpm { try removeLength(t, p.last!.1.nonzeroBitCount) }
        case .lpmDirect:
            guard var lpm = direct[t.table.name] else { break }
            let writes = lpm.remove(p[0].0, p[0].1.nonzeroBitCount)
            direct[t.table.name] = lpm
            try write(t, writes)
        case .linear:
            let sizes = try mapSizes(mapName)
            var zero = [UInt8](repeating: 0, count: sizes.value)
            var k = UInt32(i.slot)
            try update(mapName, &k, &zero)
        }
    }

    /// An LPM table's key: the LPM key's prefix length, then the exact keys' bytes and the LPM
    /// key's masked bytes.
    func key(_ t: EBPFLayout.TableInfo, _ p: [(UInt64, UInt64)]) throws(ControlPlaneError) -> [UInt8] {
        let sizes = try mapSizes(EBPFLayout.mapName(table: t.table.name))
        var k = [UInt8](repeating: 0, count: sizes.key)
        var at = 4
        for (i, x) in p.enumerated() {
            let nb = t.keyWidths[i] / 8
            let value = x.0 & x.1
            for b in 0..<nb { k[at + b] = UInt8(truncatingIfNeeded: value >> UInt64((nb - 1 - b) * 8)) }
            at += nb
        }
        withUnsafeBytes(of: UInt32(p.last!.1.nonzeroBitCount)) { for i in 0..<4 { k[i] = $0[i] } }
        return k
    }

    /// An entry's key in its table's map: the key words (exact), (mask number, masked words)
    /// (ternary), the LPM key (`key`), or the entry's index (linear).
    func mapKey(_ t: EBPFLayout.TableInfo, _ p: [(UInt64, UInt64)], slot: Int) throws(ControlPlaneError) -> [UInt8] {
        var k = Words()
        switch t.kind {
        case .lpm: return try key(t, p)
        case .linear, .lpmDirect: k.u32(UInt32(slot))
        case .ternary: k.u32(UInt32(slot)); k.u32(0); for x in p { k.u64(x.0) }
        case .exact, .keyless: for x in p { k.u64(x.0) }
        }
        return k.bytes
    }

    /// Direct LPM tables' cells, as the kernel has them.
    var direct: [String: DirectLPM] = [:]

    /// Writes a direct LPM table's cells in order, runs of consecutive cells of one level in
    /// one batch (a new block is 256 cells).
    func write(_ t: EBPFLayout.TableInfo, _ writes: [DirectLPM.Write]) throws(ControlPlaneError) {
        var i = 0
        while i < writes.count {
            var j = i + 1
            while j < writes.count && writes[j].level == writes[i].level && writes[j].index == writes[j - 1].index + 1 { j += 1 }
            let map = EBPFLayout.levelMapName(table: t.table.name, writes[i].level)
            let fd: Int32
            do { fd = try xdp.map(map).fd } catch { throw ControlPlaneError("\(error)") }
            var keys = (i..<j).map { UInt32(writes[$0].index) }
            var values = (i..<j).map { writes[$0].value }
            var count = UInt32(j - i)
            if count == 1 {
                guard bpf_map_update_elem(fd, &keys, &values, 0) == 0 else {
                    throw ControlPlaneError("map \(map): update of cell \(keys[0]) failed: \(String(cString: strerror(errno)))")
                }
            } else {
                guard bpf_map_update_batch(fd, &keys, &values, &count, nil) == 0 else {
                    throw ControlPlaneError("map \(map): update of cells \(keys[0])...\(keys.last!) failed: \(String(cString: strerror(errno)))")
                }
            }
            i = j
        }
    }

    /// Prefix lengths in use per LPM table, with how many entries have each.
    var lengths: [String: [Int: Int]] = [:]

    func addLength(_ t: EBPFLayout.TableInfo, _ len: Int) throws(ControlPlaneError) {
        lengths[t.table.name, default: [:]][len, default: 0] += 1
        if lengths[t.table.name]![len] == 1 { try writeLengths(t) }
    }

    func removeLength(_ t: EBPFLayout.TableInfo, _ len: Int) throws(ControlPlaneError) {
        guard let n = lengths[t.table.name]?[len] else { return }
        lengths[t.table.name]![len] = n > 1 ? n - 1 : nil
        if n == 1 { try writeLengths(t) }
    }

    /// The `_lens` array: count, then the lengths longest first.
    func writeLengths(_ t: EBPFLayout.TableInfo) throws(ControlPlaneError) {
        let name = EBPFLayout.lengthsMapName(table: t.table.name)
        let sizes = try mapSizes(name)
        let list = (lengths[t.table.name] ?? [:]).keys.sorted(by: >)
        var w = Words()
        w.u32(UInt32(list.count))
        for l in list { w.u32(UInt32(l)) }
        var bytes = w.bytes + [UInt8](repeating: 0, count: max(0, sizes.value - w.bytes.count))
        var k: UInt32 = 0
        try update(name, &k, &bytes)
    }

    // MARK: ControlPlane

    @discardableResult
    public func insert(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle {
        let (_, e, _) = try rules.entry(table, entry)
        let t = try info(table)
        if try find(table, e.matches, priority: e.priority) != nil { throw rules.duplicate(table, e.matches) }
        return try install(t, e)
    }

    func installed(_ h: EntryHandle) throws(ControlPlaneError) -> (EBPFLayout.TableInfo, Installed) {
        let t = try info(h.table)
        guard let i = tables[h.table]?[h.id] else { throw rules.noEntry(h) }
        return (t, i)
    }

    public func modify(_ h: EntryHandle, _ action: ActionCall) throws(ControlPlaneError) {
        let (t, i) = try installed(h)
        _ = try rules.actionIndex(rules.changeable(h.table), action)
        try remove(t, i)
        var e = i.entry
        e.action = action
        tables[h.table]?[h.id] = nil
        let nh = try install(t, e)
        // Keep the caller's handle.
        if let moved = tables[h.table]?[nh.id] { tables[h.table]?[nh.id] = nil; tables[h.table]?[h.id] = moved }
    }

    public func delete(_ h: EntryHandle) throws(ControlPlaneError) {
        let (t, i) = try installed(h)
        _ = try rules.changeable(h.table)
        try remove(t, i)
        tables[h.table]?[h.id] = nil
    }

    public func find(_ table: String, _ matches: [Match], priority: Int) throws(ControlPlaneError) -> EntryHandle? {
        let t = try info(table)
        let p = try parts(t, matches)
        // Exact, LPM and tuple-space entries are identified by their masked values (whatever
        // the priority, as the runtime does); range entries by their conditions and priority.
        let ordered: Bool
        switch t.kind {
        case .exact, .lpm, .lpmDirect, .ternary: ordered = true
        case .keyless, .linear: ordered = false
        }
        for (id, i) in tables[table] ?? [:] {
            let q = try parts(t, i.entry.matches)
            if q.elementsEqual(p, by: { $0.0 == $1.0 && $0.1 == $1.1 }) && (ordered || i.entry.priority == priority) {
                return EntryHandle(table: table, id: id)
            }
        }
        return nil
    }

    public func entries(_ table: String) throws(ControlPlaneError) -> [(EntryHandle, TableEntry)] {
        _ = try info(table)
        return (tables[table] ?? [:]).sorted { $0.key < $1.key }.map { (EntryHandle(table: table, id: $0.key), $0.value.entry) }
    }

    public func entry(_ h: EntryHandle) throws(ControlPlaneError) -> TableEntry { try installed(h).1.entry }

    public func setDefault(_ table: String, _ action: ActionCall) throws(ControlPlaneError) {
        _ = try rules.defaultAction(table, action)
        try writeDefault(info(table), action)
    }

    public func clear(_ table: String) throws(ControlPlaneError) {
        for (h, _) in try entries(table) { try delete(h) }
    }

    public func counter(_ name: String, index: Int) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64) {
        _ = try rules.counter(name, index: index)
        let fd: Int32
        do { fd = try xdp.map(EBPFLayout.mapName(counter: name)).fd } catch { throw ControlPlaneError("\(error)") }
        var k = UInt32(index)
        var values = [UInt64](repeating: 0, count: 2 * XDPProgram.possibleCPUs)
        guard bpf_map_lookup_elem(fd, &k, &values) == 0 else { throw ControlPlaneError("counter '\(name)': \(String(cString: strerror(errno)))") }
        var p: UInt64 = 0, b: UInt64 = 0
        for cpu in 0..<XDPProgram.possibleCPUs { p += values[2 * cpu]; b += values[2 * cpu + 1] }
        return (p, b)
    }

    public func resetCounter(_ name: String) throws(ControlPlaneError) {
        let c = try rules.counter(name)
        var zeros = [UInt64](repeating: 0, count: 2 * XDPProgram.possibleCPUs)
        for i in 0..<c.size { var k = UInt32(i); try update(EBPFLayout.mapName(counter: name), &k, &zeros) }
    }

    /// Per-CPU cells: the first CPU's gets the figures, the others' 0, so their sum is what was written.
    public func writeCounter(_ name: String, index: Int, packets: UInt64, bytes: UInt64) throws(ControlPlaneError) {
        _ = try rules.counter(name, index: index)
        var values = [UInt64](repeating: 0, count: 2 * XDPProgram.possibleCPUs)
        values[0] = packets; values[1] = bytes
        var k = UInt32(index)
        try update(EBPFLayout.mapName(counter: name), &k, &values)
    }

    public func directCounter(_ h: EntryHandle) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64) {
        let (t, i) = try installed(h)
        guard t.table.directCounter else { throw rules.noDirectCounter(h.table) }
        let p = try parts(t, i.entry.matches)
        let mapName = EBPFLayout.mapName(table: t.table.name)
        let m: (fd: Int32, keySize: Int, valueSize: Int)
        do { m = try xdp.map(mapName) } catch { throw ControlPlaneError("\(error)") }
        var v = [UInt8](repeating: 0, count: m.valueSize)
        if t.kind == .keyless { return (0, 0) }
        var k = try mapKey(t, p, slot: i.slot)
        let rc = bpf_map_lookup_elem(m.fd, &k, &v)
        guard rc == 0 else { throw ControlPlaneError("table '\(h.table)': the entry is not in its map (\(String(cString: strerror(errno))))") }
        // packets and bytes are the value's last two words.
        let n = v.count
        return v.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self), $0.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) }
    }

    /// The entry's value with its last two words (packets, bytes) replaced; the kernel's adds
    /// between the read and the write are lost, as with any counter set while packets flow.
    public func writeDirectCounter(_ h: EntryHandle, packets: UInt64, bytes: UInt64) throws(ControlPlaneError) {
        let (t, i) = try installed(h)
        guard t.table.directCounter else { throw rules.noDirectCounter(h.table) }
        guard t.kind != .keyless else { throw ControlPlaneError("table '\(h.table)' has no key: its entry's counter cannot be set on XDP") }
        let p = try parts(t, i.entry.matches)
        let mapName = EBPFLayout.mapName(table: t.table.name)
        let m: (fd: Int32, keySize: Int, valueSize: Int)
        do { m = try xdp.map(mapName) } catch { throw ControlPlaneError("\(error)") }
        var v = [UInt8](repeating: 0, count: m.valueSize)
        var k = try mapKey(t, p, slot: i.slot)
        guard bpf_map_lookup_elem(m.fd, &k, &v) == 0 else {
            throw ControlPlaneError("table '\(h.table)': the entry is not in its map (\(String(cString: strerror(errno))))")
        }
        let n = v.count
        v.withUnsafeMutableBytes { $0.storeBytes(of: packets, toByteOffset: n - 16, as: UInt64.self); $0.storeBytes(of: bytes, toByteOffset: n - 8, as: UInt64.self) }
        try update(mapName, &k, &v, flags: UInt64(BPF_EXIST))
    }

    func registerCell(_ name: String, _ index: Int, value: UInt64? = nil) throws(ControlPlaneError) -> (Int32, UInt32) {
        _ = try rules.register(name, index: index, value: value)
        do { return (try xdp.map(EBPFLayout.registersMap).fd, UInt32(xdp.layout.registerBase[name]! + index)) } catch { throw ControlPlaneError("\(error)") }
    }

    public func readRegister(_ name: String, index: Int) throws(ControlPlaneError) -> UInt64 {
        var (fd, k) = try registerCell(name, index)
        var cell = UInt64(0)
        guard bpf_map_lookup_elem(fd, &k, &cell) == 0 else { throw ControlPlaneError("register '\(name)': \(String(cString: strerror(errno)))") }
        return cell
    }

    public func writeRegister(_ name: String, index: Int, _ value: UInt64) throws(ControlPlaneError) {
        var (fd, k) = try registerCell(name, index, value: value)
        var cell = value
        guard bpf_map_update_elem(fd, &k, &cell, 0) == 0 else { throw ControlPlaneError("register '\(name)': \(String(cString: strerror(errno)))") }
    }

    public func resetRegister(_ name: String) throws(ControlPlaneError) {
        let r = try rules.register(name, index: 0)
        for i in 0..<r.size { try writeRegister(name, index: i, 0) }
    }

    /// Configure meter `name`'s cell `index`: both buckets full, as the runtime's `setMeter`.
    /// Bursts are kept in units x 1e9 in 64 bits: up to 18,446,744,073 units.
    public func setMeter(_ name: String, index: Int, _ rates: MeterRates) throws(ControlPlaneError) {
        _ = try rules.meter(name, index: index, rates)
        let maxBurst = UInt64.max / 1_000_000_000
        guard rates.cbs <= maxBurst, rates.pbs <= maxBurst else {
            throw ControlPlaneError("meter '\(name)': bursts \(rates.cbs) and \(rates.pbs) (valid on XDP: up to \(maxBurst) units)")
        }
        var w = Words()
        w.u32(0)   // the spin lock (the kernel leaves it alone)
        w.u32(1)   // set
        for v in [rates.cir, rates.cbs, rates.pir, rates.pbs, rates.cbs * 1_000_000_000, rates.pbs * 1_000_000_000, 0] { w.u64(v) }
        var key = UInt32(index), value = w.bytes
        try update(EBPFLayout.mapName(meter: name), &key, &value)
    }

    /// Writes the cell unset: the program marks its packets green, as before any `setMeter`.
    public func clearMeter(_ name: String, index: Int) throws(ControlPlaneError) {
        _ = try rules.meter(name, index: index, MeterRates(cir: 0, cbs: 0, pir: 0, pbs: 0))
        var w = Words()
        w.u32(0); w.u32(0)
        for _ in 0..<7 { w.u64(0) }
        var key = UInt32(index), value = w.bytes
        try update(EBPFLayout.mapName(meter: name), &key, &value)
    }

    public func setMulticastGroup(_ group: UInt16, _ members: [MulticastMember]) throws(ControlPlaneError) {
        try rules.multicastGroup(group, members)
        do { try xdp.setMulticastGroup(group, members.map { ($0.port, $0.rid) }) } catch { throw ControlPlaneError("\(error)") }
    }

    public func deleteMulticastGroup(_ group: UInt16) throws(ControlPlaneError) {
        do { try xdp.deleteMulticastGroup(group) } catch { throw ControlPlaneError("\(error)") }
    }

    /// The digests the program sent since the last drain, in order: the records waiting in its
    /// BPF ring buffer (`EBPFLayout.digestsMap`), consumed with libbpf's ring_buffer.
    public func drainDigests() -> [DigestMessage] {
        guard !program.digests.isEmpty else { return [] }
        if digestRing == nil {
            guard let m = try? xdp.map(EBPFLayout.digestsMap) else { return [] }
            digestRing = ring_buffer__new(m.fd, { ctx, data, size in
                guard let ctx, let data else { return 0 }
                let sink = Unmanaged<DigestSink>.fromOpaque(ctx).takeUnretainedValue()
                let words = min(Int(size) / 8, sink.words)
                sink.records.append((0..<words).map { data.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) })
                return 0
            }, Unmanaged.passUnretained(digestSink).toOpaque(), nil)
        }
        guard let ring = digestRing else { return [] }
        _ = ring_buffer__consume(ring)
        defer { digestSink.records.removeAll(keepingCapacity: true) }
        return digestSink.records.compactMap { r in
            guard let id = r.first, Int(id) < program.digests.count else { return nil }
            let d = program.digests[Int(id)]
            return DigestMessage(name: d.name, values: r.dropFirst().prefix(d.fields.count).map { UInt128($0) })
        }
    }

    deinit {
        if let digestRing { ring_buffer__free(digestRing) }
    }
}

/// Where the ring buffer's callback puts records (its context pointer).
final class DigestSink {
    let words: Int
    var records: [[UInt64]] = []
    init(words: Int) { self.words = words }
}

/// Little-endian host words, as the C structs lay them out.
struct Words {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v) { bytes += $0 } }
    mutating func u64(_ v: UInt64) {
        while bytes.count % 8 != 0 { bytes.append(0) }
        withUnsafeBytes(of: v) { bytes += $0 }
    }
}

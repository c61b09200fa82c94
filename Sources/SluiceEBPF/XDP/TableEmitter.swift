import SluiceIR

/// `table.apply()`: the lookup in the table's maps (by its kind, see `EBPFLayout.TableKind`),
/// the default action's map on a miss, then the action the entry names with its arguments, and
/// the hit, miss and per-action branches that follow the apply.
struct TableEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func apply(_ name: String, _ outcome: ApplyOutcome) throws(EBPFError) {
        guard let t = cx.layout.table(name) else { throw cx.fail("apply \(name)", "unknown table") }
        let id = EBPFLayout.ident(name)
        let v = out.fresh("v"), hit = out.fresh("hit"), zero = out.fresh("z")
        try out.block("{ /* \(name).apply() */") { () throws(EBPFError) in
            out.line("struct \(id)_value *\(v) = 0;")
            out.line("int \(hit) = 0;")
            let keys = try t.table.keys.map { k throws(EBPFError) in try cx.expressions.expr(k.expr).0 }
            switch t.kind {
            case .keyless: break
            case .exact: exact(t, keys, into: v)
            case .lpm: lpm(t, keys, into: v)
            case .lpmDirect(let l2, let l3, _): lpmDirect(t, keys, l2: l2, l3: l3, into: v)
            case .ternary: ternary(t, keys, into: v)
            case .linear(let slots): linear(t, keys, slots: slots, into: v)
            }
            if t.table.directCounter {
                out.line("if (\(v)) { \(hit) = 1; __sync_fetch_and_add(&\(v)->packets, 1); __sync_fetch_and_add(&\(v)->bytes, s->std[\(cx.std(.packetLength))]); }")
            } else {
                out.line("if (\(v)) \(hit) = 1;")
            }
            out.line("else { __u32 \(zero) = 0; \(v) = bpf_map_lookup_elem(&\(EBPFLayout.defaultMapName(table: name)), &\(zero)); }")
            out.line("if (!\(v)) return sl_finish(SL_ABORTED, 0);")
            let act = "act_\(out.lastNumber)"
            out.line("__u32 \(act) = \(v)->action;")
            try ApplyActionsEmitter(cx: cx).emit(t.table, act: act, hit: hit, outcome) { (pi: Int) -> String in "\(v)->args[\(pi)]" }
        }
    }

    // MARK: lookups, each leaving the entry's value (or null) in `v`

    /// A HASH map on all keys.
    func exact(_ t: EBPFLayout.TableInfo, _ keys: [String], into v: String) {
        let name = t.table.name, id = EBPFLayout.ident(name)
        let k = out.fresh("k")
        out.line("struct \(id)_key \(k); __builtin_memset(&\(k), 0, sizeof(\(k)));")
        for (i, c) in keys.enumerated() { out.line("\(k).k[\(i)] = \(c);") }
        out.line("\(v) = bpf_map_lookup_elem(&\(EBPFLayout.mapName(table: name)), &\(k));")
    }

    /// The keys' bytes, then a probe of the HASH per prefix length in use, longest first.
    func lpm(_ t: EBPFLayout.TableInfo, _ keys: [String], into v: String) {
        let name = t.table.name, id = EBPFLayout.ident(name)
        let full = out.fresh("full"), k = out.fresh("k"), li = out.fresh("li"), lens = out.fresh("lens"), lz = out.fresh("lz")
        let lpmBits = t.keyWidths.last!, lpmBytes = lpmBits / 8, exactBytes = t.lpmDataBytes - lpmBytes
        out.line("__u8 \(full)[\(t.lpmDataBytes)];")
        var at = 0
        for (i, c) in keys.enumerated() {
            let nb = t.keyWidths[i] / 8
            let kv = out.fresh("kv")
            out.line("{ __u64 \(kv) = \(c);")
            for b in 0..<nb { out.line("  \(full)[\(at + b)] = (__u8)(\(kv) >> \((nb - 1 - b) * 8));") }
            out.line("}")
            at += nb
        }
        out.line("__u32 \(lz) = 0;")
        out.line("struct \(id)_lens *\(lens) = bpf_map_lookup_elem(&\(EBPFLayout.lengthsMapName(table: name)), &\(lz));")
        out.block("for (__u32 \(li) = 0; \(li) < \(lpmBits + 1); \(li)++) { /* longest prefix first */") {
            out.line("if (!\(lens) || \(li) >= \(lens)->count) break;")
            out.line("__u32 len = \(lens)->len[\(li)] & 0xFF;")
            out.line("struct \(id)_key \(k); __builtin_memset(&\(k), 0, sizeof(\(k)));")
            out.line("\(k).prefixlen = len;")
            for b in 0..<exactBytes { out.line("\(k).data[\(b)] = \(full)[\(b)];") }
            for b in 0..<lpmBytes {
                // Bits of this byte inside the prefix: clamp(len - 8b, 0, 8).
                out.line("\(k).data[\(exactBytes + b)] = len >= \(8 * b + 8) ? \(full)[\(exactBytes + b)] : (len <= \(8 * b) ? 0 : (__u8)(\(full)[\(exactBytes + b)] & (0xFF << (\(8 * b + 8) - len))));")
            }
            out.line("\(v) = bpf_map_lookup_elem(&\(EBPFLayout.mapName(table: name)), &\(k));")
            out.line("if (\(v)) break;")
        }
    }

    /// Top 16 bits, then the next l2 and l3 bits, each level an array cell: a miss (0), an
    /// entry (slot + 1), or a block of the next level (bit 31).
    func lpmDirect(_ t: EBPFLayout.TableInfo, _ keys: [String], l2: Int, l3: Int, into v: String) {
        let name = t.table.name
        let a = out.fresh("a"), i = out.fresh("i"), c = out.fresh("c"), cell = out.fresh("cell")
        let w = t.keyWidths[0]
        out.line("__u32 \(a) = (__u32)(\(keys[0]));")
        out.line("__u32 \(i) = \(a) >> \(w - 16);")
        out.line("__u32 *\(c) = bpf_map_lookup_elem(&\(EBPFLayout.levelMapName(table: name, 1)), &\(i));")
        out.line("__u32 \(cell) = \(c) ? *\(c) : 0;")
        out.block("if (\(cell) & 0x80000000) {") {
            out.line("\(i) = ((\(cell) & 0x7FFFFFFF) << \(l2)) | ((\(a) >> \(l3)) & \((1 << l2) - 1));")
            out.line("\(c) = bpf_map_lookup_elem(&\(EBPFLayout.levelMapName(table: name, 2)), &\(i));")
            out.line("\(cell) = \(c) ? *\(c) : 0;")
            if l3 > 0 {
                out.block("if (\(cell) & 0x80000000) {") {
                    out.line("\(i) = ((\(cell) & 0x7FFFFFFF) << \(l3)) | (\(a) & \((1 << l3) - 1));")
                    out.line("\(c) = bpf_map_lookup_elem(&\(EBPFLayout.levelMapName(table: name, 3)), &\(i));")
                    out.line("\(cell) = \(c) ? *\(c) : 0;")
                }
            }
        }
        out.line("if (\(cell) && !(\(cell) & 0x80000000)) { \(i) = \(cell) - 1; \(v) = bpf_map_lookup_elem(&\(EBPFLayout.mapName(table: name)), &\(i)); }")
    }

    /// Tuple-space search: the key masked by each mask in use, the best priority found.
    func ternary(_ t: EBPFLayout.TableInfo, _ keys: [String], into v: String) {
        let name = t.table.name, id = EBPFLayout.ident(name)
        let k = out.fresh("k"), kv = out.fresh("key"), mi = out.fresh("mi")
        out.line("__u64 \(kv)[\(keys.count)];")
        for (i, c) in keys.enumerated() { out.line("\(kv)[\(i)] = \(c);") }
        out.block("for (__u32 \(mi) = 0; \(mi) < \(EBPFLayout.maxMasks); \(mi)++) { /* tuple-space search */") {
            out.line("__u32 mkey = \(mi);")
            out.line("struct \(id)_mask *m = bpf_map_lookup_elem(&\(EBPFLayout.masksMapName(table: name)), &mkey);")
            out.line("if (!m || !m->used) break;")
            out.line("struct \(id)_key \(k); __builtin_memset(&\(k), 0, sizeof(\(k)));")
            out.line("\(k).mask_id = \(mi);")
            for i in 0..<keys.count { out.line("\(k).k[\(i)] = \(kv)[\(i)] & m->m[\(i)];") }
            out.line("struct \(id)_value *c = bpf_map_lookup_elem(&\(EBPFLayout.mapName(table: name)), &\(k));")
            out.line("if (c && (!\(v) || c->priority > \(v)->priority || (c->priority == \(v)->priority && c->seq < \(v)->seq))) \(v) = c;")
        }
    }

    /// A scan of every slot (tables with range keys), the best priority found.
    func linear(_ t: EBPFLayout.TableInfo, _ keys: [String], slots: Int, into v: String) {
        let name = t.table.name, id = EBPFLayout.ident(name)
        let kv = out.fresh("key"), ei = out.fresh("ei")
        out.line("__u64 \(kv)[\(keys.count)];")
        for (i, c) in keys.enumerated() { out.line("\(kv)[\(i)] = \(c);") }
        out.block("for (__u32 \(ei) = 0; \(ei) < \(slots); \(ei)++) { /* linear scan (range keys) */") {
            out.line("__u32 ekey = \(ei);")
            out.line("struct \(id)_entry *e = bpf_map_lookup_elem(&\(EBPFLayout.mapName(table: name)), &ekey);")
            out.line("if (!e) break;")
            out.line("if (!e->used) continue;")
            var conds: [String] = []
            for (i, key) in t.table.keys.enumerated() {
                switch key.kind {
                case .range: conds.append("\(kv)[\(i)] >= e->lo[\(i)] && \(kv)[\(i)] <= e->hi[\(i)]")
                default: conds.append("(\(kv)[\(i)] & e->hi[\(i)]) == e->lo[\(i)]")   // value & mask (exact, lpm, ternary, optional)
                }
            }
            out.line("if (\(conds.joined(separator: " && ")) && (!\(v) || e->v.priority > \(v)->priority || (e->v.priority == \(v)->priority && e->v.seq < \(v)->seq))) \(v) = &e->v;")
        }
    }
}

import SluiceIR

/// Externs, each a map of the object: registers (cells of `sluice_registers`, no locks: a
/// program with registers runs on one CPU), counters (per CPU), meters (a spin lock a cell)
/// and digests (records in a ring buffer).
struct ExternEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func register(_ r: String) throws(EBPFError) -> Register {
        guard let reg = cx.index.registers[r] else { throw cx.fail("register \(r)", "unknown register") }
        guard reg.width <= 64 else { throw cx.fail("register \(r)", "\(reg.width)-bit cells (up to 64 on XDP)") }
        return reg
    }

    /// `cell` pointing at cell `index` of register `r` (null past its size), the index in `k`.
    func lookUpCell(_ r: String, _ reg: Register, index: String, k: String, cell: String) {
        out.line("__u32 \(k) = (__u32)(\(index));")
        out.line("struct sl_cell *\(cell) = 0;")
        out.line("if (\(k) < \(reg.size)) { \(k) += \(cx.layout.registerBase[r]!); \(cell) = bpf_map_lookup_elem(&\(EBPFLayout.registersMap), &\(k)); }")
    }

    func registerRead(_ dest: FieldRef, _ r: String, _ idx: Expr) throws(EBPFError) {
        let reg = try register(r)
        let i = try cx.expressions.expr(idx, expected: 32).0
        let k = out.fresh("ri"), cell = out.fresh("cell")
        try out.block("{ /* \(dest) = \(r)[...] */") { () throws(EBPFError) in
            lookUpCell(r, reg, index: i, k: k, cell: cell)
            try cx.fields.store(dest, "(\(cell) ? \(cell)->v : 0)")
        }
    }

    func registerWrite(_ r: String, _ idx: Expr, _ value: Expr) throws(EBPFError) {
        let reg = try register(r)
        let i = try cx.expressions.expr(idx, expected: 32).0
        let v = try cx.expressions.expr(value, expected: reg.width).0
        let k = out.fresh("ri"), cell = out.fresh("cell")
        out.block("{ /* \(r)[...] = ... */") {
            lookUpCell(r, reg, index: i, k: k, cell: cell)
            out.line("if (\(cell)) \(cell)->v = (\(v)) & \(CLiteral.mask(reg.width));")
        }
    }

    /// A read-modify-write of one cell: `update` sees the old value (`Expr.registerOld`);
    /// `result` gets the old or the new one.
    func registerAction(_ r: String, _ idx: Expr, _ update: Expr, _ result: FieldRef?, returnsNew: Bool) throws(EBPFError) {
        let reg = try register(r)
        let i = try cx.expressions.expr(idx, expected: 32).0
        let k = out.fresh("ri"), cell = out.fresh("cell"), old = out.fresh("old"), nv = out.fresh("new")
        try out.block("{ /* register action on \(r) */") { () throws(EBPFError) in
            lookUpCell(r, reg, index: i, k: k, cell: cell)
            out.line("__u64 \(old) = 0, \(nv) = 0;")
            try out.block("if (\(cell)) {") { () throws(EBPFError) in
                out.line("\(old) = \(cell)->v;")
                cx.scope.registerOld = old
                let u = try cx.expressions.expr(update, expected: reg.width).0
                cx.scope.registerOld = nil
                out.line("\(nv) = (\(u)) & \(CLiteral.mask(reg.width));")
                out.line("\(cell)->v = \(nv);")
            }
            if let result { try cx.fields.store(result, returnsNew ? nv : old) }
        }
    }

    func count(_ c: String, _ idx: Expr) throws(EBPFError) {
        guard let counter = cx.index.counters[c] else { throw cx.fail("count \(c)", "unknown counter") }
        let k = out.fresh("ci"), cell = out.fresh("cnt")
        try out.block("{ /* \(c).count(...) */") { () throws(EBPFError) in
            out.line("__u32 \(k) = (__u32)(\(try cx.expressions.expr(idx, expected: 32).0));")
            out.line("struct sl_count *\(cell) = \(k) < \(counter.size) ? bpf_map_lookup_elem(&\(EBPFLayout.mapName(counter: c)), &\(k)) : 0;")
            out.line("if (\(cell)) { \(cell)->packets += 1; \(cell)->bytes += s->std[\(cx.std(.packetLength))]; }")
        }
    }

    /// A record in the ring buffer: the digest's number, then its fields.
    func digest(_ name: String, _ values: [Expr]) throws(EBPFError) {
        guard let id = cx.program.digests.firstIndex(where: { $0.name == name }) else { throw cx.fail("digest \(name)", "unknown digest") }
        let fields = cx.program.digests[id].fields
        let d = out.fresh("dg")
        try out.block("{ /* digest \(name) */") { () throws(EBPFError) in
            var vs: [String] = []
            for (v, f) in zip(values, fields) { vs.append("(\(try cx.expressions.expr(v, expected: f.width).0)) & \(CLiteral.mask(f.width))") }
            out.line("struct sl_digest *\(d) = bpf_ringbuf_reserve(&\(EBPFLayout.digestsMap), sizeof(struct sl_digest), 0);")
            out.block("if (\(d)) {") {
                out.line("__builtin_memset(\(d), 0, sizeof(*\(d)));")
                out.line("\(d)->w[0] = \(id);")
                for (i, v) in vs.enumerated() { out.line("\(d)->w[\(i + 1)] = \(v); /* \(fields[i].name) */") }
                out.line("bpf_ringbuf_submit(\(d), 0);")
            }
        }
    }

    func meter(_ m: String, _ idx: Expr, _ result: FieldRef) throws(EBPFError) {
        guard let meter = cx.program.meters.first(where: { $0.name == m }) else { throw cx.fail("meter \(m)", "unknown meter") }
        let k = out.fresh("mi"), cell = out.fresh("mc"), color = out.fresh("color")
        try out.block("{ /* \(m).execute(...): RFC 2698 trTCM, tokens in unit-nanoseconds as the runtime's */") { () throws(EBPFError) in
            out.line("__u32 \(k) = (__u32)(\(try cx.expressions.expr(idx, expected: 32).0));")
            out.line("struct sl_meter *\(cell) = \(k) < \(meter.size) ? bpf_map_lookup_elem(&\(EBPFLayout.mapName(meter: m)), &\(k)) : 0;")
            out.line("__u64 \(color) = 0;")
            out.line("if (\(cell)) \(color) = sl_meter(\(cell), \(meter.unit == .bytes ? "s->std[\(cx.std(.packetLength))]" : "1"), s->std[\(cx.std(.ingressTimestamp))]);")
            try cx.fields.store(result, color)
        }
    }
}

import SluiceIR

/// Externs on the host, on the runtime's own state: register cells and counter cells are its
/// memory (`s->regs`, `s->counters`: packets then bytes of each counter), read and written in
/// place; an index past the end is ignored and counted through a call (`s->reg_oor`,
/// `s->count`). Meters and digests are calls into the runtime (`s->meter`, `s->digest`):
/// a meter's cells hold 128-bit token counts and a digest goes into the runtime's ring.
struct HostExternEmitter: ExternLowering {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func register(_ r: String) throws(EBPFError) -> (Register, Int) {
        guard let reg = cx.index.registers[r], let id = cx.program.registers.firstIndex(where: { $0.name == r }) else {
            throw cx.fail("register \(r)", "unknown register")
        }
        guard reg.width <= 64 else { throw cx.fail("register \(r)", "\(reg.width)-bit cells (up to 64 in native code)") }
        return (reg, id)
    }

    /// `cell` pointing at the cell (null past the register's size, counted).
    func lookUpCell(_ r: String, index: String) throws(EBPFError) -> String {
        let (reg, id) = try register(r)
        let k = out.fresh("ri"), cell = out.fresh("cell")
        out.line("__u64 \(k) = \(index);")
        out.line("__u64 *\(cell) = \(k) < \(reg.size) ? &s->regs[\(id)][\(k)] : (s->reg_oor(s->env, \(id)), (__u64 *)0);")
        return cell
    }

    func registerRead(_ dest: FieldRef, _ r: String, _ idx: Expr) throws(EBPFError) {
        let i = try cx.expressions.expr(idx, expected: 32).0
        try out.block("{ /* \(dest) = \(r)[...] */") { () throws(EBPFError) in
            let cell = try lookUpCell(r, index: i)
            try cx.fields.store(dest, "(\(cell) ? *\(cell) : 0)")
        }
    }

    func registerWrite(_ r: String, _ idx: Expr, _ value: Expr) throws(EBPFError) {
        let (reg, _) = try register(r)
        let i = try cx.expressions.expr(idx, expected: 32).0
        let v = try cx.expressions.expr(value, expected: reg.width).0
        try out.block("{ /* \(r)[...] = ... */") { () throws(EBPFError) in
            let cell = try lookUpCell(r, index: i)
            out.line("if (\(cell)) *\(cell) = (\(v)) & \(CLiteral.mask(reg.width));")
        }
    }

    func registerAction(_ r: String, _ idx: Expr, _ update: Expr, _ result: FieldRef?, returnsNew: Bool) throws(EBPFError) {
        let (reg, _) = try register(r)
        let i = try cx.expressions.expr(idx, expected: 32).0
        let old = out.fresh("old"), nv = out.fresh("new")
        try out.block("{ /* register action on \(r) */") { () throws(EBPFError) in
            let cell = try lookUpCell(r, index: i)
            out.line("__u64 \(old) = 0, \(nv) = 0;")
            try out.block("if (\(cell)) {") { () throws(EBPFError) in
                out.line("\(old) = *\(cell);")
                cx.scope.registerOld = old
                let u = try cx.expressions.expr(update, expected: reg.width).0
                cx.scope.registerOld = nil
                out.line("\(nv) = (\(u)) & \(CLiteral.mask(reg.width));")
                out.line("*\(cell) = \(nv);")
            }
            if let result { try cx.fields.store(result, returnsNew ? nv : old) }
        }
    }

    func count(_ c: String, _ idx: Expr) throws(EBPFError) {
        guard let id = cx.program.counters.firstIndex(where: { $0.name == c }) else { throw cx.fail("count \(c)", "unknown counter") }
        let counter = cx.program.counters[id]
        let i = try cx.expressions.expr(idx, expected: 32).0
        let ci = out.fresh("ci"), len = "\(cx.stdArray)[\(cx.std(.packetLength))]"
        out.block("{ /* \(c).count(...) */") {
            out.line("__u64 \(ci) = \(i);")
            out.block("if (\(ci) < \(counter.size)) {") {
                if counter.kind != .bytes { out.line("s->counters[\(2 * id)][\(ci)] += 1;") }
                if counter.kind != .packets { out.line("s->counters[\(2 * id + 1)][\(ci)] += \(len);") }
                out.reopen("} else {")
                out.line("s->count(s->env, \(id), \(ci), \(len));")
            }
        }
    }

    func digest(_ name: String, _ values: [Expr]) throws(EBPFError) {
        guard let id = cx.program.digests.firstIndex(where: { $0.name == name }) else { throw cx.fail("digest \(name)", "unknown digest") }
        let fields = cx.program.digests[id].fields
        let d = out.fresh("dg")
        try out.block("{ /* digest \(name) */") { () throws(EBPFError) in
            out.line("__u64 \(d)[\(max(fields.count, 1))] = { 0 };")
            for (i, (v, f)) in zip(values, fields).enumerated() {
                guard f.width <= 64 else { throw cx.fail("digest \(name) field \(f.name)", "\(f.width)-bit digest fields (up to 64 in native code)") }
                out.line("\(d)[\(i)] = (\(try cx.expressions.expr(v, expected: f.width).0)) & \(CLiteral.mask(f.width)); /* \(f.name) */")
            }
            out.line("s->digest(s->env, \(id), \(d), \(min(values.count, fields.count)));")
        }
    }

    func meter(_ m: String, _ idx: Expr, _ result: FieldRef) throws(EBPFError) {
        guard let id = cx.program.meters.firstIndex(where: { $0.name == m }) else { throw cx.fail("meter \(m)", "unknown meter") }
        let meter = cx.program.meters[id]
        let i = try cx.expressions.expr(idx, expected: 32).0
        let amount = meter.unit == .bytes ? "\(cx.stdArray)[\(cx.std(.packetLength))]" : "1"
        try cx.fields.store(result, "s->meter(s->env, \(id), \(i), \(amount), \(cx.stdArray)[\(cx.std(.ingressTimestamp))])")
    }
}

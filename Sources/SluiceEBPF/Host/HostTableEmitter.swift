import SluiceIR

/// `table.apply()` on the host: the key words as the runtime builds them, one call to the
/// runtime's lookup (`s->lookup`: its exact, LPM, ternary and range indexes, its direct
/// counters), then the action the entry names with its arguments and the branches after it.
struct HostTableEmitter: TableLowering {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func apply(_ name: String, _ outcome: ApplyOutcome) throws(EBPFError) {
        guard let t = cx.layout.table(name), let id = cx.program.tables.firstIndex(where: { $0.name == name }) else {
            throw cx.fail("apply \(name)", "unknown table")
        }
        let k = out.fresh("k"), args = out.fresh("args"), r = out.fresh("r"), hit = out.fresh("hit"), act = out.fresh("act")
        try out.block("{ /* \(name).apply() */") { () throws(EBPFError) in
            out.line("__u64 \(k)[\(max(t.keyWidths.count, 1))] = { 0 };")
            for (i, key) in t.table.keys.enumerated() {
                out.line("\(k)[\(i)] = \(try cx.expressions.expr(key.expr, expected: t.keyWidths[i]).0);")
            }
            out.line("const __u64 *\(args) = 0;")
            out.line("__s32 \(r) = s->lookup(s->env, \(id), \(k), &\(args));")
            out.line("int \(hit) = \(r) >> 16; __u32 \(act) = \(r) & 0xFFFF;")
            try ApplyActionsEmitter(cx: cx).emit(t.table, act: act, hit: hit, outcome) { (pi: Int) -> String in "\(args)[\(pi)]" }
        }
    }
}

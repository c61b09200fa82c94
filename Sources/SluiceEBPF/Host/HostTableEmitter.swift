import SluiceIR

/// `table.apply()` on the host: the key words as the runtime builds them, the lookup in the
/// runtime's own index memory (`s->tables[id]`, `HostTableABI`: exact, LPM, ternary and range
/// alike, no call back), the direct counters, then the action the entry names with its
/// arguments and the branches after it.
struct HostTableEmitter: TableLowering {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func apply(_ name: String, _ outcome: ApplyOutcome) throws(EBPFError) {
        guard let t = cx.layout.table(name), let id = cx.program.tables.firstIndex(where: { $0.name == name }) else {
            throw cx.fail("apply \(name)", "unknown table")
        }
        let n = t.keyWidths.count
        let tb = out.fresh("tb"), k = out.fresh("k"), e = out.fresh("e"), args = out.fresh("args"), hit = out.fresh("hit"), act = out.fresh("act")
        try out.block("{ /* \(name).apply() */") { () throws(EBPFError) in
            out.line("const struct sl_table *\(tb) = s->tables[\(id)];")
            out.line("__u64 \(k)[\(max(n, 1))];")
            for (i, key) in t.table.keys.enumerated() {
                out.line("\(k)[\(i)] = \(try cx.expressions.expr(key.expr, expected: t.keyWidths[i]).0) & \(CLiteral.mask(t.keyWidths[i]));")
            }
            let lookup: String
            if n == 0 {
                lookup = "-1"
            } else {
                switch HostTableABI.Index.of(kinds: t.table.keys.map(\.kind), widths: t.keyWidths) {
                case .lpm: lookup = "sl_lpm(\(tb), \(k)[0], \(t.keyWidths[0]))"
                case .linear: lookup = "sl_linear(\(tb), \(k), \(n))"
                case .tupleSpace:
                    lookup = t.table.keys.allSatisfy { $0.kind == .exact } ? "sl_exact(\(tb), \(k), \(n))" : "sl_tuple_search(\(tb), \(k), \(n))"
                }
            }
            out.line("__s32 \(e) = \(lookup);")
            out.line("const __u64 *\(args); __u32 \(act); int \(hit) = \(e) >= 0;")
            out.block("if (\(hit)) {") {
                out.line("\(act) = (__u32)\(tb)->entry_action[\(e)];")
                out.line("\(args) = \(tb)->action_data + (__s64)\(e) * \(tb)->stride;")
                if t.table.directCounter {
                    out.line("\(tb)->hit_packets[\(e)] += 1;")
                    out.line("\(tb)->hit_bytes[\(e)] += \(cx.stdArray)[\(cx.std(.packetLength))];")
                }
                out.reopen("} else {")
                out.line("\(act) = (__u32)\(tb)->default_action;")
                out.line("\(args) = \(tb)->default_data;")
            }
            try ApplyActionsEmitter(cx: cx).emit(t.table, act: act, hit: hit, outcome) { (pi: Int) -> String in "\(args)[\(pi)]" }
        }
    }
}

import SluiceIR

/// After a table's lookup on any target: the action the entry (or the default) names, numbered
/// in the table's list, with its arguments bound, then the hit, miss and per-action branches.
struct ApplyActionsEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    /// `act`: the C of the action's number; `hit`: of whether an entry matched; `arg(i)`: of argument i.
    func emit(_ table: Table, act: String, hit: String, _ outcome: ApplyOutcome, arg: (Int) -> String) throws(EBPFError) {
        let name = table.name
        out.line("switch (\(act)) {")
        for (ai, a) in table.actions.enumerated() {
            guard let decl = cx.index.actions[a] else { throw cx.fail("table \(name)", "unknown action \(a)") }
            try out.block("case \(ai): { /* action \(a) */") { () throws(EBPFError) in
                var bound: [String: (String, Int)] = [:]
                for (pi, p) in decl.params.enumerated() {
                    let pv = out.fresh("p")
                    out.line("__u64 \(pv) = \(arg(pi)) & \(CLiteral.mask(p.width)); /* \(p.name) */")
                    bound[p.name] = (pv, p.width)
                }
                try cx.statements.action(decl.body, params: bound, decls: decl.params)
                out.line("break;")
            }
        }
        out.line("default: break;")
        out.line("}")
        if !outcome.hit.isEmpty { try out.block("if (\(hit)) {") { () throws(EBPFError) in try cx.statements.block(outcome.hit) } }
        if !outcome.miss.isEmpty { try out.block("if (!\(hit)) {") { () throws(EBPFError) in try cx.statements.block(outcome.miss) } }
        for branch in outcome.actions {
            guard let ai = table.actions.firstIndex(of: branch.action) else { throw cx.fail("switch on \(name)", "\(branch.action) is not one of its actions") }
            try out.block("if (\(act) == \(ai)) {") { () throws(EBPFError) in try cx.statements.block(branch.body) }
        }
    }
}

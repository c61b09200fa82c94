/// Every constant fits the width it has or takes from its context; parser select cases and table
/// entries agree with their keys; action arguments in entries and defaults fit the parameters;
/// registers, counters and meters have 1 to `maxExternSize` cells.
struct ConstantRange: VerifierRule {
    let name = "constant-range"
    /// The most cells of a register, counter or meter array (backends allocate them up front).
    static let maxExternSize = 1 << 24

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let p = ix.program
        var out = WidthCheck.run(ix).rangeProblems.map { diagnostic(ix, $0.element, $0.message, fix: $0.fix) }
        let externs = p.registers.map { ("register", $0.name, $0.size) } + p.counters.map { ("counter", $0.name, $0.size) }
            + p.meters.map { ("meter", $0.name, $0.size) }
        for (kind, n, size) in externs where !(1...Self.maxExternSize).contains(size) {
            out.append(diagnostic(ix, "\(kind) '\(n)'", "has size \(size); a \(kind) has 1 to \(Self.maxExternSize) cells",
                                  fix: "use a size from 1 to \(Self.maxExternSize)"))
        }

        func tooBig(_ v: UInt128, _ w: Int, _ what: String, _ el: String) {
            out.append(diagnostic(ix, el, "\(what) \(IRPrinter.hex(v)) does not fit in \(plural(w, "bit")) (at most \(IRPrinter.hex(maxValue(w))))",
                                  fix: "use a value from 0 to \(IRPrinter.hex(maxValue(w)))"))
        }

        for st in p.parser.states {
            guard case .select(let keys, let cases) = st.transition else { continue }
            let el = "parser state '\(st.name)'"
            let widths = keys.map { ix.width(of: $0) }
            for (i, c) in cases.enumerated() {
                let label = "select case \(i + 1) (to '\(c.next)')"
                guard c.keys.count == keys.count else {
                    out.append(diagnostic(ix, el, "\(label) has \(plural(c.keys.count, "keyset element")), but the select has \(plural(keys.count, "key"))",
                                          fix: "give the case one keyset element per key, in order (use .any for a wildcard)"))
                    continue
                }
                for (k, w) in zip(c.keys, widths) {
                    guard let w, (1...128).contains(w) else { continue }
                    switch k {
                    case .value(let v):
                        if !fits(v, w) { tooBig(v, w, "\(label) value", el) }
                    case .mask(let v, let m):
                        if !fits(v, w) { tooBig(v, w, "\(label) value", el) }
                        if !fits(m, w) { tooBig(m, w, "\(label) mask", el) }
                    case .range(let lo, let hi):
                        if lo > hi {
                            out.append(diagnostic(ix, el, "\(label) range \(IRPrinter.hex(lo))..\(IRPrinter.hex(hi)) is empty",
                                                  fix: "write the low bound first: .range(\(IRPrinter.hex(hi)), \(IRPrinter.hex(lo)))"))
                        }
                        if !fits(hi, w) { tooBig(hi, w, "\(label) range bound", el) } else if !fits(lo, w) { tooBig(lo, w, "\(label) range bound", el) }
                    case .any:
                        break
                    }
                }
            }
        }

        /// Arguments of an action call installed by the program (an entry or a default action).
        func checkArgs(_ call: ActionCall, _ what: String, _ el: String) {
            guard let a = ix.actions[call.action] else { return }  // reported by table-actions
            if call.args.count != a.params.count {
                let sig = a.params.map { "\($0.name): bit<\($0.width)>" }.joined(separator: ", ")
                out.append(diagnostic(ix, el, "\(what) passes \(plural(call.args.count, "argument")) to action '\(a.name)', which takes \(a.params.count)",
                                      fix: a.params.isEmpty ? "pass no arguments" : "pass one argument per parameter: \(sig)"))
                return
            }
            for (v, prm) in zip(call.args, a.params) where (1...128).contains(prm.width) && !fits(v, prm.width) {
                out.append(diagnostic(ix, el, "\(what) passes \(IRPrinter.hex(v)) as parameter '\(prm.name)' of action '\(a.name)', which has \(plural(prm.width, "bit")) (at most \(IRPrinter.hex(maxValue(prm.width))))",
                                      fix: "use a value from 0 to \(IRPrinter.hex(maxValue(prm.width)))"))
            }
        }

        for t in p.tables {
            let el = "table '\(t.name)'"
            checkArgs(t.defaultAction, "the default action", el)
            let widths = t.keys.map { ix.width(of: $0.expr) }
            for (i, e) in t.entries.enumerated() {
                let label = "entry \(i + 1)"
                checkArgs(e.action, label, el)
                guard e.matches.count == t.keys.count else {
                    out.append(diagnostic(ix, el, "\(label) has \(plural(e.matches.count, "match", "matches")), but the table has \(plural(t.keys.count, "key"))",
                                          fix: "give the entry one match per key, in order: \(t.keys.map(\.name).joined(separator: ", "))"))
                    continue
                }
                for (m, (key, w)) in zip(e.matches, zip(t.keys, widths)) {
                    checkMatch(m, key, w, "\(label) key '\(key.name)'", el, &out, ix)
                }
            }
        }
        return uniqued(out)
    }

    private func kind(_ m: Match) -> MatchKind {
        switch m {
        case .exact: .exact
        case .lpm: .lpm
        case .ternary: .ternary
        case .range: .range
        case .optional: .optional
        }
    }

    private func checkMatch(_ m: Match, _ key: TableKey, _ w: Int?, _ label: String, _ el: String, _ out: inout [Diagnostic], _ ix: ProgramIndex) {
        guard kind(m) == key.kind else {
            let example = switch key.kind {
            case .exact: ".exact(value)"
            case .lpm: ".lpm(value, prefixLength: n)"
            case .ternary: ".ternary(value, mask: m)"
            case .range: ".range(lo, hi)"
            case .optional: ".optional(value) or .optional(nil)"
            }
            let given = kind(m).rawValue
            let article = given == "ternary" || given == "range" ? "a" : "an"
            out.append(diagnostic(ix, el, "\(label) is matched \(key.kind.rawValue), but the entry gives \(article) \(given) match",
                                  fix: "use \(example)"))
            return
        }
        guard let w, (1...128).contains(w) else { return }
        func big(_ v: UInt128, _ what: String) {
            out.append(diagnostic(ix, el, "\(label) \(what) \(IRPrinter.hex(v)) does not fit in \(plural(w, "bit")) (at most \(IRPrinter.hex(maxValue(w))))",
                                  fix: "use a value from 0 to \(IRPrinter.hex(maxValue(w)))"))
        }
        switch m {
        case .exact(let v): if !fits(v, w) { big(v, "value") }
        case .lpm(let v, let len):
            if !fits(v, w) { big(v, "value") }
            if !(0...w).contains(len) {
                out.append(diagnostic(ix, el, "\(label) has prefix length \(len); the key has \(plural(w, "bit"))",
                                      fix: "use a prefix length from 0 to \(w)"))
            }
        case .ternary(let v, let mask):
            if !fits(v, w) { big(v, "value") }
            if !fits(mask, w) { big(mask, "mask") }
        case .range(let lo, let hi):
            if lo > hi {
                out.append(diagnostic(ix, el, "\(label) range \(IRPrinter.hex(lo))..\(IRPrinter.hex(hi)) is empty",
                                      fix: "write the low bound first: .range(\(IRPrinter.hex(hi)), \(IRPrinter.hex(lo)))"))
            }
            if !fits(hi, w) { big(hi, "range bound") } else if !fits(lo, w) { big(lo, "range bound") }
        case .optional(let v):
            if let v, !fits(v, w) { big(v, "value") }
        }
    }
}

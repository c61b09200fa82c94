/// Every name a statement or expression uses is declared: headers and their fields, metadata
/// fields, action parameters (only inside actions), tables, actions and externs.
struct UndefinedReference: VerifierRule {
    let name = "undefined-reference"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let p = ix.program
        var out: [Diagnostic] = []
        let headerNames = p.headers.map(\.name)

        func missing(_ el: String, _ kind: String, _ n: String, _ verb: String, _ candidates: [String]) {
            out.append(diagnostic(ix, el, "\(verb) \(kind) '\(n)', which is not declared",
                                  fix: Suggest.oneOf(n, candidates, none: "declare \(kind) '\(n)'")))
        }
        func header(_ h: String, _ el: String, _ verb: String) {
            if ix.headers[h] == nil { missing(el, "header", h, verb, headerNames) }
        }

        Walk.fieldRefs(p) { r, site, use in
            let el = site.element
            let shown = Walk.show(r)
            switch r {
            case .header(let h, let f, _):
                guard let inst = ix.headers[h] else {
                    out.append(diagnostic(ix, el, "\(use.verb) \(shown), but there is no header '\(h)'",
                                          fix: Suggest.oneOf(h, headerNames, none: "declare a header instance '\(h)'")))
                    return
                }
                // A header of an undeclared type is reported by header-layout.
                guard let t = ix.headerTypes[inst.type], t.field(named: f) == nil else { return }
                out.append(diagnostic(ix, el, "\(use.verb) \(shown), but header type '\(t.name)' has no field '\(f)'",
                                      fix: Suggest.oneOf(f, t.fields.map(\.name), none: "add field '\(f)' to header type '\(t.name)'")))
            case .meta where r.notAssignableExpression != nil:
                // The DSL's marker for a place that is not one (a slice, an expression): say so,
                // rather than suggest declaring metadata by that name.
                let what = r.notAssignableExpression!
                out.append(diagnostic(ix, el, "\(use.verb) \(what), which is not a field",
                                      fix: "give a whole field (hdr.H.F, meta.M or standard.F); to change some of a field's bits, assign the whole field from slices, e.g. Assign(hdr.eth.src, v ++ hdr.eth.src[39, 0])"))
            case .meta(let m):
                if ix.metadata[m] == nil {
                    out.append(diagnostic(ix, el, "\(use.verb) \(shown), but metadata has no field '\(m)'",
                                          fix: Suggest.oneOf(m, p.metadata.map(\.name), none: "declare metadata field '\(m)'")))
                }
            case .standard:
                break
            }
        }

        Walk.expressions(p) { e, site in
            switch e {
            case .param(let n):
                if !site.inAction {
                    out.append(diagnostic(ix, site.element, "reads parameter '\(n)' outside an action",
                                          fix: "action parameters exist only inside actions; use a field or a constant here"))
                } else if !site.params.contains(where: { $0.name == n }) {
                    out.append(diagnostic(ix, site.element, "reads parameter '\(n)', but action '\(site.name)' has no parameter '\(n)'",
                                          fix: Suggest.oneOf(n, site.params.map(\.name), none: "add a parameter '\(n)' to the action")))
                }
            case .isValid(let h, _):
                header(h, site.element, "tests the validity of")
            default:
                break
            }
        }

        Walk.statements(p) { s, site in
            let el = site.element
            switch s {
            case .setValid(let h, _): header(h, el, "sets valid")
            case .setInvalid(let h, _): header(h, el, "sets invalid")
            case .pushFront(let h, _): header(h, el, "pushes onto")
            case .popFront(let h, _): header(h, el, "pops from")
            case .extract(let h, _): header(h, el, "extracts")
            case .apply(let t, _):
                if ix.tables[t] == nil { missing(el, "table", t, "applies", p.tables.map(\.name)) }
            case .call(let a, _):
                if ix.actions[a] == nil { missing(el, "action", a, "calls", p.actions.map(\.name)) }
            case .registerRead(_, let r, _), .registerWrite(let r, _, _), .registerAction(let r, _, _, _, _):
                if ix.registers[r] == nil { missing(el, "register", r, "uses", p.registers.map(\.name)) }
            case .count(let c, _):
                if ix.counters[c] == nil { missing(el, "counter", c, "counts with", p.counters.map(\.name)) }
            case .meter(let m, _, _):
                if ix.meters[m] == nil { missing(el, "meter", m, "uses", p.meters.map(\.name)) }
            case .digest(let d, _):
                if ix.digests[d] == nil { missing(el, "digest", d, "sends", p.digests.map(\.name)) }
            case .updateChecksum(_, let hs), .verifyChecksum(_, let hs):
                for h in hs { header(h, el, "computes a checksum over") }
            default:
                break
            }
        }

        for h in p.deparser.emit { header(h, "deparser", "emits") }
        return uniqued(out)
    }
}

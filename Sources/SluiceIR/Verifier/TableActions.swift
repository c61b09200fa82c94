/// A table's actions exist, its default action and entries use only listed actions, it has at
/// most one lpm key and room for its entries, and apply branches name listed actions.
struct TableActions: VerifierRule {
    let name = "table-actions"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let p = ix.program
        var out: [Diagnostic] = []
        for t in p.tables {
            let el = "table '\(t.name)'"
            var unique: [String] = []
            for a in t.actions where !unique.contains(a) { unique.append(a) }
            let listed = unique.joined(separator: ", ")
            var seen: Set<String> = []
            for a in t.actions {
                if !seen.insert(a).inserted {
                    out.append(diagnostic(ix, el, "lists action '\(a)' more than once", fix: "list each action once"))
                } else if ix.actions[a] == nil {
                    out.append(diagnostic(ix, el, "lists action '\(a)', which is not declared",
                                          fix: Suggest.oneOf(a, p.actions.map(\.name), none: "declare action '\(a)'")))
                }
            }
            if t.actions.isEmpty {
                out.append(diagnostic(ix, el, "lists no actions",
                                      fix: "list the actions the table may run, e.g. NoAction and '\(t.defaultAction.action)'"))
            } else {
                if !seen.contains(t.defaultAction.action) {
                    out.append(diagnostic(ix, el, "default action '\(t.defaultAction.action)' is not one of the table's actions (\(listed))",
                                          fix: "add '\(t.defaultAction.action)' to the table's actions, or make one of them the default"))
                }
                for (i, e) in t.entries.enumerated() where !seen.contains(e.action.action) {
                    out.append(diagnostic(ix, el, "entry \(i + 1) runs action '\(e.action.action)', which is not one of the table's actions (\(listed))",
                                          fix: "add '\(e.action.action)' to the table's actions, or use one of them in the entry"))
                }
            }
            let lpm = t.keys.filter { $0.kind == .lpm }
            if lpm.count > 1 {
                out.append(diagnostic(ix, el, "has \(lpm.count) lpm keys (\(lpm.map(\.name).joined(separator: ", "))); a table has at most one",
                                      fix: "keep one lpm key and match the others ternary"))
            }
            if t.size < 1 {
                out.append(diagnostic(ix, el, "has size \(t.size)", fix: "give the table a size of at least 1 (the most entries it holds)"))
            } else if t.entries.count > t.size {
                out.append(diagnostic(ix, el, "has \(t.entries.count) entries but size \(t.size)",
                                      fix: "raise the size to at least \(t.entries.count)"))
            }
        }
        Walk.statements(p) { s, site in
            guard case .apply(let name, let outcome) = s, let t = ix.tables[name] else { return }
            for b in outcome.actions where !t.actions.contains(b.action) {
                out.append(diagnostic(ix, site.element, "applies table '\(name)' with a branch for action '\(b.action)', which the table does not list",
                                      fix: Suggest.oneOf(b.action, t.actions, none: "list '\(b.action)' in table '\(name)'")))
            }
        }
        return uniqued(out)
    }
}

/// Every name is declared once in its namespace: backends resolve names to slots, and a second
/// declaration would silently shadow the first.
struct UniqueNames: VerifierRule {
    let name = "unique-names"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let p = ix.program
        var out: [Diagnostic] = []

        /// One diagnostic per name declared more than once, at the element that holds them.
        /// One diagnostic per name declared more than once. A top-level kind ("action") is the
        /// element itself; a member kind ("field") is named inside its `owner` element.
        func dups(_ names: [String], _ kind: String, owner: String? = nil) {
            var counts: [String: Int] = [:]
            for n in names { counts[n, default: 0] += 1 }
            var seen: Set<String> = []
            for n in names where counts[n]! > 1 && seen.insert(n).inserted {
                let times = "is declared \(counts[n]!) times"
                out.append(diagnostic(ix, owner ?? "\(kind) '\(n)'", owner == nil ? times : "\(kind) '\(n)' \(times)",
                                      fix: "rename or remove the extra declarations of '\(n)'"))
            }
        }

        dups(p.headerTypes.map(\.name), "header type")
        for t in p.headerTypes { dups(t.fields.map(\.name), "field", owner: "header type '\(t.name)'") }
        dups(p.headers.map(\.name), "header")
        dups(p.metadata.map(\.name), "field", owner: "metadata")
        dups(p.parser.states.map(\.name), "parser state")
        dups(p.actions.map(\.name), "action")
        for a in p.actions { dups(a.params.map(\.name), "parameter", owner: "action '\(a.name)'") }
        dups(p.tables.map(\.name), "table")
        for t in p.tables { dups(t.keys.map(\.name), "key name", owner: "table '\(t.name)'") }
        dups(p.registers.map(\.name), "register")
        dups(p.counters.map(\.name), "counter")
        dups(p.meters.map(\.name), "meter")
        dups(p.digests.map(\.name), "digest")
        for d in p.digests { dups(d.fields.map(\.name), "field", owner: "digest '\(d.name)'") }
        dups(p.errors, "error", owner: "errors")
        let standard = Set(StandardError.allCases.map(\.rawValue))
        var reported: Set<String> = []
        for e in p.errors where standard.contains(e) && reported.insert(e).inserted {
            out.append(diagnostic(ix, "errors", "error '\(e)' is already a standard error",
                                  fix: "remove '\(e)' from the program's errors; verify can raise it as is"))
        }
        return out
    }
}

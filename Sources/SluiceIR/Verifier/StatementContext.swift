/// Statements and expressions appear only where they mean something: parser-only constructs in
/// the parser, table applies in the ingress and egress controls, `old` inside a register update,
/// calls with the right number of arguments, verify with a declared error, no recursive calls.
struct StatementContext: VerifierRule {
    let name = "statement-context"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let p = ix.program
        var out: [Diagnostic] = []
        func add(_ site: Site, _ message: String, _ fix: String) {
            out.append(diagnostic(ix, site.element, message, fix: fix))
        }
        let nextFix = "use .next only in extract(..., index: .next) in the parser; elsewhere use .last or a constant index"

        // Actions that run from egress: those its tables can run (entries and default included)
        // and those it calls, with everything they call in turn.
        var egressActions: [String: String] = [:]  // action -> how egress reaches it
        var pending: [String] = []
        func reach(_ a: String, _ via: String) {
            guard ix.actions[a] != nil, egressActions[a] == nil else { return }
            egressActions[a] = via; pending.append(a)
        }
        func scan(_ ss: [Stmt], _ via: String) {
            for s in ss {
                switch s {
                case .apply(let t, _):
                    if let table = p.tables.first(where: { $0.name == t }) {
                        for a in table.actions + [table.defaultAction.action] + table.entries.map(\.action.action) {
                            reach(a, "table '\(t)', applied in egress")
                        }
                    }
                case .call(let a, _): reach(a, via)
                default: break
                }
                scan(Walk.children(of: s), via)
            }
        }
        scan(p.egress ?? [], "called in egress")
        while let a = pending.popLast() {
            scan(ix.actions[a]?.body ?? [], "called by action '\(a)', which runs in egress")
        }
        let resubmitMessage = "resubmit is only possible in ingress (it restarts ingress with the original packet)"
        let resubmitFix = "resubmit from the ingress control, or recirculate to send the processed packet back through ingress"

        Walk.statements(p) { s, site in
            let inParser = site.kind == .parserState
            if case .resubmit = s, !inParser {
                switch site.kind {
                case .egress, .deparser:
                    add(site, "requests resubmit; \(resubmitMessage)", resubmitFix)
                case .action:
                    if let via = egressActions[site.name] {
                        add(site, "requests resubmit and runs in egress (\(via)); \(resubmitMessage)", resubmitFix)
                    }
                default: break
                }
            }
            switch s {
            case .extract(let h, _):
                if !inParser {
                    add(site, "extracts header '\(h)' outside the parser", "extract headers in a parser state; use setValid here")
                }
            case .verify:
                if !inParser {
                    add(site, "uses verify outside the parser", "check the condition with an if here, or move the verify into a parser state")
                }
            case .advance, .skip:
                if !inParser { add(site, "advances the packet cursor outside the parser", "advance in a parser state") }
            case .truncate:
                if !site.isControl && site.kind != .action {
                    add(site, "truncates the packet outside a control", "truncate in ingress, egress or an action they run")
                }
            case .apply(let t, _):
                if !site.isControl {
                    let fix = switch site.kind {
                    case .action: "apply the table from ingress or egress, not from an action"
                    case .parserState: "select on header fields in the parser and apply the table in ingress"
                    default: "apply the table in ingress or egress"
                    }
                    add(site, "applies table '\(t)'; tables are applied only in the ingress or egress control", fix)
                }
            case .drop where inParser:
                add(site, "marks the packet to drop in the parser", "transition to reject instead")
            case .exit where inParser:
                add(site, "exits in the parser", "transition to accept or reject instead")
            case .recirculate where inParser, .resubmit where inParser:
                let what = if case .recirculate = s { "recirculate" } else { "resubmit" }
                add(site, "requests \(what) in the parser", "\(what) from the ingress or egress control")
            case .call(let a, let args):
                if let action = ix.actions[a], args.count != action.params.count {
                    let sig = action.params.map { "\($0.name): bit<\($0.width)>" }.joined(separator: ", ")
                    add(site, "calls action '\(a)' with \(plural(args.count, "argument")), but it takes \(action.params.count)\(sig.isEmpty ? "" : " (\(sig))")",
                        action.params.isEmpty ? "call it without arguments" : "pass one argument per parameter: \(action.params.map(\.name).joined(separator: ", "))")
                }
            case .setValid(let h, .next?):
                add(site, "uses hdr.\(h).next.setValid() outside an extract", nextFix)
            case .setInvalid(let h, .next?):
                add(site, "uses hdr.\(h).next.setInvalid() outside an extract", nextFix)
            default:
                break
            }
            if case .verify(_, let err) = s, ix.errorCodes[err] == nil {
                let all = StandardError.allCases.map(\.rawValue) + p.errors
                let fix = Suggest.didYouMean(err, all).map { "\($0) (or add '\(err)' to the program's errors)" }
                    ?? "add '\(err)' to the program's errors, or use one of: \(Suggest.names(all))"
                add(site, "raises error '\(err)', which is not declared", fix)
            }
        }

        Walk.fieldRefs(p) { r, site, _ in
            if case .header(_, _, .next?) = r {
                add(site, "uses \(Walk.show(r)) outside an extract", nextFix)
            }
        }

        Walk.expressions(p) { e, site in
            switch e {
            case .isValid(let h, .next?):
                add(site, "uses hdr.\(h).next.isValid() outside an extract", nextFix)
            case .lookahead(let w) where site.kind != .parserState:
                add(site, "looks ahead \(plural(w, "bit")) outside the parser", "use lookahead only in parser states and select keys")
            case .registerOld where !site.inUpdate:
                add(site, "uses the old register value outside a registerAction update",
                    "read the register with registerRead, or move the expression into a registerAction's update")
            default:
                break
            }
        }

        // Actions that call themselves, directly or through others, would never finish.
        var calls: [String: [String]] = [:]
        for a in p.actions where calls[a.name] == nil {
            var cs: [String] = []
            func go(_ ss: [Stmt]) {
                for s in ss {
                    if case .call(let c, _) = s, ix.actions[c] != nil, !cs.contains(c) { cs.append(c) }
                    go(Walk.children(of: s))
                }
            }
            go(a.body)
            calls[a.name] = cs
        }
        var inCycle: Set<String> = []
        for a in p.actions where !inCycle.contains(a.name) {
            // Breadth-first from a's callees back to a, keeping the path.
            var parent: [String: String] = [:]
            var queue = calls[a.name] ?? []
            for c in queue { parent[c] = a.name }
            var i = 0
            while i < queue.count, parent[a.name] == nil {
                let n = queue[i]; i += 1
                for c in calls[n] ?? [] where parent[c] == nil { parent[c] = n; queue.append(c) }
            }
            guard var cur = parent[a.name] else { continue }
            var back: [String] = []  // the cycle walked backwards from a, a excluded
            while cur != a.name { back.append(cur); cur = parent[cur]! }
            let path = [a.name] + back.reversed() + [a.name]
            inCycle.formUnion(path)
            add(Site(kind: .action, name: a.name),
                "calls itself: \(path.joined(separator: " -> "))", "actions cannot recurse; break the cycle of calls")
        }
        return uniqued(out)
    }
}

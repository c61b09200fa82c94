/// Shared traversals for the verifier rules: every statement, expression and field reference of a
/// program, each with the site it sits in, so that a rule states only what it checks.

/// Where a statement or an expression sits.
struct Site: Sendable {
    enum Kind: Equatable, Sendable { case parserState, action, table, ingress, egress, deparser }
    var kind: Kind
    /// The element's name (state, action or table); empty for controls and the deparser.
    var name: String
    /// The enclosing action's parameters; empty outside actions.
    var params: [FieldDecl] = []
    /// Inside a `registerAction` update expression.
    var inUpdate: Bool = false

    var inAction: Bool { kind == .action }
    var isControl: Bool { kind == .ingress || kind == .egress }

    /// The element as a reader finds it in a diagnostic.
    var element: String {
        switch kind {
        case .parserState: "parser state '\(name)'"
        case .action: "action '\(name)'"
        case .table: "table '\(name)'"
        case .ingress: "control ingress"
        case .egress: "control egress"
        case .deparser: "deparser"
        }
    }
}

/// How an expression or statement uses a field.
enum FieldUse: Sendable {
    /// Written by the statement (assignment target, extern result, checksum field).
    case write
    case read
    /// A table key.
    case key
    var verb: String {
        switch self {
        case .write: "assigns"
        case .read: "reads"
        case .key: "matches on"
        }
    }
}

enum Walk {
    /// Each element's top-level statements, in program order: parser states, actions, ingress,
    /// egress, deparser. (Tables hold no statements.)
    static func bodies(_ p: Program) -> [(site: Site, statements: [Stmt])] {
        var out: [(Site, [Stmt])] = []
        for s in p.parser.states { out.append((Site(kind: .parserState, name: s.name), s.statements)) }
        for a in p.actions { out.append((Site(kind: .action, name: a.name, params: a.params), a.body)) }
        out.append((Site(kind: .ingress, name: ""), p.ingress))
        if let eg = p.egress { out.append((Site(kind: .egress, name: ""), eg)) }
        out.append((Site(kind: .deparser, name: ""), p.deparser.statements))
        return out
    }

    /// The statements nested directly in a statement (if branches, apply outcome branches).
    static func children(of s: Stmt) -> [Stmt] {
        switch s {
        case .ifElse(_, let t, let e): t + e
        case .apply(_, let o): o.hit + o.miss + o.actions.flatMap(\.body)
        default: []
        }
    }

    /// Every statement of the program, nested ones included, in pre-order.
    static func statements(_ p: Program, _ visit: (Stmt, Site) -> Void) {
        func go(_ ss: [Stmt], _ site: Site) {
            for s in ss { visit(s, site); go(children(of: s), site) }
        }
        for (site, ss) in bodies(p) { go(ss, site) }
    }

    /// The expressions a statement holds directly (not those of nested statements), each with
    /// the site it is evaluated in: a `registerAction` update is marked `inUpdate`.
    static func operands(of s: Stmt, in site: Site) -> [(Expr, Site)] {
        switch s {
        case .assign(_, let e): return [(e, site)]
        case .ifElse(let c, _, _): return [(c, site)]
        case .call(_, let args): return args.map { ($0, site) }
        case .registerRead(_, _, let i): return [(i, site)]
        case .registerWrite(_, let i, let v): return [(i, site), (v, site)]
        case .registerAction(_, let i, let u, _, _):
            var inner = site
            inner.inUpdate = true
            return [(i, site), (u, inner)]
        case .count(_, let i): return [(i, site)]
        case .meter(_, let i, _): return [(i, site)]
        case .digest(_, let vs): return vs.map { ($0, site) }
        case .incrementalChecksum(_, let a, let b): return [(a, site), (b, site)]
        case .verify(let c, _): return [(c, site)]
        case .skip(let n), .truncate(let n): return [(n, site)]
        case .setValid, .setInvalid, .pushFront, .popFront, .apply, .drop, .exit, .updateChecksum,
             .verifyChecksum, .recirculate, .resubmit, .extract, .advance:
            return []
        }
    }

    /// The fields a statement writes (not those its expressions read).
    static func writtenFields(of s: Stmt) -> [FieldRef] {
        switch s {
        case .assign(let r, _), .registerRead(let r, _, _), .meter(_, _, let r),
             .updateChecksum(let r, _), .incrementalChecksum(let r, _, _):
            [r]
        case .registerAction(_, _, _, let r, _): r.map { [$0] } ?? []
        default: []
        }
    }

    /// Fields a statement reads without an expression (the checksum a `verifyChecksum` checks).
    static func readFields(of s: Stmt) -> [FieldRef] {
        if case .verifyChecksum(let r, _) = s { return [r] }
        return []
    }

    /// An expression and all its subexpressions, in pre-order.
    static func subexpressions(_ e: Expr) -> [Expr] {
        var out: [Expr] = []
        func go(_ e: Expr) {
            out.append(e)
            switch e {
            case .unary(_, let a), .slice(let a, _, _), .cast(let a, _, _), .optional(let a, _): go(a)
            case .binary(_, let a, let b), .signed(_, let a, let b), .concat(let a, let b): go(a); go(b)
            case .mux(let c, let a, let b): go(c); go(a); go(b)
            case .hash(_, let xs, _, _, _): xs.forEach(go)
            case .const, .field, .param, .isValid, .random, .lookahead, .registerOld: break
            }
        }
        go(e)
        return out
    }

    /// Every top-level expression of the program with its site and how it uses fields: statement
    /// operands, parser select keys, table keys. Program order.
    static func topExpressions(_ p: Program, _ visit: (Expr, Site, FieldUse) -> Void) {
        for st in p.parser.states {
            let site = Site(kind: .parserState, name: st.name)
            for s in st.statements { stmtExprs(s, site, visit) }
            if case .select(let keys, _) = st.transition { keys.forEach { visit($0, site, .read) } }
        }
        for a in p.actions {
            let site = Site(kind: .action, name: a.name, params: a.params)
            for s in a.body { stmtExprs(s, site, visit) }
        }
        for t in p.tables {
            let site = Site(kind: .table, name: t.name)
            for k in t.keys { visit(k.expr, site, .key) }
        }
        for (site, ss) in bodies(p) where site.kind != .parserState && site.kind != .action {
            for s in ss { stmtExprs(s, site, visit) }
        }
    }

    private static func stmtExprs(_ s: Stmt, _ site: Site, _ visit: (Expr, Site, FieldUse) -> Void) {
        for (e, st) in operands(of: s, in: site) { visit(e, st, .read) }
        for c in children(of: s) { stmtExprs(c, site, visit) }
    }

    /// Every expression and subexpression of the program, with its site.
    static func expressions(_ p: Program, _ visit: (Expr, Site) -> Void) {
        topExpressions(p) { e, site, _ in subexpressions(e).forEach { visit($0, site) } }
    }

    /// Every field reference of the program, written or read, with its site, in program order.
    static func fieldRefs(_ p: Program, _ visit: (FieldRef, Site, FieldUse) -> Void) {
        func inStmt(_ s: Stmt, _ site: Site) {
            for r in writtenFields(of: s) { visit(r, site, .write) }
            for r in readFields(of: s) { visit(r, site, .read) }
            for (e, st) in operands(of: s, in: site) { refs(e, st, .read) }
            for c in children(of: s) { inStmt(c, site) }
        }
        func refs(_ e: Expr, _ site: Site, _ use: FieldUse) {
            for x in subexpressions(e) { if case .field(let r) = x { visit(r, site, use) } }
        }
        for st in p.parser.states {
            let site = Site(kind: .parserState, name: st.name)
            for s in st.statements { inStmt(s, site) }
            if case .select(let keys, _) = st.transition { keys.forEach { refs($0, site, .read) } }
        }
        for a in p.actions {
            let site = Site(kind: .action, name: a.name, params: a.params)
            for s in a.body { inStmt(s, site) }
        }
        for t in p.tables {
            let site = Site(kind: .table, name: t.name)
            for k in t.keys { refs(k.expr, site, .key) }
        }
        for (site, ss) in bodies(p) where site.kind != .parserState && site.kind != .action {
            for s in ss { inStmt(s, site) }
        }
    }
}

extension Walk {
    /// Printed forms used in messages.
    static func show(_ r: FieldRef) -> String { IRPrinter.ref(r) }
    static func show(_ e: Expr) -> String { IRPrinter.expr(e) }
}

import SluiceIR

/// What the XDP hook cannot do, refused before anything is emitted, naming the construct:
/// recirculation, resubmission, queues (XDP runs before any), digest fields past 64 bits.
enum XDPSupport {
    /// Throws for the first construct of `program` XDP cannot run. The host target (`who`)
    /// shares the check; with `allowQueues` the queue values are its host's to give.
    static func check(_ program: Program, who: String = "XDP", allowQueues: Bool = false) throws(EBPFError) {
        func fail(_ construct: String, _ reason: String) -> EBPFError {
            EBPFError(program: program.name, construct: construct, reason: reason)
        }
        for d in program.digests {
            if let f = d.fields.first(where: { $0.width > 64 }) {
                throw fail("digest \(d.name) field \(f.name)", "\(f.width)-bit digest fields (up to 64 on XDP)")
            }
        }
        func walk(_ stmts: [Stmt], _ where_: String) throws(EBPFError) {
            for st in stmts {
                switch st {
                case .recirculate: throw fail("recirculate in \(where_)", "\(who) cannot recirculate a packet")
                case .resubmit: throw fail("resubmit in \(where_)", "\(who) cannot resubmit a packet")
                case .ifElse(_, let a, let b): try walk(a, where_); try walk(b, where_)
                case .apply(_, let o): try walk(o.hit, where_); try walk(o.miss, where_); for a in o.actions { try walk(a.body, where_) }
                default: break
                }
                for f in Self.standardFields(st) where f.needsQueues && !allowQueues {
                    throw fail("standard.\(f.rawValue) in \(where_)", "XDP sees no queue: queue depth and egress timestamps do not exist at the XDP hook")
                }
            }
        }
        try walk(program.ingress, "ingress")
        if let e = program.egress { try walk(e, "egress") }
        try walk(program.deparser.statements, "deparser")
        for a in program.actions { try walk(a.body, "action \(a.name)") }
        for s in program.parser.states { try walk(s.statements, "parser state \(s.name)") }
    }

    /// Standard fields a statement reads or writes (its own expressions only).
    static func standardFields(_ st: Stmt) -> [StandardField] {
        var r: [StandardField] = []
        func e(_ x: Expr) {
            switch x {
            case .field(.standard(let f)): r.append(f)
            case .unary(_, let a), .slice(let a, _, _), .cast(let a, _, _): e(a)
            case .binary(_, let a, let b), .signed(_, let a, let b), .concat(let a, let b): e(a); e(b)
            case .mux(let a, let b, let c): e(a); e(b); e(c)
            case .hash(_, let xs, _, _, _): xs.forEach(e)
            default: break
            }
        }
        func ref(_ f: FieldRef) { if case .standard(let s) = f { r.append(s) } }
        switch st {
        case .assign(let f, let x): ref(f); e(x)
        case .ifElse(let c, _, _): e(c)
        case .registerRead(let f, _, let i): ref(f); e(i)
        case .registerWrite(_, let i, let v): e(i); e(v)
        case .registerAction(_, let i, let u, let f, _): e(i); e(u); if let f { ref(f) }
        case .count(_, let i): e(i)
        case .call(_, let args): args.forEach(e)
        case .verify(let c, _): e(c)
        default: break
        }
        return r
    }
}

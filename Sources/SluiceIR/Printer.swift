/// The stable text form of a program (`sluice compile P --emit ir`). P4-flavoured, one construct
/// a line, two-space indents; snapshot tests pin it, so change it deliberately.
public enum IRPrinter {
    public static func print(_ p: Program) -> String {
        let o = Out()
        o.line("program \(p.name)")
        if !p.doc.isEmpty { o.line("// \(p.doc)") }
        if p.onParserReject != .drop { o.line("on_parser_reject \(p.onParserReject.rawValue)") }
        if !p.errors.isEmpty { o.line("error { \(p.errors.joined(separator: ", ")) }") }
        for t in p.headerTypes {
            o.line("header \(t.name) {")
            o.indent { for f in t.fields { o.line("\(f.name): \(type(f));") } }
            o.line("}")
        }
        if !p.headers.isEmpty {
            o.line("headers {")
            o.indent {
                for h in p.headers { o.line("\(h.name): \(h.type)\(h.isStack ? "[\(h.stackSize)]" : "");") }
            }
            o.line("}")
        }
        if !p.metadata.isEmpty {
            o.line("metadata {")
            o.indent { for f in p.metadata { o.line("\(f.name): \(type(f));") } }
            o.line("}")
        }
        for r in p.registers { o.line("register \(r.name): bit<\(r.width)>[\(r.size)];") }
        for c in p.counters { o.line("counter \(c.name)[\(c.size)] \(c.kind.rawValue);") }
        for m in p.meters { o.line("meter \(m.name)[\(m.size)] \(m.unit.rawValue);") }
        for d in p.digests {
            o.line("digest \(d.name) { \(d.fields.map { "\($0.name): \(type($0))" }.joined(separator: "; ")) }")
        }
        o.line("parser {")
        o.indent {
            for s in p.parser.states {
                o.line("state \(s.name) {")
                o.indent {
                    stmts(s.statements, o)
                    switch s.transition {
                    case .accept: o.line("transition accept;")
                    case .reject: o.line("transition reject;")
                    case .goto(let n): o.line("transition \(n);")
                    case .select(let keys, let cases):
                        o.line("transition select(\(keys.map(expr).joined(separator: ", "))) {")
                        o.indent {
                            for c in cases {
                                let ks = c.keys.map(keyset)
                                o.line("\(ks.count == 1 ? ks[0] : "(\(ks.joined(separator: ", ")))"): \(c.next);")
                            }
                        }
                        o.line("}")
                    }
                }
                o.line("}")
            }
        }
        o.line("}")
        for a in p.actions {
            o.line("action \(a.name)(\(a.params.map { "\($0.name): \(type($0))" }.joined(separator: ", "))) {")
            o.indent { stmts(a.body, o) }
            o.line("}")
        }
        for t in p.tables {
            o.line("table \(t.name) {")
            o.indent {
                o.line("key { \(t.keys.map { "\(expr($0.expr)): \($0.kind.rawValue)\($0.name != expr($0.expr) ? " @name(\"\($0.name)\")" : "")" }.joined(separator: "; ")) }")
                o.line("actions { \(t.actions.joined(separator: "; ")) }")
                o.line("\(t.defaultIsConst ? "const " : "")default_action \(call(t.defaultAction));")
                o.line("size \(t.size);")
                if t.directCounter { o.line("counters direct;") }
                if !t.entries.isEmpty {
                    o.line("\(t.entriesAreConst ? "const " : "")entries {")
                    o.indent {
                        for e in t.entries {
                            let ms = e.matches.map(match).joined(separator: ", ")
                            o.line("(\(ms))\(e.priority != 0 ? " @priority(\(e.priority))" : ""): \(call(e.action));")
                        }
                    }
                    o.line("}")
                }
            }
            o.line("}")
        }
        o.line("control ingress {")
        o.indent { stmts(p.ingress, o) }
        o.line("}")
        if let eg = p.egress {
            o.line("control egress {")
            o.indent { stmts(eg, o) }
            o.line("}")
        }
        o.line("deparser {")
        o.indent {
            stmts(p.deparser.statements, o)
            for h in p.deparser.emit { o.line("emit(hdr.\(h));") }
        }
        o.line("}")
        return o.text
    }

    final class Out {
        var text = ""
        var depth = 0
        func line(_ s: String) { text += String(repeating: "  ", count: depth) + s + "\n" }
        func indent(_ f: () -> Void) { depth += 1; f(); depth -= 1 }
    }

    static func type(_ f: FieldDecl) -> String { "\(f.signed ? "int" : "bit")<\(f.width)>" }

    public static func hex(_ v: UInt128) -> String { v < 10 ? "\(v)" : "0x" + String(v, radix: 16) }

    static func keyset(_ k: KeysetElement) -> String {
        switch k {
        case .value(let v): hex(v)
        case .mask(let v, let m): "\(hex(v)) &&& \(hex(m))"
        case .range(let a, let b): "\(hex(a))..\(hex(b))"
        case .any: "default"
        }
    }

    public static func match(_ m: Match) -> String {
        switch m {
        case .exact(let v): hex(v)
        case .lpm(let v, let l): "\(hex(v))/\(l)"
        case .ternary(let v, let mk): "\(hex(v)) &&& \(hex(mk))"
        case .range(let a, let b): "\(hex(a))..\(hex(b))"
        case .optional(let v): v.map(hex) ?? "_"
        }
    }

    public static func call(_ c: ActionCall) -> String { "\(c.action)(\(c.args.map(hex).joined(separator: ", ")))" }

    public static func ref(_ r: FieldRef) -> String {
        switch r {
        case .header(let h, let f, let i): "hdr.\(h)\(index(i)).\(f)"
        case .meta(let m): "meta.\(m)"
        case .standard(let s): "standard.\(s.rawValue)"
        }
    }

    static func index(_ i: StackIndex?) -> String {
        switch i {
        case nil: ""
        case .at(let n): "[\(n)]"
        case .last: ".last"
        case .next: ".next"
        }
    }

    public static func expr(_ e: Expr) -> String {
        switch e {
        case .const(let v, let w): w.map { "\($0)w\(hex(v))" } ?? hex(v)
        case .field(let r): ref(r)
        case .param(let n): n
        case .unary(let op, let a): "\(op.rawValue)\(atom(a))"
        case .binary(let op, let a, let b): "\(atom(a)) \(op.rawValue) \(atom(b))"
        case .signed(let op, let a, let b): "signed(\(atom(a)) \(op.rawValue) \(atom(b)))"
        // A slice binds tighter than a prefix operator or a cast: (~x)[7:0], ((bit<16>)x)[15:8].
        case .slice(let a, let hi, let lo):
            switch a {
            case .unary, .cast: "(\(expr(a)))[\(hi):\(lo)]"
            default: "\(atom(a))[\(hi):\(lo)]"
            }
        case .concat(let a, let b): "\(atom(a)) ++ \(atom(b))"
        case .cast(let a, let w, let se): "(\(se ? "int" : "bit")<\(w)>)\(atom(a))"
        case .isValid(let h, let i): "hdr.\(h)\(index(i)).isValid()"
        case .mux(let c, let a, let b): "\(atom(c)) ? \(atom(a)) : \(atom(b))"
        case .hash(let alg, let xs, let w, let base, let m):
            "hash<bit<\(w)>>(\(alg.rawValue), { \(xs.map(expr).joined(separator: ", ")) }\(base != 0 || m != 0 ? ", base \(base), modulo \(m)" : ""))"
        case .random(let lo, let hi, let w): "random<bit<\(w)>>(\(lo), \(hi))"
        case .lookahead(let w): "lookahead<bit<\(w)>>()"
        case .registerOld: "old"
        case .optional(let a, let w): "optional<bit<\(w)>>(\(expr(a)))"
        }
    }

    static func atom(_ e: Expr) -> String {
        switch e {
        case .binary, .mux, .concat: "(\(expr(e)))"
        default: expr(e)
        }
    }

    static func stmts(_ ss: [Stmt], _ o: Out) { for s in ss { stmt(s, o) } }

    static func stmt(_ s: Stmt, _ o: Out) {
        switch s {
        case .assign(let r, let e): o.line("\(ref(r)) = \(expr(e));")
        case .setValid(let h, let i): o.line("hdr.\(h)\(index(i)).setValid();")
        case .setInvalid(let h, let i): o.line("hdr.\(h)\(index(i)).setInvalid();")
        case .pushFront(let h, let n): o.line("hdr.\(h).push_front(\(n));")
        case .popFront(let h, let n): o.line("hdr.\(h).pop_front(\(n));")
        case .ifElse(let c, let t, let e):
            o.line("if (\(expr(c))) {")
            o.indent { stmts(t, o) }
            if e.isEmpty { o.line("}") } else {
                o.line("} else {")
                o.indent { stmts(e, o) }
                o.line("}")
            }
        case .apply(let t, let out):
            if out.isEmpty { o.line("\(t).apply();"); return }
            o.line("\(t).apply() {")
            o.indent {
                if !out.hit.isEmpty { o.line("hit {"); o.indent { stmts(out.hit, o) }; o.line("}") }
                if !out.miss.isEmpty { o.line("miss {"); o.indent { stmts(out.miss, o) }; o.line("}") }
                for b in out.actions { o.line("\(b.action) {"); o.indent { stmts(b.body, o) }; o.line("}") }
            }
            o.line("}")
        case .call(let a, let args): o.line("\(a)(\(args.map(expr).joined(separator: ", ")));")
        case .drop: o.line("mark_to_drop();")
        case .exit: o.line("exit;")
        case .registerRead(let d, let r, let i): o.line("\(ref(d)) = \(r).read(\(expr(i)));")
        case .registerWrite(let r, let i, let v): o.line("\(r).write(\(expr(i)), \(expr(v)));")
        case .registerAction(let r, let i, let u, let res, let new):
            let lhs = res.map { "\(ref($0)) = " } ?? ""
            o.line("\(lhs)\(r).execute(\(expr(i))) { old -> \(expr(u)) }\(res != nil ? (new ? " returns new" : " returns old") : "");")
        case .count(let c, let i): o.line("\(c).count(\(expr(i)));")
        case .meter(let m, let i, let r): o.line("\(ref(r)) = \(m).execute(\(expr(i)));")
        case .digest(let d, let vs): o.line("digest<\(d)>({ \(vs.map(expr).joined(separator: ", ")) });")
        case .updateChecksum(let f, let hs): o.line("update_checksum(\(ref(f)), { \(hs.map { "hdr.\($0)" }.joined(separator: ", ")) });")
        case .verifyChecksum(let f, let hs): o.line("verify_checksum(\(ref(f)), { \(hs.map { "hdr.\($0)" }.joined(separator: ", ")) });")
        case .incrementalChecksum(let f, let a, let b): o.line("incremental_checksum(\(ref(f)), \(expr(a)) -> \(expr(b)));")
        case .recirculate: o.line("recirculate();")
        case .resubmit: o.line("resubmit();")
        case .extract(let h, let i): o.line("extract(hdr.\(h)\(index(i)));")
        case .verify(let c, let err): o.line("verify(\(expr(c)), error.\(err));")
        case .advance(let n): o.line("advance(\(n));")
        case .skip(let n): o.line("advance_bytes(\(expr(n)));")
        case .truncate(let n): o.line("truncate(\(expr(n)));")
        }
    }
}

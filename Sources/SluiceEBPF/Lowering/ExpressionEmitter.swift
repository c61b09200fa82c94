import SluiceIR

/// Expressions as C of type __u64 holding the value masked to its width (operators mask their
/// results; signed ones sign-extend their operands first). What needs statements first
/// (lookahead, hashes) writes them before the line that uses the expression.
struct ExpressionEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func exprWidth(_ e: Expr, expected: Int?) -> Int? {
        cx.index.width(of: e, params: cx.scope.paramDecls, registerWidth: nil, expected: expected)
    }

    /// C for `e` as a __u64 holding its value masked to its width, and that width.
    func expr(_ e: Expr, expected: Int? = nil) throws(EBPFError) -> (String, Int) {
        switch e {
        case .const(let v, let w):
            let width = w ?? expected ?? 64
            return (CLiteral.hex(v, width), width)
        case .field(let f):
            return (try cx.fields.load(f), try cx.fields.width(of: f))
        case .param(let p):
            guard let b = cx.scope.params[p] else { throw cx.fail("parameter \(p)", "used outside its action") }
            return (b.0, b.1)
        case .unary(let op, let a):
            let x = try expr(a, expected: expected)
            switch op {
            case .bitNot: return ("(~\(x.0) & \(CLiteral.mask(x.1)))", x.1)
            case .negate: return ("((0ULL - \(x.0)) & \(CLiteral.mask(x.1)))", x.1)
            case .logicalNot: return ("(\(x.0) == 0)", 1)
            }
        case .binary(let op, let a, let b), .signed(let op, let a, let b):
            var isSigned: Bool
            if case .signed = e { isSigned = true } else { isSigned = cx.index.isSigned(a, params: cx.scope.paramDecls) || cx.index.isSigned(b, params: cx.scope.paramDecls) }
            if op.isLogical {
                let x = try expr(a, expected: 1), y = try expr(b, expected: 1)
                return ("(\(x.0) \(op == .logicalAnd ? "&&" : "||") \(y.0))", 1)
            }
            let wa = exprWidth(a, expected: nil), wb = exprWidth(b, expected: nil)
            let ow = op.isShift ? (wa ?? expected ?? 64) : (wa ?? wb ?? expected ?? 64)
            let x = try expr(a, expected: ow)
            let y = try expr(b, expected: op.isShift ? (wb ?? 64) : ow)
            let w = x.1
            let m = CLiteral.mask(w)
            func sx(_ v: String) -> String { w >= 64 ? "((__s64)\(v))" : "(((__s64)((\(v)) << \(64 - w))) >> \(64 - w))" }
            if op.isComparison {
                let c: String
                switch op {
                case .eq: c = "=="
                case .ne: c = "!="
                case .lt: c = "<"
                case .le: c = "<="
                case .gt: c = ">"
                default: c = ">="
                }
                if isSigned && op != .eq && op != .ne { return ("(\(sx(x.0)) \(c) \(sx(y.0)))", 1) }
                return ("(\(x.0) \(c) \(y.0))", 1)
            }
            switch op {
            case .add: return ("((\(x.0) + \(y.0)) & \(m))", w)
            case .sub: return ("((\(x.0) - \(y.0)) & \(m))", w)
            case .mul: return ("((\(x.0) * \(y.0)) & \(m))", w)
            case .bitAnd: return ("(\(x.0) & \(y.0))", w)
            case .bitOr: return ("(\(x.0) | \(y.0))", w)
            case .bitXor: return ("(\(x.0) ^ \(y.0))", w)
            case .shl: return ("((\(y.0)) >= \(w) ? 0 : ((\(x.0) << (\(y.0))) & \(m)))", w)
            case .shr:
                if isSigned { return ("((__u64)(\(sx(x.0)) >> ((\(y.0)) >= \(w) ? \(w - 1) : (\(y.0)))) & \(m))", w) }
                return ("((\(y.0)) >= \(w) ? 0 : (\(x.0) >> (\(y.0))))", w)
            case .addSat:
                if isSigned { throw cx.fail("signed saturating add", "not supported by the XDP backend yet") }
                return ("sl_addsat(\(x.0), \(y.0), \(m))", w)
            case .subSat:
                if isSigned { throw cx.fail("signed saturating subtract", "not supported by the XDP backend yet") }
                return ("(\(x.0) > \(y.0) ? \(x.0) - \(y.0) : 0)", w)
            default:
                throw cx.fail("operator \(op.rawValue)", "unexpected")
            }
        case .slice(let a, let hi, let lo):
            let x = try expr(a)
            let w = hi - lo + 1
            return ("((\(x.0) >> \(lo)) & \(CLiteral.mask(w)))", w)
        case .concat(let a, let b):
            let x = try expr(a), y = try expr(b)
            guard x.1 + y.1 <= 64 else { throw cx.fail("concatenation of \(x.1 + y.1) bits", "wider than 64 bits (the XDP backend's registers)") }
            return ("((\(x.0) << \(y.1)) | \(y.0))", x.1 + y.1)
        case .cast(let a, let w, let signExtend):
            let x = try expr(a)
            guard w <= 64 else { throw cx.fail("cast to \(w) bits", "wider than 64 bits") }
            if signExtend && w > x.1 {
                return ("(((__u64)(((__s64)((\(x.0)) << \(64 - x.1))) >> \(64 - x.1))) & \(CLiteral.mask(w)))", w)
            }
            return ("(\(x.0) & \(CLiteral.mask(w)))", w)
        case .isValid(let h, let idx):
            let slot = try cx.headerSlot(h)
            return (StackElements.ternary(try cx.elements.validity(slot, idx)) { (e: Int?) -> String in e.map { "((__u64)\(cx.valid(slot.valid + $0)))" } ?? "0ULL" }, 1)
        case .mux(let c, let a, let b):
            let w = exprWidth(a, expected: expected) ?? exprWidth(b, expected: expected) ?? expected ?? 64
            let cc = try expr(c, expected: 1), x = try expr(a, expected: w), y = try expr(b, expected: w)
            return ("(\(cc.0) ? \(x.0) : \(y.0))", w)
        case .hash(let alg, let inputs, let w, let base, let modulo):
            return (try cx.hashes.hash(alg, inputs, width: w, base: base, modulo: modulo), w)
        case .random(let lo, let hi, let w):
            let span = hi &- lo &+ 1
            if case .host = cx.target {
                // The runtime's generator (SplitMix64, seeded with the pipeline), as the closures draw it.
                let r = "s->random(s->env)"
                return (span == 0 ? "(\(r) & \(CLiteral.mask(w)))" : "((\(lo)ULL + \(r) % \(span)ULL) & \(CLiteral.mask(w)))", w)
            }
            return (span == 0 ? "((__u64)bpf_get_prandom_u32() & \(CLiteral.mask(w)))" : "((\(lo)ULL + ((__u64)bpf_get_prandom_u32() % \(span)ULL)) & \(CLiteral.mask(w)))", w)
        case .lookahead(let lw):
            guard lw <= 56 else { throw cx.fail("lookahead of \(lw) bits", "up to 56 bits on XDP") }
            let nb = (lw + 7) / 8
            let v = out.fresh("la")
            out.line("__u64 \(v) = 0; /* lookahead<\(lw)> */")
            out.line("{ __u8 *p = (__u8 *)data + cur; if ((void *)(p + \(nb)) <= data_end) \(v) = sl_get(p, 0, \(lw)); else if (!\(cx.stdArray)[\(cx.std(.parserError))]) \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("PacketTooShort")); }")
            return (v, lw)
        case .optional(let a, let w):
            // On the host, as the runtime: the value, unless it is a queue's and there are none.
            if case .host(let queues) = cx.target, queues || !a.readsQueueValues { return try expr(.cast(a, width: w, signExtend: false)) }
            // XDP runs before any queue: what a hop cannot observe reads all ones.
            return (CLiteral.hex(~0, w), w)
        case .registerOld:
            guard let o = cx.scope.registerOld else { throw cx.fail("register value", "used outside a register action") }
            return (o, expected ?? 64)
        }
    }
}

// Width inference with checking: the width of every expression, inferred from its context, and
// the problems found on the way (what WidthMismatch and ConstantRange report).

/// A problem found while inferring widths, for the element it is in.
struct WidthProblem: Sendable {
    var element: String
    var message: String
    var fix: String
}

/// Walks every expression with the width its context expects, as backends will infer it, and
/// collects two kinds of problems: width disagreements (for `width-mismatch`) and constants or
/// constant parameters that do not fit their width (for `constant-range`). Both rules run it and
/// report their own half, so that the inference lives in one place.
struct WidthCheck {
    let ix: ProgramIndex
    var widthProblems: [WidthProblem] = []
    var rangeProblems: [WidthProblem] = []

    /// Checks the whole program.
    static func run(_ ix: ProgramIndex) -> WidthCheck {
        var c = WidthCheck(ix: ix)
        c.checkProgram()
        return c
    }

    init(ix: ProgramIndex) { self.ix = ix }

    /// Whether an expression's width comes only from its context (a constant without a width,
    /// or arithmetic over such constants).
    static func isContextual(_ e: Expr) -> Bool {
        switch e {
        case .const(_, let w): w == nil
        case .unary(let op, let a): op != .logicalNot && isContextual(a)
        case .binary(let op, let a, let b), .signed(let op, let a, let b):
            if op.isComparison || op.isLogical { false } else if op.isShift { isContextual(a) } else {
                isContextual(a) && isContextual(b)
            }
        case .mux(_, let a, let b): isContextual(a) && isContextual(b)
        default: false
        }
    }

    private mutating func width(_ element: String, _ message: String, _ fix: String) {
        widthProblems.append(WidthProblem(element: element, message: message, fix: fix))
    }

    private mutating func range(_ element: String, _ message: String, _ fix: String) {
        rangeProblems.append(WidthProblem(element: element, message: message, fix: fix))
    }

    static let wideRule = "values wider than 64 bits may only be copied, compared with == or !=, sliced, concatenated and matched in tables"
    static let wideFix = "slice the value into parts of at most 64 bits"

    /// The state of one top-level expression being checked.
    struct Ctx {
        var site: Site
        var registerWidth: Int?
        /// What the expression is, for messages: "the value assigned to hdr.ipv4.ttl".
        var what: String
    }

    private func inferred(_ e: Expr, _ c: Ctx) -> Int? {
        ix.width(of: e, params: c.site.params, registerWidth: c.registerWidth, expected: nil)
    }

    /// Checks `e` where the context expects `expected` bits; returns its width, or `nil` when it
    /// is unknown (an undefined name, reported by another rule, or a constant with no context).
    @discardableResult
    mutating func check(_ e: Expr, expected: Int?, _ c: Ctx) -> Int? {
        let el = c.site.element
        switch e {
        case .const(let v, let w):
            if let w, !(1...128).contains(w) {
                width(el, "constant \(IRPrinter.hex(v)) in \(c.what) has width \(w); widths are 1 to 128 bits",
                      "give the constant a width from 1 to 128")
                return nil
            }
            guard let bits = w ?? expected else { return nil }
            if (1...128).contains(bits), !fits(v, bits) {
                range(el, "constant \(IRPrinter.hex(v)) in \(c.what) does not fit in \(plural(bits, "bit")) (at most \(IRPrinter.hex(maxValue(bits))))",
                      "use a value from 0 to \(IRPrinter.hex(maxValue(bits))), or widen the field it goes into")
            }
            return bits
        case .field(let r):
            return ix.decl(of: r)?.width
        case .param(let n):
            return c.site.params.first { $0.name == n }?.width
        case .unary(.logicalNot, let a):
            if let wa = check(a, expected: 1, c), wa != 1 {
                width(el, "'!' needs a 1-bit operand, but \(Walk.show(a)) in \(c.what) has \(plural(wa, "bit"))",
                      "compare it first, e.g. \(Walk.show(a)) == 0")
            }
            return 1
        case .unary(let op, let a):
            let w = check(a, expected: expected, c)
            if let w, w > 64 {
                width(el, "'\(op.rawValue)' applied to \(aBits(w)) value in \(c.what); \(Self.wideRule)", Self.wideFix)
            }
            return w
        case .binary(let op, let a, let b), .signed(let op, let a, let b):
            return checkBinary(op, a, b, expected: expected, c)
        case .slice(let a, let hi, let lo):
            let wa = check(a, expected: nil, c)
            if lo < 0 || hi < lo {
                width(el, "slice [\(hi):\(lo)] of \(Walk.show(a)) in \(c.what) is empty; it needs hi >= lo >= 0",
                      "write the high bit first, e.g. [\(max(hi, lo)):\(max(0, min(hi, lo)))]")
                return nil
            }
            if let wa, hi >= wa {
                width(el, "slice [\(hi):\(lo)] of \(Walk.show(a)) in \(c.what) is out of bounds: the value has \(plural(wa, "bit"))",
                      wa > 0 ? "use bits within [\(wa - 1):0]" : "slice a value of 1 to 128 bits")
            } else if wa == nil, Self.isContextual(a) {
                width(el, "slices a constant without a width in \(c.what)", "give the constant a width")
            }
            return hi - lo == .max ? nil : hi - lo + 1
        case .concat(let a, let b):
            var ws: [Int] = []
            for x in [a, b] {
                if let w = check(x, expected: nil, c) { ws.append(w) } else if Self.isContextual(x) {
                    width(el, "concatenates a constant without a width in \(c.what)",
                          "give the constant a width")
                }
            }
            guard ws.count == 2 else { return nil }
            let (sum, overflow) = ws[0].addingReportingOverflow(ws[1])
            if overflow || sum > 128 {
                width(el, "concatenation \(Walk.show(e)) in \(c.what) is \(overflow ? "more than \(Int.max)" : "\(sum)") bits; at most 128 are allowed",
                      "concatenate fewer or narrower values")
            }
            return overflow ? nil : sum
        case .cast(let a, let w, _):
            let valid = (1...128).contains(w)
            if !valid {
                width(el, "cast to \(w) bits in \(c.what); casts are to 1 to 128 bits", "cast to a width from 1 to 128")
            }
            check(a, expected: Self.isContextual(a) && valid ? w : nil, c)
            return valid ? w : nil
        case .optional(let a, let w):
            let valid = (1...64).contains(w)
            if !valid {
                width(el, "optional value \(Walk.show(e)) in \(c.what) is \(w) bits; optional values are 1 to 64 bits",
                      "give the optional value a width from 1 to 64")
            }
            if check(a, expected: Self.isContextual(a) && valid ? w : nil, c) == nil && Self.isContextual(a) {
                width(el, "optional value \(Walk.show(e)) in \(c.what) has no width", "give the constant a width")
            }
            return valid ? w : nil
        case .isValid:
            return 1
        case .mux(let cond, let a, let b):
            checkCondition(cond, "the condition of \(Walk.show(e))", c)
            return checkSameWidth("?:", a, b, expected: expected, c)
        case .hash(let alg, let inputs, let w, let base, let modulo):
            if !(1...64).contains(w) {
                width(el, "hash \(alg.rawValue) in \(c.what) produces \(w) bits; hashes produce 1 to 64 bits",
                      "hash into a width from 1 to 64")
            }
            if inputs.isEmpty {
                width(el, "hash \(alg.rawValue) in \(c.what) has no inputs", "hash at least one field")
            }
            for x in inputs where check(x, expected: nil, c) == nil && Self.isContextual(x) {
                width(el, "hash input \(Walk.show(x)) in \(c.what) has no width", "give the constant a width")
            }
            if (1...64).contains(w) {
                let m = maxValue(w)
                if UInt128(base) > m {
                    range(el, "hash base \(base) in \(c.what) does not fit in \(plural(w, "bit"))",
                          "use a base from 0 to \(m), or a wider hash")
                } else if modulo > 0, UInt128(base) + UInt128(modulo) - 1 > m {
                    range(el, "hash base \(base) + modulo \(modulo) in \(c.what) exceeds \(plural(w, "bit")) (results reach \(UInt128(base) + UInt128(modulo) - 1))",
                          "use base + modulo - 1 <= \(m), or a wider hash")
                }
            }
            return (1...64).contains(w) ? w : nil
        case .random(let lo, let hi, let w):
            if !(1...64).contains(w) {
                width(el, "random in \(c.what) produces \(w) bits; random values are 1 to 64 bits",
                      "use a width from 1 to 64")
                return nil
            }
            if lo > hi {
                range(el, "random(\(lo), \(hi)) in \(c.what) has lo > hi", "swap the bounds: random(\(hi), \(lo))")
            } else if !fits(UInt128(hi), w) {
                range(el, "random(\(lo), \(hi)) in \(c.what) does not fit in \(plural(w, "bit"))",
                      "use bounds up to \(maxValue(w)), or a wider result")
            }
            return w
        case .lookahead(let w):
            if !(1...128).contains(w) {
                width(el, "lookahead of \(w) bits in \(c.what); lookahead reads 1 to 128 bits", "look ahead 1 to 128 bits")
                return nil
            }
            return w
        case .registerOld:
            return c.registerWidth
        }
    }

    private mutating func checkBinary(_ op: BinaryOp, _ a: Expr, _ b: Expr, expected: Int?, _ c: Ctx) -> Int? {
        let el = c.site.element
        if op.isLogical {
            for x in [a, b] {
                if let w = check(x, expected: 1, c), w != 1 {
                    width(el, "'\(op.rawValue)' needs 1-bit operands, but \(Walk.show(x)) in \(c.what) has \(plural(w, "bit"))",
                          "compare it first, e.g. \(Walk.show(x)) != 0")
                }
            }
            return 1
        }
        if op.isShift {
            let wa = check(a, expected: expected, c)
            check(b, expected: nil, c)
            if let wa, wa > 64 {
                width(el, "'\(op.rawValue)' applied to \(aBits(wa)) value in \(c.what); \(Self.wideRule)", Self.wideFix)
            }
            return wa
        }
        if op.isComparison {
            let w = checkSameWidth(op.rawValue, a, b, expected: nil, c)
            if w == nil, Self.isContextual(a), Self.isContextual(b) {
                width(el, "'\(op.rawValue)' compares constants without a width in \(c.what)",
                      "give one of them a width")
            }
            if let w, w > 64, op != .eq, op != .ne {
                width(el, "'\(op.rawValue)' compares \(w)-bit values in \(c.what); \(Self.wideRule)", Self.wideFix)
            }
            return 1
        }
        let w = checkSameWidth(op.rawValue, a, b, expected: expected, c)
        if let w, w > 64 {
            width(el, "'\(op.rawValue)' applied to \(w)-bit values in \(c.what); \(Self.wideRule)", Self.wideFix)
        }
        return w
    }

    /// Two operands that must have the same width; constants take the other's.
    private mutating func checkSameWidth(_ op: String, _ a: Expr, _ b: Expr, expected: Int?, _ c: Ctx) -> Int? {
        let wa0 = inferred(a, c), wb0 = inferred(b, c)
        let w = wa0 ?? wb0 ?? expected
        let wa = check(a, expected: w, c)
        let wb = check(b, expected: w, c)
        if let wa, let wb, wa != wb {
            width(c.site.element,
                  "'\(op)' has operands of different widths in \(c.what): \(Walk.show(a)) has \(plural(wa, "bit")), \(Walk.show(b)) has \(plural(wb, "bit"))",
                  "cast one operand, e.g. \(castFix(wa < wb ? a : b, max(wa, wb)))")
        }
        return wa ?? wb
    }

    private mutating func checkCondition(_ e: Expr, _ what: String, _ c: Ctx) {
        if let w = check(e, expected: 1, c), w != 1 {
            width(c.site.element, "\(what) is \(plural(w, "bit")) wide; a condition must be 1 bit",
                  "compare it, e.g. \(Walk.show(e)) != 0")
        }
    }

    /// Checks a value that goes into `target` bits (nil: unknown), reporting a disagreement.
    private mutating func checkInto(_ e: Expr, _ target: Int?, _ c: Ctx, mismatch: (Int, Int) -> (String, String)) {
        let w = check(e, expected: target, c)
        if let w, let target, w != target {
            let (m, f) = mismatch(w, target)
            width(c.site.element, m, f)
        }
    }

    /// An index into an extern array; a constant index must be below the array's size.
    private mutating func checkIndex(_ e: Expr, _ kind: String, _ name: String, size: Int?, _ c: Ctx) {
        var c = c
        c.what = "the index into \(kind) '\(name)'"
        check(e, expected: nil, c)
        if case .const(let v, _) = e, let size, v >= UInt128(max(size, 0)) {
            range(c.site.element, "index \(v) is out of range for \(kind) '\(name)' of size \(size)",
                  size > 0 ? "use an index from 0 to \(size - 1), or make the \(kind) larger" : "make the \(kind) larger")
        }
    }

    private mutating func checkStmt(_ s: Stmt, _ site: Site) {
        let el = site.element
        var c = Ctx(site: site, registerWidth: nil, what: "")
        switch s {
        case .assign(let r, let e):
            c.what = "the value assigned to \(Walk.show(r))"
            checkInto(e, ix.decl(of: r)?.width, c) { w, t in
                ("assigns \(aBits(w)) value to \(Walk.show(r)), which has \(plural(t, "bit"))",
                 "cast the value: \(castFix(e, t))")
            }
        case .ifElse(let cond, _, _):
            c.what = "the if condition"
            checkCondition(cond, "the if condition \(Walk.show(cond))", c)
        case .call(let a, let args):
            let params = ix.actions[a]?.params ?? []
            for (i, arg) in args.enumerated() {
                let p = i < params.count ? params[i] : nil
                c.what = "argument \(i + 1) of the call to '\(a)'"
                checkInto(arg, p?.width, c) { w, t in
                    ("passes \(aBits(w)) value as argument \(i + 1) ('\(p!.name)') of action '\(a)', which takes \(plural(t, "bit"))",
                     "cast the argument: \(castFix(arg, t))")
                }
            }
        case .registerRead(let dest, let reg, let i):
            let r = ix.registers[reg]
            checkIndex(i, "register", reg, size: r?.size, c)
            if let r, let d = ix.decl(of: dest), d.width != r.width {
                width(el, "reads register '\(reg)' (\(plural(r.width, "bit"))) into \(Walk.show(dest)), which has \(plural(d.width, "bit"))",
                      "read into a \(r.width)-bit field, then cast")
            }
        case .registerWrite(let reg, let i, let v):
            let r = ix.registers[reg]
            checkIndex(i, "register", reg, size: r?.size, c)
            c.what = "the value written to register '\(reg)'"
            checkInto(v, r?.width, c) { w, t in
                ("writes \(aBits(w)) value to register '\(reg)', which holds \(plural(t, "bit"))",
                 "cast the value: \(castFix(v, t))")
            }
        case .registerAction(let reg, let i, let u, let result, _):
            let r = ix.registers[reg]
            checkIndex(i, "register", reg, size: r?.size, c)
            var uc = c
            uc.site.inUpdate = true
            uc.registerWidth = r?.width
            uc.what = "the update of register '\(reg)'"
            checkInto(u, r?.width, uc) { w, t in
                ("the update of register '\(reg)' is \(plural(w, "bit")), but the register holds \(plural(t, "bit"))",
                 "make the update \(plural(t, "bit")) wide, e.g. \(castFix(u, t))")
            }
            if let r, let result, let d = ix.decl(of: result), d.width != r.width {
                width(el, "returns register '\(reg)' (\(plural(r.width, "bit"))) into \(Walk.show(result)), which has \(plural(d.width, "bit"))",
                      "return into a \(r.width)-bit field")
            }
        case .count(let name, let i):
            checkIndex(i, "counter", name, size: ix.counters[name]?.size, c)
        case .meter(let name, let i, let result):
            checkIndex(i, "meter", name, size: ix.meters[name]?.size, c)
            if let d = ix.decl(of: result), d.width < 2 {
                width(el, "meter '\(name)' writes a color (0 green, 1 yellow, 2 red) into \(Walk.show(result)), which has \(plural(d.width, "bit"))",
                      "put the color in a field of at least 2 bits")
            }
        case .digest(let name, let values):
            guard let d = ix.digests[name] else {
                for v in values { c.what = "a value of digest '\(name)'"; check(v, expected: nil, c) }
                return
            }
            if values.count != d.fields.count {
                width(el, "sends digest '\(name)' with \(plural(values.count, "value")), but it has \(plural(d.fields.count, "field")) (\(d.fields.map(\.name).joined(separator: ", ")))",
                      "pass one value per field, in order: \(d.fields.map { "\($0.name): bit<\($0.width)>" }.joined(separator: ", "))")
            }
            for (i, v) in values.enumerated() {
                let f = i < d.fields.count ? d.fields[i] : nil
                c.what = f.map { "field '\($0.name)' of digest '\(name)'" } ?? "a value of digest '\(name)'"
                checkInto(v, f?.width, c) { w, t in
                    ("sends \(aBits(w)) value as field '\(f!.name)' of digest '\(name)', which has \(plural(t, "bit"))",
                     "cast the value: \(castFix(v, t))")
                }
            }
        case .updateChecksum(let f, _), .verifyChecksum(let f, _):
            checkChecksumField(f, el)
        case .incrementalChecksum(let f, let old, let new):
            checkChecksumField(f, el)
            var ws: [Int?] = []
            let shared = inferred(old, c) ?? inferred(new, c)  // a constant takes the other value's width
            for (x, which) in [(old, "old"), (new, "new")] {
                c.what = "the \(which) value of an incremental checksum"
                let w = check(x, expected: shared, c)
                ws.append(w)
                if let w, w % 16 != 0 {
                    width(el, "the \(which) value \(Walk.show(x)) of an incremental checksum is \(plural(w, "bit")); it must be a multiple of 16",
                          "pad or slice the value to a multiple of 16 bits")
                } else if w == nil, Self.isContextual(x) {
                    width(el, "the \(which) value \(Walk.show(x)) of an incremental checksum has no width",
                          "give the constant a width that is a multiple of 16")
                }
            }
            if let a = ws[0], let b = ws[1], a != b, a % 16 == 0, b % 16 == 0 {
                width(el, "an incremental checksum's old value has \(plural(a, "bit")) but its new value \(plural(b, "bit"))",
                      "give old and new values the same width")
            }
        case .verify(let cond, _):
            c.what = "the verify condition"
            checkCondition(cond, "the verify condition \(Walk.show(cond))", c)
        case .advance(let n):
            if n <= 0 || n % 8 != 0 {
                width(el, "advances by \(plural(n, "bit")); the parser advances by a positive multiple of 8 bits",
                      "advance by whole bytes, e.g. advance(\(n > Int.max - 7 ? n - n % 8 : max(8, (n + 7) / 8 * 8)))")
            }
        case .skip(let n):
            c.what = "the skip length"
            if let w = check(n, expected: 16, c), w > 16 {
                width(el, "skips \(Walk.show(n)) bytes, a \(w)-bit value; the skip length is at most 16 bits",
                      "skip a 16-bit byte count, e.g. \(castFix(n, 16))")
            }
        case .truncate(let n):
            c.what = "the truncate length"
            if let w = check(n, expected: 16, c), w > 16 {
                width(el, "truncates to \(Walk.show(n)) bytes, a \(w)-bit value; the length is at most 16 bits",
                      "truncate to a 16-bit byte count, e.g. \(castFix(n, 16))")
            }
        case .setValid, .setInvalid, .pushFront, .popFront, .apply, .drop, .exit, .recirculate,
             .resubmit, .extract:
            break
        }
    }

    private mutating func checkChecksumField(_ f: FieldRef, _ el: String) {
        if let d = ix.decl(of: f), d.width != 16 {
            width(el, "the checksum field \(Walk.show(f)) has \(plural(d.width, "bit")); checksums are 16 bits",
                  "use a 16-bit field for the checksum")
        }
    }

    /// A key of a table or a parser select, which must have a width of its own.
    private mutating func checkKey(_ e: Expr, _ what: String, _ site: Site) {
        let c = Ctx(site: site, registerWidth: nil, what: what)
        if check(e, expected: nil, c) == nil, Self.isContextual(e) {
            width(site.element, "\(what) (\(Walk.show(e))) has no width", "match a field, or give the constant a width")
        }
    }

    mutating func checkProgram() {
        let p = ix.program
        for r in p.registers where !(1...64).contains(r.width) {
            width("register '\(r.name)'", "holds \(plural(r.width, "bit")) per cell; registers hold 1 to 64 bits",
                  "use a width from 1 to 64, or split the value over several registers")
        }
        for a in p.actions {
            for f in a.params where !(1...128).contains(f.width) {
                width("action '\(a.name)'", "parameter '\(f.name)' has \(plural(f.width, "bit")); parameters have 1 to 128 bits",
                      "use a width from 1 to 128")
            }
        }
        for d in p.digests {
            for f in d.fields where !(1...128).contains(f.width) {
                width("digest '\(d.name)'", "field '\(f.name)' has \(plural(f.width, "bit")); digest fields have 1 to 128 bits",
                      "use a width from 1 to 128")
            }
        }
        for st in p.parser.states {
            let site = Site(kind: .parserState, name: st.name)
            for s in st.statements { checkTree(s, site) }
            if case .select(let keys, _) = st.transition {
                for (i, k) in keys.enumerated() { checkKey(k, "select key \(i + 1)", site) }
            }
        }
        for a in p.actions {
            let site = Site(kind: .action, name: a.name, params: a.params)
            for s in a.body { checkTree(s, site) }
        }
        for t in p.tables {
            let site = Site(kind: .table, name: t.name)
            for k in t.keys { checkKey(k.expr, "key '\(k.name)'", site) }
        }
        for (site, ss) in Walk.bodies(p) where site.kind != .parserState && site.kind != .action {
            for s in ss { checkTree(s, site) }
        }
    }

    private mutating func checkTree(_ s: Stmt, _ site: Site) {
        checkStmt(s, site)
        for c in Walk.children(of: s) { checkTree(c, site) }
    }
}

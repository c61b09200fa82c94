import SluiceIR

typealias ExprFn = (ExecContext) -> UInt64
typealias WideFn = (ExecContext) -> UInt128
typealias StmtFn = (ExecContext) -> Void

// Closures kept in arrays are wrapped in structs: an array of bare closures stores them at the
// most general abstraction, and every call would go through a reabstraction thunk.
struct StmtOp { let run: StmtFn }
struct StateOp { let run: (ExecContext) -> Int32 }
struct WideOp { let run: WideFn }
struct HashPart { let value: WideFn; let width: Int }

/// `ops[i](c)` with no reference counting per call: each closure is captured by a constant of
/// its own, where an array element would be retained and released around every call. Up to
/// four ops are one comparison chain; more split in halves (a tree of depth log2(n / 4)).
func dispatcher(_ ops: [StmtOp]) -> (ExecContext, Int) -> Void {
    switch ops.count {
    case 0: return { _, _ in }
    case 1: let a = ops[0].run; return { c, _ in a(c) }
    case 2: let a = ops[0].run, b = ops[1].run; return { c, i in if i == 0 { a(c) } else { b(c) } }
    case 3:
        let a = ops[0].run, b = ops[1].run, d = ops[2].run
        return { c, i in if i == 0 { a(c) } else if i == 1 { b(c) } else { d(c) } }
    case 4:
        let a = ops[0].run, b = ops[1].run, d = ops[2].run, e = ops[3].run
        return { c, i in if i < 2 { if i == 0 { a(c) } else { b(c) } } else { if i == 2 { d(c) } else { e(c) } } }
    default:
        let mid = ops.count / 2
        let lo = dispatcher(Array(ops[..<mid])), hi = dispatcher(Array(ops[mid...]))
        return { c, i in if i < mid { lo(c, i) } else { hi(c, i - mid) } }
    }
}

/// `dispatcher` for parser states: runs state `i` and returns the next.
func stateDispatcher(_ ops: [StateOp]) -> (ExecContext, Int) -> Int32 {
    switch ops.count {
    case 0: return { _, _ in -1 }
    case 1: let a = ops[0].run; return { c, _ in a(c) }
    case 2: let a = ops[0].run, b = ops[1].run; return { c, i in i == 0 ? a(c) : b(c) }
    case 3:
        let a = ops[0].run, b = ops[1].run, d = ops[2].run
        return { c, i in i == 0 ? a(c) : (i == 1 ? b(c) : d(c)) }
    case 4:
        let a = ops[0].run, b = ops[1].run, d = ops[2].run, e = ops[3].run
        return { c, i in i < 2 ? (i == 0 ? a(c) : b(c)) : (i == 2 ? d(c) : e(c)) }
    default:
        let mid = ops.count / 2
        let lo = stateDispatcher(Array(ops[..<mid])), hi = stateDispatcher(Array(ops[mid...]))
        return { c, i in i < mid ? lo(c, i) : hi(c, i - mid) }
    }
}

/// Compose statements pairwise into one closure, so that no array is walked per packet.
func chain(_ fs: [StmtOp]) -> StmtFn {
    guard var acc = fs.last?.run else { return { _ in } }
    for op in fs.dropLast().reversed() {
        let f = op.run, rest = acc
        acc = { c in f(c); rest(c) }
    }
    return acc
}

/// A program element could not be compiled for this backend.
public struct CompileError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What an expression may refer to where it is compiled.
struct Scope {
    var element: String
    var params: [FieldDecl] = []
    /// Word offset of each parameter in the action-data block.
    var paramWord: [String: Int] = [:]
    var registerWidth: Int? = nil
    var inParser = false
}

extension ProgramCompiler {
    func width(_ e: Expr, _ s: Scope, expected: Int?) -> Int {
        index.width(of: e, params: s.params, registerWidth: s.registerWidth, expected: expected) ?? expected ?? 64
    }

    // MARK: fields

    /// Byte base of a header element: a constant offset, or computed from the stack's counter.
    func headerBase(_ h: String, _ idx: StackIndex?, _ s: Scope) throws -> (constant: Int?, dynamic: ((ExecContext) -> Int)?) {
        guard let hs = layout.headerIndex[h].map({ layout.headers[$0] }) else {
            throw CompileError("\(s.element): unknown header '\(h)'")
        }
        switch idx {
        case nil, .at(0)?: return (hs.offset, nil)
        case .at(let i)?:
            guard i < hs.elements else { throw CompileError("\(s.element): index \(i) is outside stack '\(h)' of \(hs.elements)") }
            return (hs.offset + i * hs.size, nil)
        case .last?:
            let slot = hs.nextSlot, off = hs.offset, size = hs.size
            // No element yet: element 0, which is invalid (and zero unless written while invalid).
            return (nil, { c in off + max(Int(c.slots[slot]) - 1, 0) * size })
        case .next?:
            let slot = hs.nextSlot, off = hs.offset, size = hs.size, n = hs.elements
            return (nil, { c in off + min(Int(c.slots[slot]), n - 1) * size })
        }
    }

    func validIndex(_ h: String, _ idx: StackIndex?, _ s: Scope) throws -> (constant: Int?, dynamic: ((ExecContext) -> Int)?) {
        guard let hs = layout.headerIndex[h].map({ layout.headers[$0] }) else {
            throw CompileError("\(s.element): unknown header '\(h)'")
        }
        switch idx {
        case nil: return (hs.validIndex, nil)
        case .at(let i)?: return (hs.validIndex + i, nil)
        case .last?:
            let slot = hs.nextSlot, v = hs.validIndex
            return (nil, { c in c.slots[slot] == 0 ? -1 : v + Int(c.slots[slot]) - 1 })
        case .next?:
            let slot = hs.nextSlot, v = hs.validIndex, n = hs.elements
            return (nil, { c in Int(c.slots[slot]) >= n ? -1 : v + Int(c.slots[slot]) })
        }
    }

    func fieldDecl(_ r: FieldRef, _ s: Scope) throws -> FieldDecl {
        guard let d = index.decl(of: r) else { throw CompileError("\(s.element): undefined field \(IRPrinter.ref(r))") }
        return d
    }

    /// Traffic-manager values need queues, which the standalone runtime does not model (a host
    /// with queues, such as an emulator, compiles with `queues: true`): a program that reads them
    /// elsewhere learns it when it is compiled.
    func checkProvided(_ f: StandardField, _ s: Scope) throws {
        if f.needsQueues && !queues {
            throw CompileError("\(s.element): standard.\(f.rawValue) needs a traffic manager with queues, which the software runtime does not have")
        }
    }

    func readField(_ r: FieldRef, _ s: Scope) throws -> ExprFn {
        switch r {
        case .meta(let m):
            guard let slot = layout.metaSlot[m] else { throw CompileError("\(s.element): undefined metadata field '\(m)'") }
            if (index.metadata[m]?.width ?? 0) > 64 { return { c in c.slots[slot + 1] } }
            return { c in c.slots[slot] }
        case .standard(let f):
            try checkProvided(f, s)
            let slot = Layout.standardSlot(f)
            return { c in c.slots[slot] }
        case .header(let h, let f, let idx):
            let d = try fieldDecl(r, s)
            let bit = layout.header(h).type.bitOffset(of: f)!
            if d.width > 64 {
                let w = try readWide(r, s)
                return { c in UInt64(truncatingIfNeeded: w(c)) }
            }
            let base = try headerBase(h, idx, s)
            let width = d.width
            // Byte-aligned 8/16/32/48/64-bit fields at a fixed offset: one load (see `Place`).
            if let p = place(.field(r), s) { return { c in p.load(c) } }
            if let k = base.constant {
                let off = k * 8 + bit
                if off & 7 + width <= 64 {
                    let byte = off >> 3, shift = UInt64(off & 7), w = UInt64(width)
                    return { c in Bits.loadFixed(c.hdr, byte: byte, shift: shift, width: w) }
                }
                return { c in Bits.load(c.hdr, bitOffset: off, width: width) }
            }
            let dyn = base.dynamic!
            return { c in Bits.load(c.hdr, bitOffset: dyn(c) * 8 + bit, width: width) }
        }
    }

    /// The parts of `e` when it is a header field at a fixed offset, or a concatenation of
    /// such fields, of at most 64 bits in all: each as a word load (`Bits.loadFixed`).
    func fixedHeaderBits(_ e: Expr, _ s: Scope) -> [(byte: Int, shift: UInt64, width: UInt64)]? {
        switch e {
        case .concat(let a, let b):
            guard let pa = fixedHeaderBits(a, s), let pb = fixedHeaderBits(b, s) else { return nil }
            let parts = pa + pb
            return parts.reduce(0) { $0 + $1.width } <= 64 ? parts : nil
        case .field(let r):
            guard case .header(let h, let f, let idx) = r, let d = index.decl(of: r), d.width <= 64,
                  let hi = layout.headerIndex[h], let bit = layout.headers[hi].type.bitOffset(of: f),
                  let k = try? headerBase(h, idx, s).constant else { return nil }
            let off = k * 8 + bit
            guard off & 7 + d.width <= 64 else { return nil }
            return [(off >> 3, UInt64(off & 7), UInt64(d.width))]
        default:
            return nil
        }
    }

    func readWide(_ r: FieldRef, _ s: Scope) throws -> WideFn {
        let d = try fieldDecl(r, s)
        switch r {
        case .meta(let m):
            let slot = layout.metaSlot[m]!
            if d.width > 64 { return { c in UInt128(c.slots[slot]) << 64 | UInt128(c.slots[slot + 1]) } }
            return { c in UInt128(c.slots[slot]) }
        case .standard(let f):
            try checkProvided(f, s)
            let slot = Layout.standardSlot(f)
            return { c in UInt128(c.slots[slot]) }
        case .header(let h, let f, let idx):
            let bit = layout.header(h).type.bitOffset(of: f)!
            let base = try headerBase(h, idx, s)
            let width = d.width
            if let k = base.constant {
                let off = k * 8 + bit
                return { c in Bits.load128(c.hdr, bitOffset: off, width: width) }
            }
            let dyn = base.dynamic!
            return { c in Bits.load128(c.hdr, bitOffset: dyn(c) * 8 + bit, width: width) }
        }
    }

    /// A writer that stores the low bits of a value into a field (masked to its width).
    func writeField(_ r: FieldRef, _ s: Scope) throws -> (ExecContext, UInt64) -> Void {
        let d = try fieldDecl(r, s)
        let m = Bits.mask(d.width)
        switch r {
        case .meta(let name):
            guard let slot = layout.metaSlot[name] else { throw CompileError("\(s.element): undefined metadata field '\(name)'") }
            if d.width > 64 { return { c, v in c.slots[slot] = 0; c.slots[slot + 1] = v } }
            return { c, v in c.slots[slot] = v & m }
        case .standard(let f):
            let slot = Layout.standardSlot(f)
            return { c, v in c.slots[slot] = v & m }
        case .header(let h, let f, let idx):
            let bit = layout.header(h).type.bitOffset(of: f)!
            let base = try headerBase(h, idx, s)
            let width = d.width
            if width > 64 {
                let w = try writeWide(r, s)
                return { c, v in w(c, UInt128(v)) }
            }
            if let p = place(.field(r), s) { return { c, v in p.store(c, v) } }
            if let k = base.constant {
                let off = k * 8 + bit
                return { c, v in Bits.store(c.hdr, bitOffset: off, width: width, v) }
            }
            let dyn = base.dynamic!
            return { c, v in Bits.store(c.hdr, bitOffset: dyn(c) * 8 + bit, width: width, v) }
        }
    }

    func writeWide(_ r: FieldRef, _ s: Scope) throws -> (ExecContext, UInt128) -> Void {
        let d = try fieldDecl(r, s)
        switch r {
        case .meta(let m):
            let slot = layout.metaSlot[m]!
            if d.width > 64 {
                let hm = Bits.mask(d.width - 64)
                return { c, v in c.slots[slot] = UInt64(truncatingIfNeeded: v >> 64) & hm; c.slots[slot + 1] = UInt64(truncatingIfNeeded: v) }
            }
            let m = Bits.mask(d.width)
            return { c, v in c.slots[slot] = UInt64(truncatingIfNeeded: v) & m }
        case .standard(let f):
            let slot = Layout.standardSlot(f), m = Bits.mask(f.width)
            return { c, v in c.slots[slot] = UInt64(truncatingIfNeeded: v) & m }
        case .header(let h, let f, let idx):
            let bit = layout.header(h).type.bitOffset(of: f)!
            let base = try headerBase(h, idx, s)
            let width = d.width
            if let k = base.constant {
                let off = k * 8 + bit
                return { c, v in Bits.store128(c.hdr, bitOffset: off, width: width, v) }
            }
            let dyn = base.dynamic!
            return { c, v in Bits.store128(c.hdr, bitOffset: dyn(c) * 8 + bit, width: width, v) }
        }
    }

    // MARK: expressions

    /// Compile an expression of width ≤ 64; the result is always masked to its width.
    func narrow(_ e: Expr, _ s: Scope, expected: Int? = nil) throws -> ExprFn {
        let w = width(e, s, expected: expected)
        if w > 64 {
            let f = try wide(e, s, expected: expected)
            return { c in UInt64(truncatingIfNeeded: f(c)) }
        }
        let m = Bits.mask(w)
        switch e {
        case .const(let v, _):
            let k = UInt64(truncatingIfNeeded: v) & m
            return { _ in k }
        case .field(let r):
            return try readField(r, s)
        case .param(let n):
            guard let word = s.paramWord[n], let d = s.params.first(where: { $0.name == n }) else {
                throw CompileError("\(s.element): undefined parameter '\(n)'")
            }
            if d.width > 64 { return { c in c.params[word + 1] & m } }
            return { c in c.params[word] }
        case .unary(let op, let a):
            let f = try narrow(a, s, expected: w)
            switch op {
            case .bitNot: return { c in ~f(c) & m }
            case .negate: return { c in (0 &- f(c)) & m }
            case .logicalNot: return { c in f(c) == 0 ? 1 : 0 }
            }
        case .binary(let op, let a, let b), .signed(let op, let a, let b):
            var isSigned = false
            if case .signed = e { isSigned = true }
            let signed = isSigned || index.isSigned(a, params: s.params) || index.isSigned(b, params: s.params)
            return try binary(op, a, b, s, resultWidth: w, signed: signed)
        case .slice(let a, _, let lo):
            let aw = width(a, s, expected: nil)
            if aw > 64 {
                let f = try wide(a, s)
                return { c in UInt64(truncatingIfNeeded: f(c) >> UInt128(lo)) & m }
            }
            let f = try narrow(a, s)
            return { c in (f(c) >> UInt64(lo)) & m }
        case .concat(let a, let b):
            // Header fields at fixed offsets, concatenated (parser select keys such as
            // fragOffset ++ ihl ++ protocol): word loads in one closure.
            if let parts = fixedHeaderBits(e, s), parts.count <= 3 {
                let p0 = parts[0]
                let p1 = parts.count > 1 ? parts[1] : (byte: 0, shift: UInt64(0), width: UInt64(0))
                let p2 = parts.count > 2 ? parts[2] : (byte: 0, shift: UInt64(0), width: UInt64(0))
                @inline(__always) func get(_ c: ExecContext, _ p: (byte: Int, shift: UInt64, width: UInt64)) -> UInt64 {
                    p.width == 0 ? 0 : Bits.loadFixed(c.hdr, byte: p.byte, shift: p.shift, width: p.width)
                }
                let w1 = p1.width, w2 = p2.width
                return { c in ((((get(c, p0) << w1) | get(c, p1)) << w2) | get(c, p2)) & m }
            }
            let fa = try narrow(a, s), fb = try narrow(b, s)
            let wb = UInt64(width(b, s, expected: nil))
            return { c in ((fa(c) << wb) | fb(c)) & m }
        case .cast(let a, _, let signExtend):
            let aw = width(a, s, expected: nil)
            if aw > 64 { let f = try wide(a, s); return { c in UInt64(truncatingIfNeeded: f(c)) & m } }
            let f = try narrow(a, s, expected: w)
            if signExtend && aw < w {
                return { c in UInt64(bitPattern: Bits.signExtend(f(c), aw)) & m }
            }
            return { c in f(c) & m }
        case .isValid(let h, let idx):
            let v = try validIndex(h, idx, s)
            if let k = v.constant { return { c in UInt64(c.valid[k]) } }
            let dyn = v.dynamic!
            return { c in let i = dyn(c); return i < 0 ? 0 : UInt64(c.valid[i]) }
        case .mux(let cond, let a, let b):
            let fc = try narrow(cond, s, expected: 1), fa = try narrow(a, s, expected: w), fb = try narrow(b, s, expected: w)
            return { c in fc(c) != 0 ? fa(c) : fb(c) }
        case .hash(let alg, let inputs, _, let base, let modulo):
            return try hashFn(alg, inputs, s, width: w, base: base, modulo: modulo)
        case .random(let lo, let hi, _):
            let span = hi &- lo &+ 1
            return { c in
                let r = c.rng.next()
                return (span == 0 ? r : lo &+ r % span) & m
            }
        case .lookahead(let lw):
            let perr = Layout.standardSlot(.parserError), tooShort = errorCode(.packetTooShort)
            return { c in
                let need = (lw + 7) / 8
                if c.cursor + need > c.pktLen {
                    if c.slots[perr] == 0 { c.slots[perr] = tooShort }
                    return 0
                }
                return Bits.load(c.pkt + c.cursor, bitOffset: 0, width: lw)
            }
        case .registerOld:
            return { c in c.registerOld & m }
        case .optional(let a, _):
            // Without queues the traffic-manager values do not exist: all ones, as INT asks.
            if !queues && a.readsQueueValues { return { _ in m } }
            return try narrow(.cast(a, width: w), s, expected: w)
        }
    }

    func binary(_ op: BinaryOp, _ a: Expr, _ b: Expr, _ s: Scope, resultWidth w: Int, signed: Bool) throws -> ExprFn {
        if op.isLogical {
            if let terms = compareTerms(.binary(op, a, b), op, s), terms.count <= 4 {
                // Up to four comparisons in one closure, each term captured on its own.
                let t0 = terms[0], t1 = terms[1]
                let or = op == .logicalOr
                switch terms.count {
                case 2:
                    return or ? { c in t0.holds(c) || t1.holds(c) ? 1 : 0 } : { c in t0.holds(c) && t1.holds(c) ? 1 : 0 }
                case 3:
                    let t2 = terms[2]
                    return or ? { c in t0.holds(c) || t1.holds(c) || t2.holds(c) ? 1 : 0 }
                              : { c in t0.holds(c) && t1.holds(c) && t2.holds(c) ? 1 : 0 }
                default:
                    let t2 = terms[2], t3 = terms[3]
                    return or ? { c in t0.holds(c) || t1.holds(c) || t2.holds(c) || t3.holds(c) ? 1 : 0 }
                              : { c in t0.holds(c) && t1.holds(c) && t2.holds(c) && t3.holds(c) ? 1 : 0 }
                }
            }
            let fa = try narrow(a, s, expected: 1), fb = try narrow(b, s, expected: 1)
            if op == .logicalAnd { return { c in fa(c) != 0 && fb(c) != 0 ? 1 : 0 } }
            return { c in fa(c) != 0 || fb(c) != 0 ? 1 : 0 }
        }
        // Operand width: comparisons take it from the operands; arithmetic from the result.
        let ow: Int
        if op.isComparison {
            let wa = index.width(of: a, params: s.params, registerWidth: s.registerWidth)
            let wb = index.width(of: b, params: s.params, registerWidth: s.registerWidth)
            ow = wa ?? wb ?? 64
            if ow > 64 && (op == .eq || op == .ne) {
                let fa = try wide(a, s, expected: ow), fb = try wide(b, s, expected: ow)
                if op == .eq { return { c in fa(c) == fb(c) ? 1 : 0 } }
                return { c in fa(c) != fb(c) ? 1 : 0 }
            }
        } else {
            ow = w
        }
        if let fused = fusedCompare(op, a, b, s, signed: signed) { return fused }
        let fa = try narrow(a, s, expected: ow)
        let fb = try narrow(b, s, expected: op.isShift ? nil : ow)
        let m = Bits.mask(ow)
        // Constant right operands are common (ttl - 1, x == 0x0800): fold them in.
        if case .const(let kv, _) = b, !signed {
            let k = UInt64(truncatingIfNeeded: kv) & (op.isShift ? ~0 : m)
            switch op {
            case .add: return { c in (fa(c) &+ k) & m }
            case .sub: return { c in (fa(c) &- k) & m }
            case .eq: return { c in fa(c) == k ? 1 : 0 }
            case .ne: return { c in fa(c) != k ? 1 : 0 }
            case .lt: return { c in fa(c) < k ? 1 : 0 }
            case .le: return { c in fa(c) <= k ? 1 : 0 }
            case .gt: return { c in fa(c) > k ? 1 : 0 }
            case .ge: return { c in fa(c) >= k ? 1 : 0 }
            case .bitAnd: return { c in fa(c) & k }
            default: break
            }
        }
        switch op {
        case .add: return { c in (fa(c) &+ fb(c)) & m }
        case .sub: return { c in (fa(c) &- fb(c)) & m }
        case .mul: return { c in (fa(c) &* fb(c)) & m }
        case .addSat:
            if signed {
                let lo = Int64.min >> Int64(64 - ow), hi = Int64.max >> Int64(64 - ow)
                return { c in
                    let r = Bits.signExtend(fa(c), ow).addingReportingOverflow(Bits.signExtend(fb(c), ow))
                    let v = r.overflow ? (Bits.signExtend(fa(c), ow) < 0 ? lo : hi) : min(max(r.partialValue, lo), hi)
                    return UInt64(bitPattern: v) & m
                }
            }
            return { c in let r = fa(c) &+ fb(c); return (r > m || r < fa(c)) ? m : r }
        case .subSat:
            if signed {
                let lo = Int64.min >> Int64(64 - ow), hi = Int64.max >> Int64(64 - ow)
                return { c in
                    let a = Bits.signExtend(fa(c), ow)
                    let r = a.subtractingReportingOverflow(Bits.signExtend(fb(c), ow))
                    let v = r.overflow ? (a < 0 ? lo : hi) : min(max(r.partialValue, lo), hi)
                    return UInt64(bitPattern: v) & m
                }
            }
            return { c in let x = fa(c), y = fb(c); return x > y ? x - y : 0 }
        case .bitAnd: return { c in fa(c) & fb(c) }
        case .bitOr: return { c in fa(c) | fb(c) }
        case .bitXor: return { c in fa(c) ^ fb(c) }
        case .shl: return { c in let n = fb(c); return n >= UInt64(ow) ? 0 : (fa(c) << n) & m }
        case .shr:
            if signed {
                return { c in
                    let n = min(fb(c), 63)
                    return UInt64(bitPattern: Bits.signExtend(fa(c), ow) >> Int64(n)) & m
                }
            }
            return { c in let n = fb(c); return n >= UInt64(ow) ? 0 : fa(c) >> n }
        case .eq: return { c in fa(c) == fb(c) ? 1 : 0 }
        case .ne: return { c in fa(c) != fb(c) ? 1 : 0 }
        case .lt, .le, .gt, .ge:
            if signed {
                switch op {
                case .lt: return { c in Bits.signExtend(fa(c), ow) < Bits.signExtend(fb(c), ow) ? 1 : 0 }
                case .le: return { c in Bits.signExtend(fa(c), ow) <= Bits.signExtend(fb(c), ow) ? 1 : 0 }
                case .gt: return { c in Bits.signExtend(fa(c), ow) > Bits.signExtend(fb(c), ow) ? 1 : 0 }
                default: return { c in Bits.signExtend(fa(c), ow) >= Bits.signExtend(fb(c), ow) ? 1 : 0 }
                }
            }
            switch op {
            case .lt: return { c in fa(c) < fb(c) ? 1 : 0 }
            case .le: return { c in fa(c) <= fb(c) ? 1 : 0 }
            case .gt: return { c in fa(c) > fb(c) ? 1 : 0 }
            default: return { c in fa(c) >= fb(c) ? 1 : 0 }
            }
        case .logicalAnd, .logicalOr: fatalError("handled above")
        }
    }

    /// Compile an expression as a value of up to 128 bits.
    func wide(_ e: Expr, _ s: Scope, expected: Int? = nil) throws -> WideFn {
        let w = width(e, s, expected: expected)
        let m = Bits.mask128(w)
        switch e {
        case .const(let v, _):
            let k = v & m
            return { _ in k }
        case .field(let r):
            return try readWide(r, s)
        case .param(let n):
            guard let word = s.paramWord[n], let d = s.params.first(where: { $0.name == n }) else {
                throw CompileError("\(s.element): undefined parameter '\(n)'")
            }
            if d.width > 64 { return { c in UInt128(c.params[word]) << 64 | UInt128(c.params[word + 1]) } }
            return { c in UInt128(c.params[word]) }
        case .concat(let a, let b):
            let fa = try wide(a, s), fb = try wide(b, s)
            let wb = UInt128(width(b, s, expected: nil))
            return { c in ((fa(c) << wb) | fb(c)) & m }
        case .cast(let a, _, let signExtend):
            let f = try wide(a, s)
            let aw = width(a, s, expected: nil)
            if signExtend && aw < w {
                // Copy the operand's sign bit into every bit above it.
                let sign = UInt128(1) << UInt128(aw - 1), high = ~Bits.mask128(aw)
                return { c in let v = f(c); return (v & sign != 0 ? v | high : v) & m }
            }
            return { c in f(c) & m }
        case .mux(let cond, let a, let b):
            let fc = try narrow(cond, s, expected: 1), fa = try wide(a, s, expected: w), fb = try wide(b, s, expected: w)
            return { c in fc(c) != 0 ? fa(c) : fb(c) }
        case .slice(let a, let hi, let lo):
            _ = hi
            let f = try wide(a, s)
            return { c in (f(c) >> UInt128(lo)) & m }
        case .binary(let op, let a, let b) where op == .bitAnd || op == .bitOr || op == .bitXor:
            let fa = try wide(a, s, expected: w), fb = try wide(b, s, expected: w)
            switch op {
            case .bitAnd: return { c in fa(c) & fb(c) }
            case .bitOr: return { c in fa(c) | fb(c) }
            default: return { c in fa(c) ^ fb(c) }
            }
        default:
            if w > 64 { throw CompileError("\(s.element): \(IRPrinter.expr(e)) is \(w) bits wide; values over 64 bits can only be copied, compared, sliced, concatenated and matched") }
            let f = try narrow(e, s, expected: expected)
            return { c in UInt128(f(c)) }
        }
    }

    func hashFn(_ alg: HashAlgorithm, _ inputs: [Expr], _ s: Scope, width w: Int, base: UInt64, modulo: UInt64) throws -> ExprFn {
        let parts = try inputs.map { e in HashPart(value: try wide(e, s), width: width(e, s, expected: nil)) }
        let total = parts.reduce(0) { $0 + $1.width }
        let nbytes = (total + 7) / 8
        let pad = nbytes * 8 - total
        let m = Bits.mask(w)
        hashBytesNeeded = max(hashBytesNeeded, nbytes + 16)
        let fill: (ExecContext) -> Void = { c in
            c.hashBuf.update(repeating: 0, count: nbytes)
            var bit = pad
            for p in parts {
                Bits.store128(c.hashBuf, bitOffset: bit, width: p.width, p.value(c))
                bit += p.width
            }
        }
        let reduce: (UInt64) -> UInt64 = modulo == 0 ? { h in (base &+ h) & m } : { h in (base &+ h % modulo) & m }
        // Fast path for whole-byte inputs of at most 64 bits each (5-tuples and the like): each
        // input's bytes are stored big-endian straight into the buffer, and the CRC runs over a
        // table pointer captured here (no lazy-global check per packet).
        if pad == 0 && alg != .identity && parts.allSatisfy({ $0.width % 8 == 0 && $0.width <= 64 }) {
            var writer: ((ExecContext, UnsafeMutablePointer<UInt8>) -> Void) = { _, _ in }
            var offset = nbytes
            for e in inputs.reversed() {
                let nb = width(e, s, expected: nil) / 8
                offset -= nb
                let fn = try narrow(e, s), off = offset, rest = writer
                writer = { c, buf in
                    var x = fn(c)
                    var i = off + nb - 1
                    while i >= off { buf[i] = UInt8(truncatingIfNeeded: x); x >>= 8; i -= 1 }
                    rest(c, buf)
                }
            }
            // All inputs header fields at fixed offsets (a 5-tuple): one loop over word loads.
            let fixed = inputs.map { fixedHeaderBits($0, s) }
            if fixed.allSatisfy({ $0?.count == 1 }) {
                let n = inputs.count
                let parts = UnsafeMutablePointer<(byte: Int, shift: UInt64, width: UInt64)>.allocate(capacity: n)
                for (i, f) in fixed.enumerated() { (parts + i).initialize(to: f![0]) }
                rawBuffers.append(UnsafeMutableRawPointer(parts))
                writer = { c, buf in
                    var at = 0
                    for i in 0..<n {
                        let p = parts[i]
                        var x = Bits.loadFixed(c.hdr, byte: p.byte, shift: p.shift, width: p.width)
                        let nb = Int(p.width) >> 3
                        var j = at + nb - 1
                        while j >= at { buf[j] = UInt8(truncatingIfNeeded: x); x >>= 8; j -= 1 }
                        at += nb
                    }
                }
            }
            let write = writer
            if alg == .crc32 {
                let t = CRC32.tablePointer
                return { c in
                    let buf = c.hashBuf
                    write(c, buf)
                    var crc: UInt32 = ~0
                    for i in 0..<nbytes { crc = (crc >> 8) ^ t[Int((crc ^ UInt32(buf[i])) & 0xFF)] }
                    return reduce(UInt64(~crc))
                }
            }
            return { c in
                write(c, c.hashBuf)
                return reduce(UInt64(CRC16.compute(UnsafeRawBufferPointer(start: c.hashBuf, count: nbytes))))
            }
        }
        switch alg {
        case .crc16:
            return { c in fill(c); return reduce(UInt64(CRC16.compute(UnsafeRawBufferPointer(start: c.hashBuf, count: nbytes)))) }
        case .crc32:
            return { c in fill(c); return reduce(UInt64(CRC32.compute(UnsafeRawBufferPointer(start: c.hashBuf, count: nbytes)))) }
        case .identity:
            return { c in
                fill(c)
                let v = Bits.load128(c.hashBuf, bitOffset: max(0, nbytes * 8 - min(total, 128)), width: min(total, 128))
                return reduce(UInt64(truncatingIfNeeded: v))
            }
        }
    }
}

import SluiceIR

/// A value's location when it is simple enough to read or write without a closure call: a
/// metadata slot, an action parameter word, or a byte-aligned header field of 8, 16, 32, 48 or
/// 64 bits at a fixed offset. Fused statements and conditions switch on it inline; anything
/// else goes through the general closures.
enum Place {
    case slot(Int, mask: UInt64)
    case param(Int)
    case hdr8(Int), hdr16(Int), hdr32(Int), hdr48(Int), hdr64(Int)

    @inline(__always) func load(_ c: ExecContext) -> UInt64 {
        switch self {
        case .slot(let i, _): return c.slots[i]
        case .param(let i): return c.params[i]
        case .hdr8(let o): return UInt64(c.hdr[o])
        case .hdr16(let o): return UInt64(UInt16(bigEndian: UnsafeRawPointer(c.hdr + o).loadUnaligned(as: UInt16.self)))
        case .hdr32(let o): return UInt64(UInt32(bigEndian: UnsafeRawPointer(c.hdr + o).loadUnaligned(as: UInt32.self)))
        case .hdr48(let o):
            let p = UnsafeRawPointer(c.hdr + o)
            return UInt64(UInt16(bigEndian: p.loadUnaligned(as: UInt16.self))) << 32
                | UInt64(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
        case .hdr64(let o): return UInt64(bigEndian: UnsafeRawPointer(c.hdr + o).loadUnaligned(as: UInt64.self))
        }
    }

    /// Store the low bits of `v` (masked to the place's width).
    @inline(__always) func store(_ c: ExecContext, _ v: UInt64) {
        switch self {
        case .slot(let i, let m): c.slots[i] = v & m
        case .param: break
        case .hdr8(let o): c.hdr[o] = UInt8(truncatingIfNeeded: v)
        case .hdr16(let o): UnsafeMutableRawPointer(c.hdr + o).storeBytes(of: UInt16(truncatingIfNeeded: v).bigEndian, as: UInt16.self)
        case .hdr32(let o): UnsafeMutableRawPointer(c.hdr + o).storeBytes(of: UInt32(truncatingIfNeeded: v).bigEndian, as: UInt32.self)
        case .hdr48(let o):
            let p = UnsafeMutableRawPointer(c.hdr + o)
            p.storeBytes(of: UInt16(truncatingIfNeeded: v >> 32).bigEndian, as: UInt16.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: v).bigEndian, toByteOffset: 2, as: UInt32.self)
        case .hdr64(let o): UnsafeMutableRawPointer(c.hdr + o).storeBytes(of: v.bigEndian, as: UInt64.self)
        }
    }

    var isWritable: Bool { if case .param = self { false } else { true } }
}

extension ProgramCompiler {
    /// The place of a field reference or action parameter, if it is a simple one.
    func place(_ e: Expr, _ s: Scope) -> Place? {
        switch e {
        case .param(let n):
            guard let w = s.paramWord[n], let d = s.params.first(where: { $0.name == n }), d.width <= 64 else { return nil }
            return .param(w)
        case .field(let r):
            guard let d = index.decl(of: r), d.width <= 64 else { return nil }
            switch r {
            case .meta(let m):
                guard let slot = layout.metaSlot[m] else { return nil }
                return .slot(slot, mask: Bits.mask(d.width))
            case .standard(let f):
                if f.needsQueues && !queues { return nil }
                return .slot(Layout.standardSlot(f), mask: Bits.mask(f.width))
            case .header(let h, let f, let idx):
                guard let hi = layout.headerIndex[h], let bit = layout.headers[hi].type.bitOffset(of: f), bit % 8 == 0,
                      let base = try? headerBase(h, idx, s).constant else { return nil }
                let o = base + bit / 8
                switch d.width {
                case 8: return .hdr8(o)
                case 16: return .hdr16(o)
                case 32: return .hdr32(o)
                case 48: return .hdr48(o)
                case 64: return .hdr64(o)
                default: return nil
                }
            }
        default:
            return nil
        }
    }

    /// A simple assignment `dst = src`, `dst = src op k` or `dst = k` as data, or nil for the
    /// general path.
    func assignOp(_ r: FieldRef, _ e: Expr, _ s: Scope, width w: Int) -> AssignOp? {
        guard let dst = place(.field(r), s), dst.isWritable else { return nil }
        let m = Bits.mask(w)
        if case .const(let v, _) = e {
            return AssignOp(dst: dst, src: dst, kind: .constant, k: UInt64(truncatingIfNeeded: v) & m, m: m)
        }
        if let src = place(e, s), index.width(of: e, params: s.params) == w {
            return AssignOp(dst: dst, src: src, kind: .copy, k: 0, m: m)
        }
        if case .binary(let op, let a, .const(let kv, _)) = e, let src = place(a, s), index.width(of: a, params: s.params) == w,
           !index.isSigned(a, params: s.params) {
            let k = UInt64(truncatingIfNeeded: kv) & m
            let kind: AssignOp.Kind
            switch op {
            case .add: kind = .add
            case .sub: kind = .sub
            case .bitAnd: kind = .and
            case .bitOr: kind = .or
            case .bitXor: kind = .xor
            default: return nil
            }
            return AssignOp(dst: dst, src: src, kind: kind, k: k, m: m)
        }
        return nil
    }

    /// A fused assignment (see `assignOp`) as one closure specialized for its shape.
    func fusedAssign(_ r: FieldRef, _ e: Expr, _ s: Scope, width w: Int) -> StmtFn? {
        guard let op = assignOp(r, e, s, width: w) else { return nil }
        let dst = op.dst, src = op.src, k = op.k, m = op.m
        switch op.kind {
        case .constant: return { c in dst.store(c, k) }
        case .copy: return { c in dst.store(c, src.load(c)) }
        case .add: return { c in dst.store(c, (src.load(c) &+ k) & m) }
        case .sub: return { c in dst.store(c, (src.load(c) &- k) & m) }
        case .and: return { c in dst.store(c, src.load(c) & k) }
        case .or: return { c in dst.store(c, src.load(c) | k) }
        case .xor: return { c in dst.store(c, src.load(c) ^ k) }
        }
    }

    /// Consecutive simple assignments (an action's body, typically) as one closure: up to four
    /// captured one by one, more in a loop over a table of them.
    func assignRun(_ ops: [AssignOp]) -> StmtFn {
        switch ops.count {
        case 1: let a = ops[0]; return { c in a.run(c) }
        case 2: let a = ops[0], b = ops[1]; return { c in a.run(c); b.run(c) }
        case 3: let a = ops[0], b = ops[1], d = ops[2]; return { c in a.run(c); b.run(c); d.run(c) }
        case 4: let a = ops[0], b = ops[1], d = ops[2], e = ops[3]; return { c in a.run(c); b.run(c); d.run(c); e.run(c) }
        default:
            let n = ops.count
            let table = UnsafeMutablePointer<AssignOp>.allocate(capacity: n)
            table.initialize(from: ops, count: n)
            rawBuffers.append(UnsafeMutableRawPointer(table))
            return { c in for i in 0..<n { table[i].run(c) } }
        }
    }

    /// A fused comparison of a simple place with a constant (or another place), or nil.
    func fusedCompare(_ op: BinaryOp, _ a: Expr, _ b: Expr, _ s: Scope, signed: Bool) -> ExprFn? {
        guard op.isComparison, !signed, let pa = place(a, s) else { return nil }
        if case .const(let kv, _) = b {
            let w = index.width(of: a, params: s.params) ?? 64
            let k = UInt64(truncatingIfNeeded: kv) & Bits.mask(w)
            switch op {
            case .eq: return { c in pa.load(c) == k ? 1 : 0 }
            case .ne: return { c in pa.load(c) != k ? 1 : 0 }
            case .lt: return { c in pa.load(c) < k ? 1 : 0 }
            case .le: return { c in pa.load(c) <= k ? 1 : 0 }
            case .gt: return { c in pa.load(c) > k ? 1 : 0 }
            case .ge: return { c in pa.load(c) >= k ? 1 : 0 }
            default: return nil
            }
        }
        guard let pb = place(b, s) else { return nil }
        switch op {
        case .eq: return { c in pa.load(c) == pb.load(c) ? 1 : 0 }
        case .ne: return { c in pa.load(c) != pb.load(c) ? 1 : 0 }
        case .lt: return { c in pa.load(c) < pb.load(c) ? 1 : 0 }
        case .le: return { c in pa.load(c) <= pb.load(c) ? 1 : 0 }
        case .gt: return { c in pa.load(c) > pb.load(c) ? 1 : 0 }
        case .ge: return { c in pa.load(c) >= pb.load(c) ? 1 : 0 }
        default: return nil
        }
    }
}

/// One comparison of a simple value with a constant, inside an `||` or `&&` chain that runs
/// as a single closure (the drop checks of a router: `checksumError == 1 || ttl <= 1 || ihl != 5`).
struct CompareTerm {
    enum Source {
        case place(Place)
        /// A header field at a fixed offset that is not byte-aligned (`Bits.loadFixed`).
        case bits(byte: Int, shift: UInt64, width: UInt64)
    }
    var source: Source
    var op: BinaryOp
    var k: UInt64

    @inline(__always) func holds(_ c: ExecContext) -> Bool {
        let v: UInt64
        switch source {
        case .place(let p): v = p.load(c)
        case .bits(let byte, let shift, let width): v = Bits.loadFixed(c.hdr, byte: byte, shift: shift, width: width)
        }
        switch op {
        case .eq: return v == k
        case .ne: return v != k
        case .lt: return v < k
        case .le: return v <= k
        case .gt: return v > k
        default: return v >= k
        }
    }
}

extension ProgramCompiler {
    /// The terms of `e` when it is a chain of `op` (`||` or `&&`) whose leaves all compare an
    /// unsigned simple value with a constant; nil otherwise.
    func compareTerms(_ e: Expr, _ op: BinaryOp, _ s: Scope) -> [CompareTerm]? {
        guard case .binary(let o, let a, let b) = e else { return nil }
        if o == op {
            guard let ta = compareTerms(a, op, s), let tb = compareTerms(b, op, s) else { return nil }
            return ta + tb
        }
        guard o.isComparison, case .const(let kv, _) = b, !index.isSigned(a, params: s.params), !index.isSigned(b, params: s.params),
              let w = index.width(of: a, params: s.params), w <= 64 else { return nil }
        let k = UInt64(truncatingIfNeeded: kv) & Bits.mask(w)
        if let p = place(a, s) { return [CompareTerm(source: .place(p), op: o, k: k)] }
        if let bits = fixedHeaderBits(a, s), bits.count == 1 {
            return [CompareTerm(source: .bits(byte: bits[0].byte, shift: bits[0].shift, width: bits[0].width), op: o, k: k)]
        }
        return nil
    }
}

/// A simple assignment as data (see `ProgramCompiler.assignOp`).
struct AssignOp {
    enum Kind: UInt8 { case constant, copy, add, sub, and, or, xor }
    var dst: Place
    var src: Place
    var kind: Kind
    var k: UInt64
    var m: UInt64

    @inline(__always) func run(_ c: ExecContext) {
        let v: UInt64
        switch kind {
        case .constant: v = k
        case .copy: v = src.load(c)
        case .add: v = (src.load(c) &+ k) & m
        case .sub: v = (src.load(c) &- k) & m
        case .and: v = src.load(c) & k
        case .or: v = src.load(c) | k
        case .xor: v = src.load(c) ^ k
        }
        dst.store(c, v)
    }
}

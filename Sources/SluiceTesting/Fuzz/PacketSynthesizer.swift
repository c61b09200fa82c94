import SluiceControlPlane
import SluiceIR
import SluiceRuntime

/// Packets that a program's parser takes, made from its IR alone (so it works for any program,
/// built in or the user's own): a random walk through the parser's states in which each
/// `select` picks one of its cases and the packet's bits are set to match it.
///
/// The packet starts as random bytes; `extract` only moves a cursor over them and remembers
/// where each header landed, and a select writes the case's value into the key's bits: into
/// a header already extracted, or at the cursor for a `lookahead`. Keys the packet cannot
/// decide (metadata, computed values) are left to chance.
public struct PacketSynthesizer {
    let program: Program
    let states: [String: ParserState]
    /// Field offsets (bits from the header's start) and widths, by header type and field name.
    let fields: [String: [String: (offset: Int, width: Int)]]
    let headerType: [String: HeaderType]
    /// The most bytes a walk may cover, and the most transitions it takes (parser loops).
    public static let maxBytes = 1536
    public static let maxSteps = 64
    /// The checksums the program verifies (`VerifyChecksum(field, over: headers)` anywhere in its
    /// controls): a walk sets them right most of the time, so packets get past the check.
    let checksums: [(field: Expr, over: [String])]
    /// Values worth giving a field, beyond what the parser needs: the constants the program
    /// compares it with (and their neighbours), and the matches of installed table entries
    /// (`learn`), so that packets take the branches and hit the entries a random value misses.
    /// In a fixed order (the order the program and the entries give them): a walk draws from it,
    /// and a dictionary's order would differ from run to run.
    var hints: [(field: Expr, values: [Hint])] = []

    enum Hint: Hashable {
        case element(KeysetElement)
        case prefix(UInt128, length: Int)
    }

    public init(_ verified: VerifiedProgram) {
        let program = verified.program
        self.program = program
        var st: [String: ParserState] = [:]
        for s in program.parser.states { st[s.name] = s }
        states = st
        var f: [String: [String: (Int, Int)]] = [:]
        var types: [String: HeaderType] = [:]
        for t in program.headerTypes {
            var offset = 0
            var m: [String: (Int, Int)] = [:]
            for d in t.fields { m[d.name] = (offset, d.width); offset += d.width }
            f[t.name] = m
        }
        for h in program.headers { if let t = program.headerTypes.first(where: { $0.name == h.type }) { types[h.name] = t } }
        fields = f
        headerType = types
        var sums: [(Expr, [String])] = []
        func scan(_ stmts: [Stmt]) {
            for st in stmts {
                switch st {
                case .verifyChecksum(let field, let over): sums.append((.field(field), over))
                case .ifElse(_, let a, let b): scan(a); scan(b)
                default: break
                }
            }
        }
        scan(program.ingress)
        scan(program.egress ?? [])
        for a in program.actions { scan(a.body) }
        for st in program.parser.states { scan(st.statements) }
        checksums = sums
        var h = HintList()
        func constants(_ e: Expr) {
            switch e {
            case .binary(let op, let a, let b):
                if op.isComparison {
                    for (field, other) in [(a, b), (b, a)] {
                        guard case .field(.header) = field, case .const(let c, _) = other else { continue }
                        for v in [c &- 1, c, c &+ 1] { h.add(field, .element(.value(v))) }
                    }
                }
                constants(a); constants(b)
            case .unary(_, let x), .cast(let x, _, _), .slice(let x, _, _): constants(x)
            case .mux(let c, let a, let b): constants(c); constants(a); constants(b)
            default: break
            }
        }
        func walk(_ stmts: [Stmt]) {
            for st in stmts {
                switch st {
                case .ifElse(let c, let a, let b): constants(c); walk(a); walk(b)
                case .verify(let c, _): constants(c)
                case .assign(_, let e): constants(e)
                default: break
                }
            }
        }
        walk(program.ingress)
        walk(program.egress ?? [])
        for a in program.actions { walk(a.body) }
        for st in program.parser.states { walk(st.statements) }
        hints = h.list
    }

    /// Hints by field, each value once, in the order added.
    struct HintList {
        var list: [(field: Expr, values: [Hint])] = []
        var index: [Expr: Int] = [:]
        var seen: [Set<Hint>] = []
        mutating func add(_ field: Expr, _ hint: Hint) {
            if let i = index[field] {
                if seen[i].insert(hint).inserted { list[i].values.append(hint) }
            } else {
                index[field] = list.count
                list.append((field, [hint]))
                seen.append([hint])
            }
        }
    }

    /// Take the matches of the entries installed through `cp` as hints for their keys' fields.
    public mutating func learn(_ cp: any ControlPlane) {
        var h = HintList()
        for (field, values) in hints { for v in values { h.add(field, v) } }
        defer { hints = h.list }
        for t in program.tables {
            guard let entries = try? cp.entries(t.name) else { continue }
            for (_, e) in entries.prefix(4096) {
                for (key, m) in zip(t.keys, e.matches) {
                    let hint: Hint?
                    switch m {
                    case .exact(let v): hint = .element(.value(v))
                    case .lpm(let v, let length): hint = .prefix(v, length: length)
                    case .ternary(let v, let mask): hint = .element(.mask(v, mask))
                    case .range(let lo, let hi): hint = .element(.range(lo, hi))
                    case .optional(let v): hint = v.map { .element(.value($0)) }
                    }
                    if let hint { h.add(key.expr, hint) }
                }
            }
        }
    }

    /// One walk: the packet's bytes and the states it went through.
    public func packet(_ rng: inout SplitMix64) -> (bytes: [UInt8], path: [String]) {
        var walk = Walk(bytes: (0..<(Self.maxBytes + 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        var path: [String] = []
        var name = program.parser.states.first?.name ?? ReservedState.accept
        steps: for _ in 0..<Self.maxSteps {
            guard let state = states[name] else { break }
            path.append(name)
            for s in state.statements { run(s, &walk) }
            if walk.cursor > Self.maxBytes * 8 { break }
            switch state.transition {
            case .accept, .reject: break steps
            case .goto(let next): name = next
            case .select(let keys, let cases):
                guard !cases.isEmpty else { break steps }
                // Mostly a case that goes on; now and then any case (rejects and defaults too).
                let onward = cases.indices.filter { cases[$0].next != ReservedState.reject }
                let pick = !onward.isEmpty && rng.next() % 8 != 0 ? onward[Int(rng.next() % UInt64(onward.count))]
                                                                   : Int(rng.next() % UInt64(cases.count))
                for (key, element) in zip(keys, cases[pick].keys) { satisfy(key, element, &walk, &rng) }
                name = cases[pick].next
            }
            if name == ReservedState.accept || name == ReservedState.reject { path.append(name); break }
        }
        // Now and then a field gets a value the program looks for, then checksums are set right
        // (most of the time: a wrong one is a case too).
        for (field, values) in hints where rng.next() % 8 < 5 {
            let pick = values[Int(rng.next() % UInt64(values.count))]
            switch pick {
            case .element(let e): satisfy(field, e, &walk, &rng)
            case .prefix(let v, let length):
                guard let width = location(field, walk)?.reduce(0, { $0 + $1.width }), width <= 128, length <= width else { continue }
                let mask: UInt128 = length == 0 ? 0 : (length == 128 ? .max : ((UInt128(1) << UInt128(length)) - 1) << UInt128(width - length))
                satisfy(field, .mask(v, mask), &walk, &rng)
            }
        }
        if rng.next() % 10 != 0 { for c in checksums { setChecksum(c.field, over: c.over, &walk) } }
        // The payload behind the headers: up to 64 random bytes (already there).
        let end = min(walk.bytes.count, (walk.cursor + 7) / 8 + Int(rng.next() % 65))
        return (Array(walk.bytes[0..<end]), path)
    }

    struct Walk {
        var bytes: [UInt8]
        var cursor = 0                       // bits
        var at: [String: [Int]] = [:]        // header instance -> bit offsets of its extracted elements
    }

    func run(_ s: Stmt, _ w: inout Walk) {
        switch s {
        case .extract(let h, _):
            guard let t = headerType[h] else { return }
            w.at[h, default: []].append(w.cursor)
            w.cursor += t.bitWidth
        case .advance(let bits):
            w.cursor += max(0, bits)
        default:
            break
        }
    }

    /// Where `e`'s bits are in the packet (bit offset, width), when the packet holds them.
    func location(_ e: Expr, _ w: Walk) -> [(offset: Int, width: Int)]? {
        switch e {
        case .field(.header(let h, let field, let index)):
            guard let t = headerType[h], let f = fields[t.name]?[field], let offsets = w.at[h], !offsets.isEmpty else { return nil }
            let base: Int
            switch index {
            case nil, .last?, .next?: base = offsets[offsets.count - 1]
            case .at(let i)?: guard i >= 0 && i < offsets.count else { return nil }; base = offsets[i]
            }
            return [(base + f.offset, f.width)]
        case .lookahead(let width):
            return [(w.cursor, width)]
        case .concat(let a, let b):
            guard let x = location(a, w), let y = location(b, w) else { return nil }
            return x + y
        case .slice(let inner, let hi, let lo):
            guard let parts = location(inner, w), parts.count == 1, hi >= lo, hi < parts[0].width else { return nil }
            return [(parts[0].offset + parts[0].width - 1 - hi, hi - lo + 1)]
        default:
            return nil
        }
    }

    /// The Internet checksum of headers `over` (as extracted, whole bytes) written into `field`.
    func setChecksum(_ field: Expr, over: [String], _ w: inout Walk) {
        guard let target = location(field, w), target.count == 1, target[0].width == 16, target[0].offset % 8 == 0 else { return }
        var bytes: [UInt8] = []
        for h in over {
            guard let t = headerType[h], let at = w.at[h]?.last, at % 8 == 0, t.bitWidth % 8 == 0 else { return }
            let from = at / 8, to = from + t.bitWidth / 8
            guard to <= w.bytes.count else { return }
            bytes += w.bytes[from..<to].enumerated().map { i, b in
                // The checksum field itself counts as zero.
                (from + i) * 8 >= target[0].offset && (from + i) * 8 < target[0].offset + 16 ? 0 : b
            }
        }
        let sum = ~InternetChecksum.fold(InternetChecksum.sum(bytes))
        Self.setBits(&w.bytes, offset: target[0].offset, width: 16, value: UInt128(sum))
    }

    /// Write a value matching `element` into the bits of `key`.
    func satisfy(_ key: Expr, _ element: KeysetElement, _ w: inout Walk, _ rng: inout SplitMix64) {
        guard let parts = location(key, w) else { return }
        let width = parts.reduce(0) { $0 + $1.width }
        guard width > 0, width <= 128 else { return }
        let all = width == 128 ? UInt128.max : (UInt128(1) << UInt128(width)) - 1
        let random = (UInt128(rng.next()) << 64 | UInt128(rng.next())) & all
        let value: UInt128
        switch element {
        case .any: return
        case .value(let v): value = v & all
        case .mask(let v, let m): value = (random & ~m | v & m) & all
        case .range(let lo, let hi): value = hi > lo ? lo + random % (hi - lo + 1) : lo
        }
        // The parts, most significant first.
        var remaining = width
        for p in parts {
            remaining -= p.width
            Self.setBits(&w.bytes, offset: p.offset, width: p.width, value: value >> UInt128(remaining))
        }
    }

    /// Big-endian bit field `offset ..< offset + width` of `bytes` set to the low bits of `value`.
    static func setBits(_ bytes: inout [UInt8], offset: Int, width: Int, value: UInt128) {
        for i in 0..<width {
            let bit = offset + i
            guard bit / 8 < bytes.count else { return }
            let on = (value >> UInt128(width - 1 - i)) & 1 == 1
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if on { bytes[bit / 8] |= mask } else { bytes[bit / 8] &= ~mask }
        }
    }
}

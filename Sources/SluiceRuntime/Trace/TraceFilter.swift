import SluiceControlPlane
import SluiceIR

/// Which packets a trace shows: comparisons of header fields, metadata and standard fields with
/// values, joined by `&&`, `||`, `!` and parentheses, as in `ipv4.dstAddr == 10.0.2.2 &&
/// ingress_port == 1`. A header name alone tests that the header is valid (`ipv4`, `!tcp`).
/// Field names may be cut to a unique prefix and written in snake_case (`ipv4.dst` or
/// `ipv4.dst_addr` for `dstAddr`). Values: decimal, 0x hex, 0b binary, IPv4, MAC, IPv6.
/// A comparison with a field of a header the packet does not have is false.
/// The filter reads the packet as the ingress parser left it.
public struct TraceFilter: Sendable, CustomStringConvertible {
    public let text: String
    let root: Node

    indirect enum Node: Sendable {
        case and(Node, Node), or(Node, Node), not(Node)
        case compare(Operand, Comparison, UInt128)
        case valid(Operand)
    }

    struct Operand: Sendable { var name: String; var column: Int }

    enum Comparison: String, Sendable, CaseIterable { case eq = "==", ne = "!=", le = "<=", ge = ">=", lt = "<", gt = ">" }

    public var description: String { text }

    /// Parse `text`; errors name the column, the token and what would be valid there.
    public init(_ text: String) throws(TraceFilterError) {
        self.text = text
        var p = FilterParser(text)
        root = try p.parseAll()
    }
}

/// A filter that does not parse or names something the program lacks.
public struct TraceFilterError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

struct FilterParser {
    enum Token: Equatable { case word(String), op(String), end }
    let text: String
    var tokens: [(token: Token, column: Int)] = []
    var at = 0
    static let operators = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")"]
    static let valid = "valid here: a field (ipv4.dstAddr, ingress_port), a header name (ipv4), !, ( "

    init(_ text: String) { self.text = text }

    func error(_ column: Int, _ what: String) -> TraceFilterError {
        TraceFilterError(message: "trace filter '\(text)': column \(column): \(what)")
    }

    mutating func tokenize() throws(TraceFilterError) {
        let chars = Array(text)
        var i = 0
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "." || c == ":" || c == "[" || c == "]" }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" { i += 1; continue }
            if isWord(c) {
                let start = i
                while i < chars.count && isWord(chars[i]) { i += 1 }
                tokens.append((.word(String(chars[start..<i])), start + 1))
                continue
            }
            let two = i + 1 < chars.count ? String(chars[i...i + 1]) : String(c)
            if let op = Self.operators.first(where: { $0 == two || $0 == String(c) }) {
                let o = Self.operators.contains(two) ? two : op
                tokens.append((.op(o), i + 1))
                i += o.count
                continue
            }
            if c == "=" { throw error(i + 1, "'=' is not a comparison; valid: == != < <= > >=") }
            if c == "&" || c == "|" { throw error(i + 1, "'\(c)' alone is not an operator; valid: && (and), || (or)") }
            throw error(i + 1, "'\(c)' is not part of a filter; valid: names, values and == != < <= > >= && || ! ( )")
        }
        tokens.append((.end, chars.count + 1))
    }

    var current: (token: Token, column: Int) { tokens[at] }

    func show(_ t: Token) -> String {
        switch t {
        case .word(let w): "'\(w)'"
        case .op(let o): "'\(o)'"
        case .end: "the end of the filter"
        }
    }

    mutating func parseAll() throws(TraceFilterError) -> TraceFilter.Node {
        try tokenize()
        if tokens.count == 1 { throw error(1, "the filter is empty; e.g. 'ipv4.dstAddr == 10.0.2.2 && ingress_port == 1'") }
        let n = try parseOr()
        guard current.token == .end else {
            throw error(current.column, "unexpected \(show(current.token)); valid here: && or || (or the end of the filter)")
        }
        return n
    }

    mutating func parseOr() throws(TraceFilterError) -> TraceFilter.Node {
        var l = try parseAnd()
        while current.token == .op("||") { at += 1; l = .or(l, try parseAnd()) }
        return l
    }

    mutating func parseAnd() throws(TraceFilterError) -> TraceFilter.Node {
        var l = try parseUnary()
        while current.token == .op("&&") { at += 1; l = .and(l, try parseUnary()) }
        return l
    }

    mutating func parseUnary() throws(TraceFilterError) -> TraceFilter.Node {
        let (t, col) = current
        switch t {
        case .op("!"):
            at += 1
            return .not(try parseUnary())
        case .op("("):
            at += 1
            let n = try parseOr()
            guard current.token == .op(")") else { throw error(current.column, "expected ')' to close the '(' at column \(col), found \(show(current.token))") }
            at += 1
            return n
        case .word(let w):
            if w.first?.isNumber == true { throw error(col, "'\(w)' is a value where a field belongs; write the field first, e.g. ingress_port == \(w)") }
            at += 1
            let operand = TraceFilter.Operand(name: w, column: col)
            if case .op(let o) = current.token, let cmp = TraceFilter.Comparison(rawValue: o) {
                at += 1
                guard case .word(let v) = current.token else {
                    throw error(current.column, "expected a value after '\(o)', found \(show(current.token)); valid: 17, 0x11, 10.0.2.2, 00:00:00:00:00:01")
                }
                guard let value = ValueSyntax.parse(v) else {
                    throw error(current.column, "'\(v)' is not a value; valid: decimal (17), hex (0x11), binary (0b101), IPv4 (10.0.2.2), MAC (00:00:00:00:00:01), IPv6")
                }
                at += 1
                return .compare(operand, cmp, value)
            }
            return .valid(operand)
        case .op(let o):
            throw error(col, "unexpected '\(o)'; \(Self.valid)")
        case .end:
            throw error(col, "the filter ends where a comparison belongs; \(Self.valid)")
        }
    }
}

/// A filter bound to one program's layout: reads context slots and header bytes.
final class BoundTraceFilter {
    indirect enum Node {
        case and(Node, Node), or(Node, Node), not(Node)
        case compare(Read, TraceFilter.Comparison, UInt128)
        case valid(Int)
    }
    enum Read {
        case slot(Int, width: Int)
        case field(valid: Int, byte: Int, bit: Int, width: Int)
    }
    let root: Node

    init(_ f: TraceFilter, layout: Layout, program: Program) throws(TraceFilterError) {
        func fail(_ o: TraceFilter.Operand, _ what: String) -> TraceFilterError {
            TraceFilterError(message: "trace filter '\(f.text)': column \(o.column): \(what)")
        }
        func norm(_ s: String) -> String { s.lowercased().replacingOccurrences(of: "_", with: "") }
        let standards = StandardField.allCases.map { ($0, snake($0.rawValue)) }
        func header(_ o: TraceFilter.Operand, _ name: String) -> Layout.HeaderSlot? {
            layout.headerIndex[name.components(separatedBy: "[").first ?? name].map { layout.headers[$0] }
        }
        func read(_ o: TraceFilter.Operand) throws(TraceFilterError) -> Read {
            var parts = o.name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts.first == "hdr" && parts.count == 3 { parts.removeFirst() }
            if parts.count == 2 && (parts[0] == "standard" || parts[0] == "meta") { parts.removeFirst() }
            if parts.count == 1 {
                let n = norm(parts[0])
                if let (f, _) = standards.first(where: { norm($0.0.rawValue) == n }) {
                    return .slot(Layout.standardSlot(f), width: f.width)
                }
                if let m = program.metadata.first(where: { norm($0.name) == n }), let slot = layout.metaSlot[m.name], m.width <= 64 {
                    return .slot(slot, width: m.width)
                }
                throw fail(o, "no standard field or metadata '\(parts[0])'; valid: \(standards.map(\.1).joined(separator: ", "))"
                          + (program.metadata.isEmpty ? "" : ", " + program.metadata.map(\.name).joined(separator: ", "))
                          + ", or HEADER.FIELD (headers: \(layout.headers.map(\.name).joined(separator: ", ")))")
            }
            guard parts.count == 2, let h = header(o, parts[0]) else {
                throw fail(o, "no header '\(parts[0])'; valid headers: \(layout.headers.map(\.name).joined(separator: ", "))")
            }
            let want = norm(parts[1])
            let exact = h.type.fields.filter { norm($0.name) == want }
            let candidates = exact.isEmpty ? h.type.fields.filter { norm($0.name).hasPrefix(want) } : exact
            guard candidates.count == 1, let fd = candidates.first else {
                let names = h.type.fields.map(\.name).joined(separator: ", ")
                throw fail(o, candidates.isEmpty ? "header \(h.name) has no field '\(parts[1])'; valid: \(names)"
                                                 : "'\(parts[1])' could be any of \(candidates.map(\.name).joined(separator: ", ")) in \(h.name); write more of the name")
            }
            guard fd.width <= 128 else { throw fail(o, "field too wide") }
            return .field(valid: h.validIndex, byte: h.offset, bit: h.type.bitOffset(of: fd.name)!, width: fd.width)
        }
        func bind(_ n: TraceFilter.Node) throws(TraceFilterError) -> Node {
            switch n {
            case .and(let a, let b): return .and(try bind(a), try bind(b))
            case .or(let a, let b): return .or(try bind(a), try bind(b))
            case .not(let a): return .not(try bind(a))
            case .compare(let o, let c, let v): return .compare(try read(o), c, v)
            case .valid(let o):
                guard let h = header(o, o.name) else {
                    throw fail(o, "'\(o.name)' alone tests a header's validity, and there is no header '\(o.name)'; valid headers: \(layout.headers.map(\.name).joined(separator: ", ")); or compare a field, e.g. \(o.name) == 1")
                }
                return .valid(h.validIndex)
            }
        }
        root = try bind(f.root)
    }

    func matches(_ c: ExecContext) -> Bool { eval(root, c) }

    private func eval(_ n: Node, _ c: ExecContext) -> Bool {
        switch n {
        case .and(let a, let b): return eval(a, c) && eval(b, c)
        case .or(let a, let b): return eval(a, c) || eval(b, c)
        case .not(let a): return !eval(a, c)
        case .valid(let v): return c.valid[v] != 0
        case .compare(let r, let cmp, let want):
            let have: UInt128
            switch r {
            case .slot(let s, _): have = UInt128(c.slots[s])
            case .field(let v, let byte, let bit, let width):
                guard c.valid[v] != 0 else { return false }
                have = Bits.load128(c.hdr + byte, bitOffset: bit, width: width)
            }
            switch cmp {
            case .eq: return have == want
            case .ne: return have != want
            case .lt: return have < want
            case .le: return have <= want
            case .gt: return have > want
            case .ge: return have >= want
            }
        }
    }
}

/// `ingressPort` -> `ingress_port`.
func snake(_ s: String) -> String {
    var out = ""
    for ch in s {
        if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
    }
    return out
}

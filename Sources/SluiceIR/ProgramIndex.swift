/// Name lookups over a program, built once. Used by the verifier and by backends while they
/// compile, never per packet.
public struct ProgramIndex: Sendable {
    public let program: Program
    public let headerTypes: [String: HeaderType]
    public let headers: [String: HeaderInstance]
    public let metadata: [String: FieldDecl]
    public let actions: [String: Action]
    public let tables: [String: Table]
    public let registers: [String: Register]
    public let counters: [String: Counter]
    public let meters: [String: Meter]
    public let digests: [String: Digest]
    /// Standard errors first, then the program's own; the index is the `parserError` value.
    public let errorCodes: [String: Int]

    public init(_ p: Program) {
        program = p
        func dict<T>(_ xs: [T], _ key: (T) -> String) -> [String: T] {
            var d: [String: T] = [:]
            for x in xs where d[key(x)] == nil { d[key(x)] = x }
            return d
        }
        headerTypes = dict(p.headerTypes) { $0.name }
        headers = dict(p.headers) { $0.name }
        metadata = dict(p.metadata) { $0.name }
        actions = dict(p.actions) { $0.name }
        tables = dict(p.tables) { $0.name }
        registers = dict(p.registers) { $0.name }
        counters = dict(p.counters) { $0.name }
        meters = dict(p.meters) { $0.name }
        digests = dict(p.digests) { $0.name }
        var codes: [String: Int] = [:]
        for (i, e) in StandardError.allCases.enumerated() { codes[e.rawValue] = i }
        for e in p.errors where codes[e] == nil { codes[e] = codes.count }
        errorCodes = codes
    }

    public func type(ofHeader h: String) -> HeaderType? {
        headers[h].flatMap { headerTypes[$0.type] }
    }

    /// The declaration of a field reference, or `nil` when it names nothing.
    public func decl(of ref: FieldRef) -> FieldDecl? {
        switch ref {
        case .header(let h, let f, _): type(ofHeader: h)?.field(named: f)
        case .meta(let m): metadata[m]
        case .standard(let s): FieldDecl(s.rawValue, s.width)
        }
    }

    /// The width of an expression, inferring constants from context; `nil` when some part is
    /// undefined or a constant has nothing to take its width from. `params` are the enclosing
    /// action's parameters.
    public func width(of e: Expr, params: [FieldDecl] = [], registerWidth: Int? = nil, expected: Int? = nil) -> Int? {
        switch e {
        case .const(_, let w): return w ?? expected
        case .field(let r): return decl(of: r)?.width
        case .param(let n): return params.first { $0.name == n }?.width
        case .unary(let op, let a):
            if op == .logicalNot { return 1 }
            return width(of: a, params: params, registerWidth: registerWidth, expected: expected)
        case .binary(let op, let a, let b), .signed(let op, let a, let b):
            if op.isComparison || op.isLogical { return 1 }
            if op.isShift { return width(of: a, params: params, registerWidth: registerWidth, expected: expected) }
            let wa = width(of: a, params: params, registerWidth: registerWidth, expected: nil)
            let wb = width(of: b, params: params, registerWidth: registerWidth, expected: nil)
            return wa ?? wb ?? expected
        case .slice(_, let hi, let lo):
            // Nonsense bounds (checked by the verifier) must not trap here.
            let (d, overflow) = hi.subtractingReportingOverflow(lo)
            return overflow || d == .max ? nil : d + 1
        case .concat(let a, let b):
            guard let wa = width(of: a, params: params, registerWidth: registerWidth),
                  let wb = width(of: b, params: params, registerWidth: registerWidth) else { return nil }
            let (sum, overflow) = wa.addingReportingOverflow(wb)
            return overflow ? nil : sum
        case .cast(_, let w, _), .optional(_, let w): return w
        case .isValid: return 1
        case .mux(_, let a, let b):
            return width(of: a, params: params, registerWidth: registerWidth, expected: nil)
                ?? width(of: b, params: params, registerWidth: registerWidth, expected: nil) ?? expected
        case .hash(_, _, let w, _, _): return w
        case .random(_, _, let w): return w
        case .lookahead(let w): return w
        case .registerOld: return registerWidth
        }
    }

    /// Whether a field reference's declaration is signed.
    public func isSigned(_ e: Expr, params: [FieldDecl] = []) -> Bool {
        switch e {
        case .field(let r): decl(of: r)?.signed ?? false
        case .param(let n): params.first { $0.name == n }?.signed ?? false
        case .binary(let op, let a, let b) where !op.isComparison && !op.isLogical:
            isSigned(a, params: params) || isSigned(b, params: params)
        case .unary(let op, let a) where op != .logicalNot: isSigned(a, params: params)
        case .cast(_, _, let se): se
        default: false
        }
    }
}

/// Where a value lives.
public enum FieldRef: Hashable, Sendable, Codable {
    /// `hdr.<header>.<field>`; for a stack element, `index` selects it.
    case header(String, field: String, index: StackIndex? = nil)
    /// `meta.<field>`
    case meta(String)
    /// `standard.<field>`
    case standard(StandardField)
}

/// Which element of a header stack.
public enum StackIndex: Hashable, Sendable, Codable {
    /// A constant element index.
    case at(Int)
    /// The last element extracted or pushed (`stack.last`).
    case last
    /// The element the parser will extract next (`stack.next`), only in the parser.
    case next
}

/// Standard metadata every backend provides (v1model-like). Traffic-manager values may be
/// unsupported by a backend: the program learns that at compile time.
public enum StandardField: String, CaseIterable, Hashable, Sendable, Codable {
    case ingressPort, egressSpec, egressPort, drop, mcastGrp, egressRid, packetLength
    case ingressTimestamp, enqTimestamp, enqQdepth, deqTimedelta, deqQdepth
    case parserError, checksumError, instanceType, passCount
    /// Bytes in the switch's buffer (all its queues) when the packet leaves its queue.
    case deqBufferDepth

    public var width: Int {
        switch self {
        case .ingressPort, .egressSpec, .egressPort: 9
        case .drop, .checksumError: 1
        case .mcastGrp, .egressRid, .parserError: 16
        case .packetLength, .enqTimestamp, .deqTimedelta: 32
        case .ingressTimestamp: 48
        case .enqQdepth, .deqQdepth: 19
        case .instanceType, .passCount: 8
        case .deqBufferDepth: 32
        }
    }
    /// Values only a traffic manager with queues can provide.
    public var needsQueues: Bool {
        switch self {
        case .enqTimestamp, .enqQdepth, .deqTimedelta, .deqQdepth, .deqBufferDepth: true
        default: false
        }
    }
    /// Set by the target, not by the program.
    public var isReadOnly: Bool {
        switch self {
        case .ingressPort, .egressPort, .egressRid, .packetLength, .ingressTimestamp, .enqTimestamp,
             .enqQdepth, .deqTimedelta, .deqQdepth, .parserError, .instanceType, .passCount, .deqBufferDepth: true
        default: false
        }
    }
}

/// Values of `standard.instanceType`.
public enum InstanceType: UInt64, Sendable {
    case normal = 0, resubmit = 1, recirculate = 2, replica = 3
}

/// Values of `standard.parserError`: the standard errors, then the program's own, in order.
public enum StandardError: String, CaseIterable, Sendable {
    case noError = "NoError", packetTooShort = "PacketTooShort", noMatch = "NoMatch"
    case stackOutOfBounds = "StackOutOfBounds", headerTooShort = "HeaderTooShort"
    case parserTimeout = "ParserTimeout", parserInvalidArgument = "ParserInvalidArgument"
}

public enum UnaryOp: String, Hashable, Sendable, Codable, CaseIterable {
    /// bitwise not within the width
    case bitNot = "~"
    /// two's complement negation within the width
    case negate = "-"
    /// logical not (1-bit)
    case logicalNot = "!"
}

public enum BinaryOp: String, Hashable, Sendable, Codable, CaseIterable {
    case add = "+", sub = "-", mul = "*"
    /// Saturating add and subtract (unsigned, or signed for signed operands).
    case addSat = "|+|", subSat = "|-|"
    case bitAnd = "&", bitOr = "|", bitXor = "^"
    case shl = "<<", shr = ">>"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case logicalAnd = "&&", logicalOr = "||"

    public var isComparison: Bool {
        switch self { case .eq, .ne, .lt, .le, .gt, .ge: true; default: false }
    }
    public var isLogical: Bool { self == .logicalAnd || self == .logicalOr }
    public var isShift: Bool { self == .shl || self == .shr }
}

public enum HashAlgorithm: String, Hashable, Sendable, Codable, CaseIterable {
    /// CRC-16/ARC: poly 0x8005 reflected, init 0, xorout 0 (BMv2's `crc16`).
    case crc16
    /// CRC-32/ISO-HDLC: poly 0x04C11DB7 reflected, init and xorout 0xFFFFFFFF (BMv2's `crc32`).
    case crc32
    /// The concatenated input itself, truncated to the output width.
    case identity
}

/// An expression. Arithmetic is fixed-width: results wrap around modulo 2^width; the width of
/// a binary operation is the width of its operands (which must agree; constants adapt).
/// Comparisons and logic produce 1 bit.
public indirect enum Expr: Hashable, Sendable, Codable {
    /// A constant of the given width; `nil` width takes the width its context asks for.
    case const(UInt128, width: Int?)
    case field(FieldRef)
    /// An action parameter, by name (only inside actions).
    case param(String)
    case unary(UnaryOp, Expr)
    case binary(BinaryOp, Expr, Expr)
    /// Signed comparison or arithmetic shift, whatever the operands' declared signedness.
    case signed(BinaryOp, Expr, Expr)
    /// Bits `hi...lo` (inclusive) of a value; width `hi - lo + 1`.
    case slice(Expr, hi: Int, lo: Int)
    /// `a ++ b`: `a` in the high bits.
    case concat(Expr, Expr)
    /// Truncate or zero-extend (sign-extend when `signExtend`) to `width` bits.
    case cast(Expr, width: Int, signExtend: Bool = false)
    /// 1 when the header (or stack element) is valid.
    case isValid(String, index: StackIndex? = nil)
    /// `cond ? a : b`
    case mux(Expr, Expr, Expr)
    /// `base + hash(inputs) % modulo` (`modulo == 0`: no reduction), `width` bits wide.
    case hash(HashAlgorithm, [Expr], width: Int, base: UInt64 = 0, modulo: UInt64 = 0)
    /// A pseudo-random number in `lo...hi`, from the target's seeded generator.
    case random(lo: UInt64, hi: UInt64, width: Int)
    /// Bits at the parser's cursor, not consumed (only in parser select keys and statements).
    case lookahead(width: Int)
    /// The register's current value inside a `registerAction` update expression.
    case registerOld
    /// A value the target may not be able to observe (traffic-manager values at XDP, or in the
    /// software runtime without queues): `value` truncated or zero-extended to `width` bits where
    /// the target provides every traffic-manager field it reads, and all ones of `width` bits
    /// where it does not (INT's rule for what a hop cannot provide). Reading such a field
    /// outside `optional` is a compile error on those targets.
    case optional(Expr, width: Int)
}

extension Expr {
    /// A constant that takes the width its context asks for.
    public static func int(_ v: UInt128) -> Expr { .const(v, width: nil) }
    public static func bits(_ v: UInt128, _ width: Int) -> Expr { .const(v, width: width) }
}

extension Expr {
    /// Whether the expression reads a value only a traffic manager with queues provides.
    public var readsQueueValues: Bool { readsQueueValues(inOptional: true) }

    /// Whether the expression reads a value only a traffic manager with queues provides,
    /// counting those read inside `optional` (which stands for all ones where there is none)
    /// only when `inOptional`.
    public func readsQueueValues(inOptional: Bool) -> Bool {
        func go(_ e: Expr) -> Bool { e.readsQueueValues(inOptional: inOptional) }
        return switch self {
        case .field(.standard(let f)): f.needsQueues
        case .optional(let a, _): inOptional && go(a)
        case .unary(_, let a), .slice(let a, _, _), .cast(let a, _, _): go(a)
        case .binary(_, let a, let b), .signed(_, let a, let b), .concat(let a, let b): go(a) || go(b)
        case .mux(let x, let a, let b): go(x) || go(a) || go(b)
        case .hash(_, let xs, _, _, _): xs.contains(where: go)
        case .const, .field, .param, .isValid, .random, .lookahead, .registerOld: false
        }
    }
}

extension FieldRef {
    /// What the DSL puts where a field is required but was given something that is not one
    /// (`what`: the expression, when known). The verifier reports it as such (undefined-reference).
    public static func notAssignable(_ what: String? = nil) -> FieldRef {
        .meta(what.map { "<not assignable: \($0)>" } ?? "<not assignable>")
    }

    /// For a `notAssignable` place, the expression it was made from ("a value" when unknown);
    /// nil for a real field.
    public var notAssignableExpression: String? {
        guard case .meta(let m) = self, m.hasPrefix("<not assignable") else { return nil }
        let prefix = "<not assignable: "
        return m.hasPrefix(prefix) ? String(m.dropFirst(prefix.count).dropLast()) : "a value"
    }
}

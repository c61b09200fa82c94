import SluiceIR

/// A DSL expression: a thin typed wrapper over an IR expression. Field references are also
/// assignable places (`ref`).
public struct Value: ExpressibleByIntegerLiteral, Sendable {
    public let ir: Expr
    /// Set when the value names a place that can be assigned.
    public let ref: FieldRef?

    public init(_ ir: Expr) { self.ir = ir; ref = nil }
    public init(ref: FieldRef) { ir = .field(ref); self.ref = ref }
    public init(integerLiteral v: UInt64) { ir = .const(UInt128(v), width: nil); ref = nil }
    /// A constant that takes the width its context asks for (up to 128 bits).
    public init(_ v: UInt128) { ir = .const(v, width: nil); ref = nil }
    /// A constant of an explicit width.
    public static func bits(_ v: UInt128, _ width: Int) -> Value { Value(.const(v, width: width)) }

    /// Bits `hi...lo` (inclusive): `hdr.ipv4.dstAddr[31, 24]`.
    public subscript(hi: Int, lo: Int) -> Value { Value(.slice(ir, hi: hi, lo: lo)) }
    /// Truncate or zero-extend to `width` bits.
    public func cast(_ width: Int) -> Value { Value(.cast(ir, width: width)) }
    /// Truncate or sign-extend to `width` bits.
    public func signExtend(_ width: Int) -> Value { Value(.cast(ir, width: width, signExtend: true)) }
}

infix operator ++ : AdditionPrecedence
infix operator |+| : AdditionPrecedence
infix operator |-| : AdditionPrecedence

extension Value {
    static func bin(_ op: BinaryOp, _ a: Value, _ b: Value) -> Value { Value(.binary(op, a.ir, b.ir)) }
    public static func + (a: Value, b: Value) -> Value { bin(.add, a, b) }
    public static func - (a: Value, b: Value) -> Value { bin(.sub, a, b) }
    public static func * (a: Value, b: Value) -> Value { bin(.mul, a, b) }
    public static func |+| (a: Value, b: Value) -> Value { bin(.addSat, a, b) }
    public static func |-| (a: Value, b: Value) -> Value { bin(.subSat, a, b) }
    public static func & (a: Value, b: Value) -> Value { bin(.bitAnd, a, b) }
    public static func | (a: Value, b: Value) -> Value { bin(.bitOr, a, b) }
    public static func ^ (a: Value, b: Value) -> Value { bin(.bitXor, a, b) }
    public static func << (a: Value, b: Value) -> Value { bin(.shl, a, b) }
    public static func >> (a: Value, b: Value) -> Value { bin(.shr, a, b) }
    public static func == (a: Value, b: Value) -> Value { bin(.eq, a, b) }
    public static func != (a: Value, b: Value) -> Value { bin(.ne, a, b) }
    public static func < (a: Value, b: Value) -> Value { bin(.lt, a, b) }
    public static func <= (a: Value, b: Value) -> Value { bin(.le, a, b) }
    public static func > (a: Value, b: Value) -> Value { bin(.gt, a, b) }
    public static func >= (a: Value, b: Value) -> Value { bin(.ge, a, b) }
    public static func && (a: Value, b: Value) -> Value { bin(.logicalAnd, a, b) }
    public static func || (a: Value, b: Value) -> Value { bin(.logicalOr, a, b) }
    public static prefix func ! (a: Value) -> Value { Value(.unary(.logicalNot, a.ir)) }
    public static prefix func ~ (a: Value) -> Value { Value(.unary(.bitNot, a.ir)) }
    public static prefix func - (a: Value) -> Value { Value(.unary(.negate, a.ir)) }
    /// Concatenation: `a ++ b` puts `a` in the high bits.
    public static func ++ (a: Value, b: Value) -> Value { Value(.concat(a.ir, b.ir)) }
}

/// Signed comparisons and arithmetic shift, whatever the operands' declared signedness.
public enum Signed {
    public static func lt(_ a: Value, _ b: Value) -> Value { Value(.signed(.lt, a.ir, b.ir)) }
    public static func le(_ a: Value, _ b: Value) -> Value { Value(.signed(.le, a.ir, b.ir)) }
    public static func gt(_ a: Value, _ b: Value) -> Value { Value(.signed(.gt, a.ir, b.ir)) }
    public static func ge(_ a: Value, _ b: Value) -> Value { Value(.signed(.ge, a.ir, b.ir)) }
    public static func shr(_ a: Value, _ b: Value) -> Value { Value(.signed(.shr, a.ir, b.ir)) }
}

/// `condition ? a : b`
public func mux(_ condition: Value, _ a: Value, _ b: Value) -> Value { Value(.mux(condition.ir, a.ir, b.ir)) }

/// `base + hash(inputs) % modulo` as a `width`-bit value (`modulo` 0: no reduction).
public func hash(_ algorithm: HashAlgorithm, _ inputs: [Value], width: Int, base: UInt64 = 0, modulo: UInt64 = 0) -> Value {
    Value(.hash(algorithm, inputs.map(\.ir), width: width, base: base, modulo: modulo))
}

/// `value` as `width` bits where the target observes every traffic-manager value it reads, all
/// ones of `width` bits where it does not (XDP, the runtime without queues): INT's "a value a
/// hop cannot provide". `optional(standard.enqQdepth, width: 24)`.
public func optional(_ value: Value, width: Int) -> Value { Value(.optional(value.ir, width: width)) }

/// A pseudo-random `width`-bit value in `lo...hi` from the target's seeded generator.
public func random(_ lo: UInt64, _ hi: UInt64, width: Int) -> Value { Value(.random(lo: lo, hi: hi, width: width)) }

/// The next `width` bits at the parser's cursor, without consuming them.
public func lookahead(_ width: Int) -> Value { Value(.lookahead(width: width)) }

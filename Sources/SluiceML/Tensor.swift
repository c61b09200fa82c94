import SluiceEmulator

/// An element type allreduce sums: int32 (wrap-around, bit-exact in any order) or float32
/// (rounded, so the order of additions shows in the last bits).
public protocol AllReduceScalar: Sendable, Equatable {
    static var zero: Self { get }
    /// The sum the collectives compute: `&+` for Int32, `+` for Float.
    static func sum(_ a: Self, _ b: Self) -> Self
    static var typeName: String { get }
    /// `dst[i] = sum(dst[i], src[i])`: one call per message, the loop specialized per type
    /// (generic code that reaches it through an existential would otherwise run unspecialized).
    static func accumulate(_ dst: UnsafeMutableBufferPointer<Self>, _ src: UnsafeBufferPointer<Self>)
}

extension Int32: AllReduceScalar {
    @inline(__always) public static func sum(_ a: Int32, _ b: Int32) -> Int32 { a &+ b }
    public static var typeName: String { "int32" }
    public static func accumulate(_ dst: UnsafeMutableBufferPointer<Int32>, _ src: UnsafeBufferPointer<Int32>) {
        for i in 0..<Swift.min(dst.count, src.count) { dst[i] = dst[i] &+ src[i] }
    }
}

extension Float: AllReduceScalar {
    @inline(__always) public static func sum(_ a: Float, _ b: Float) -> Float { a + b }
    public static var typeName: String { "float32" }
    public static func accumulate(_ dst: UnsafeMutableBufferPointer<Float>, _ src: UnsafeBufferPointer<Float>) {
        for i in 0..<Swift.min(dst.count, src.count) { dst[i] = dst[i] + src[i] }
    }
}

/// One worker's tensor, reduced in place: a class so that applications on emulated hosts
/// share it by reference and no copy of 100 MB is made per step.
public final class TensorBuffer<T: AllReduceScalar> {
    @exclusivity(unchecked) public var values: [T]
    /// Ranges lent to messages not yet taken (`lend`, `willWrite`); nil until the first.
    var lending: Lending<T>? = nil
    public init(_ values: [T]) { self.values = values }
    public init(count: Int) { values = Array(repeating: .zero, count: count) }
    public var count: Int { values.count }
    /// Bytes on the wire per element (both types are 4 bytes).
    public static var elementBytes: Int { 4 }
}

/// When each participant of a collective finished, in picoseconds of virtual time.
public struct CollectiveOutcome: Sendable {
    /// Per worker: when its result was complete (nil: not finished when the run stopped).
    public var finished: [Int64?]
    public init(workers: Int) { finished = Array(repeating: nil, count: workers) }
    public var complete: Bool { finished.allSatisfy { $0 != nil } }
    /// The collective's completion time: when the last worker finished.
    public var time: Int64? { complete ? finished.map { $0! }.max() : nil }
}

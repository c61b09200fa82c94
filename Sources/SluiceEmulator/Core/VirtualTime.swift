/// A point or span of virtual time: picoseconds in one `Int64`, with `Int64.max` meaning
/// "never". Conversions to and from other units are named here, so the event loop and the
/// links never divide by 1000 themselves. A zero-cost wrapper: 8 bytes (a test asserts it),
/// every member inlinable.
///
/// A time computed as now plus a delay (`after`) saturates at `never` instead of trapping: a
/// transport that retransmits into an unreachable network for months of virtual time, a rate
/// of 1 bps or a huge timer must end the run (`Emulator.run` never processes an event at
/// `never`), not crash it. The emulator's public API (`Emulator.now`, `HostAPI.setTimer`,
/// options) speaks picoseconds as `Int64`; `VirtualTime(picoseconds:)` and `.picoseconds`
/// cross that boundary.
@frozen public struct VirtualTime: Comparable, Hashable, Sendable {
    public var picoseconds: Int64

    @inlinable @inline(__always)
    public init(picoseconds: Int64) { self.picoseconds = picoseconds }

    public static let zero = VirtualTime(picoseconds: 0)
    /// The time no event is processed at.
    public static let never = VirtualTime(picoseconds: .max)

    public static let picosecondsPerNanosecond: Int64 = 1_000
    public static let picosecondsPerMicrosecond: Int64 = 1_000_000
    public static let picosecondsPerSecond: Int64 = 1_000_000_000_000

    @inlinable @inline(__always)
    public static func nanoseconds(_ n: Int64) -> VirtualTime { VirtualTime(picoseconds: n * picosecondsPerNanosecond) }
    @inlinable @inline(__always)
    public static func microseconds(_ n: Int64) -> VirtualTime { VirtualTime(picoseconds: n * picosecondsPerMicrosecond) }
    @inlinable @inline(__always)
    public static func seconds(_ n: Int64) -> VirtualTime { VirtualTime(picoseconds: n * picosecondsPerSecond) }

    /// Whole nanoseconds, rounded toward zero (the unit of the programs' timestamps).
    @inlinable @inline(__always)
    public var nanoseconds: Int64 { picoseconds / Self.picosecondsPerNanosecond }
    @inlinable
    public var seconds: Double { Double(picoseconds) / Double(Self.picosecondsPerSecond) }

    /// `self + delay`, or `never` when that does not fit (a negative delay counts as 0).
    @inlinable @inline(__always)
    public func after(_ delay: VirtualTime) -> VirtualTime {
        let (sum, overflow) = picoseconds.addingReportingOverflow(max(delay.picoseconds, 0))
        return overflow ? .never : VirtualTime(picoseconds: sum)
    }

    /// `after` for times kept as picoseconds in `Int64` (the public API's unit).
    @inlinable @inline(__always)
    public static func after(_ time: Int64, _ delay: Int64) -> Int64 {
        VirtualTime(picoseconds: time).after(VirtualTime(picoseconds: delay)).picoseconds
    }

    /// Time to serialize `bytes` at `rate` bits per second, rounded up. Frame-sized: the bits
    /// times 10^12 must fit 64 bits (about 2.3 MB).
    @inlinable @inline(__always)
    public static func serialization(bytes: Int, rate: UInt64) -> VirtualTime {
        let bits = UInt64(bytes) &* 8 &* UInt64(picosecondsPerSecond)
        return VirtualTime(picoseconds: Int64((bits + rate - 1) / rate))
    }

    /// Time to send `bits` at `rate` bits per second, rounded up, in full width (any number of
    /// bits); `never` when it does not fit.
    @inlinable
    public static func transmission(bits: UInt64, rate: UInt64) -> VirtualTime {
        let (hi, lo) = bits.multipliedFullWidth(by: UInt64(picosecondsPerSecond))
        guard hi < rate else { return .never }   // the quotient would not fit 64 bits
        let (q, r) = rate.dividingFullWidth((hi, lo))
        return q >= UInt64(Int64.max) ? .never : VirtualTime(picoseconds: Int64(q) + (r > 0 ? 1 : 0))
    }

    /// Whole bytes a link at `rate` bits per second sends in this (non-negative) span.
    @inlinable
    public func bytes(atRate rate: UInt64) -> UInt64 {
        UInt64((UInt128(UInt64(picoseconds)) * UInt128(rate)) / (8 * UInt128(Self.picosecondsPerSecond)))
    }

    @inlinable @inline(__always)
    public static func < (a: VirtualTime, b: VirtualTime) -> Bool { a.picoseconds < b.picoseconds }
    @inlinable @inline(__always)
    public static func + (a: VirtualTime, b: VirtualTime) -> VirtualTime { VirtualTime(picoseconds: a.picoseconds + b.picoseconds) }
    @inlinable @inline(__always)
    public static func - (a: VirtualTime, b: VirtualTime) -> VirtualTime { VirtualTime(picoseconds: a.picoseconds - b.picoseconds) }
    @inlinable @inline(__always)
    public static func * (n: Int64, t: VirtualTime) -> VirtualTime { VirtualTime(picoseconds: n * t.picoseconds) }
    @inlinable @inline(__always)
    public static func / (t: VirtualTime, n: Int64) -> VirtualTime { VirtualTime(picoseconds: t.picoseconds / n) }
}

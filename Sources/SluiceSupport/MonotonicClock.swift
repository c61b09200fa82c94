#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one wall clock for measuring and pacing: CLOCK_MONOTONIC, which no time adjustment moves.
/// Virtual time is the emulator's own; this is for what happens on the machine (benchmarks, the
/// sender's deadlines, the aggregators' idle timers, run summaries).
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point.
    @inlinable @inline(__always)
    public static var nanoseconds: Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }

    /// Seconds from `start` (a `nanoseconds` reading) to now.
    @inlinable
    public static func seconds(since start: Int64) -> Double { Double(nanoseconds - start) / 1e9 }
}

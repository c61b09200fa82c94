import SluiceSupport
import SluicePcapFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How `Sender` spaces packets, as tcpreplay's options do.
public enum SendPacing: Equatable, Sendable, CustomStringConvertible {
    /// The file's own gaps, divided by the multiplier (2: twice as fast).
    case original(multiplier: Double)
    /// As fast as the interface takes them.
    case topspeed
    case packetsPerSecond(Double)
    case megabitsPerSecond(Double)

    public var description: String {
        switch self {
        case .original(let m): return m == 1 ? "original timing" : "original timing x\(m)"
        case .topspeed: return "top speed"
        case .packetsPerSecond(let r): return "\(r) packets/s"
        case .megabitsPerSecond(let r): return "\(r) Mbps"
        }
    }
}

/// What a send did.
public struct SendReport: Equatable, Sendable {
    public var packets = 0
    public var bytes = 0
    /// From the first send to the last, in nanoseconds.
    public var elapsedNanoseconds: Int64 = 0
    /// Packets the kernel refused (after retries), and the first refusal's message.
    public var failures = 0
    public var firstFailure: String?
    /// Sends retried because the interface's queue was full (ENOBUFS, EAGAIN).
    public var retries = 0
    /// Passes over the file that ran to their end.
    public var loopsCompleted = 0
    /// The signal that stopped the send early, if one did.
    public var stoppedBySignal: Int32?

    public init() {}

    public var seconds: Double { Double(elapsedNanoseconds) / 1e9 }
    public var packetsPerSecond: Double { elapsedNanoseconds > 0 ? Double(packets) / seconds : 0 }
    public var megabitsPerSecond: Double { elapsedNanoseconds > 0 ? Double(bytes) * 8 / seconds / 1e6 : 0 }
}

/// Sends the packets of a `PacketTrace` through an `Injector`, at top speed or to absolute
/// deadlines (each packet's deadline is computed from the start, never by adding sleeps, so
/// errors do not accumulate): sleeps until shortly before a deadline, then spins to it. The
/// top-speed loop only injects, up to `Injector.batchLimit` frames a system call
/// (`sendmmsg`): no clock reads, no allocation.
public enum Sender {
    /// Sleep only when a deadline is further away than this; spin the rest.
    static let spinNanoseconds: Int64 = 100_000
    /// Attempts per packet while the interface's queue is full.
    static let maxAttempts = 100_000

    /// Sends `loops` passes over `trace`. Stops early when `StopSignal` reports a signal (install
    /// it first). `progress` is called about every 0.5 s with the report so far.
    public static func send(_ trace: PacketTrace, through injector: Injector, pacing: SendPacing, loops: Int = 1,
                            progress: ((SendReport) -> Void)? = nil) -> SendReport {
        var report = SendReport()
        let n = trace.count
        guard n > 0, loops > 0, trace.totalBytes > 0 else { return report }
        let t0 = trace.timestamps[0]
        let multiplier: Double
        if case .original(let m) = pacing { multiplier = m } else { multiplier = 1 }
        let start = MonotonicClock.nanoseconds
        var nextProgress = start + 500_000_000
        var scheduledSoFar: Int64 = 0       // pps and Mbps pacing continue across loops
        var bitsSoFar: Double = 0
        /// Every 16,384 packets: the progress report, at most every 0.5 s.
        func tick() {
            guard let progress else { return }
            let now = MonotonicClock.nanoseconds
            if now >= nextProgress {
                nextProgress = now + 500_000_000
                report.elapsedNanoseconds = now - start
                progress(report)
            }
        }
        trace.bytes.withUnsafeBytes { arena in
            trace.offsets.withUnsafeBufferPointer { offsets in
                trace.lengths.withUnsafeBufferPointer { lengths in
                    trace.timestamps.withUnsafeBufferPointer { stamps in
                        let base = arena.baseAddress!
                        loop: for _ in 0..<loops {
                            if case .topspeed = pacing {
                                // Top speed: up to `Injector.batchLimit` frames a system call.
                                var i = 0
                                var attempts = 0
                                while i < n {
                                    if StopSignal.requested != nil { break loop }
                                    let k = min(Injector.batchLimit, n - i)
                                    let (sent, e) = injector.injectBatch(count: k) { j in (base + offsets[i + j], lengths[i + j]) }
                                    for j in 0..<sent { report.bytes += lengths[i + j] }
                                    report.packets += sent
                                    if sent > 0 { attempts = 0 }
                                    let before = i
                                    i += sent
                                    if sent < k {
                                        if (e == ENOBUFS || e == EAGAIN) && attempts < maxAttempts {
                                            report.retries += 1
                                            attempts += 1
                                            if attempts & 63 == 0 { sched_yield() }
                                        } else {
                                            report.failures += 1
                                            if report.firstFailure == nil {
                                                report.firstFailure = "packet \(i + 1): \(String(cString: strerror(e)))"
                                            }
                                            i += 1
                                            attempts = 0
                                        }
                                    }
                                    if before >> 14 != i >> 14 { tick() }
                                }
                                report.loopsCompleted += 1
                                continue loop
                            }
                            let loopStart = MonotonicClock.nanoseconds
                            for i in 0..<n {
                                if StopSignal.requested != nil { break loop }
                                let length = lengths[i]
                                switch pacing {
                                case .topspeed:
                                    break
                                case .original:
                                    let gap = stamps[i] &- t0
                                    if gap > 0 { wait(until: deadline(loopStart, Double(gap) / multiplier)) }
                                case .packetsPerSecond(let rate):
                                    wait(until: deadline(start, Double(scheduledSoFar) * 1e9 / rate))
                                case .megabitsPerSecond(let rate):
                                    wait(until: deadline(start, bitsSoFar * 1e3 / rate))
                                }
                                if StopSignal.requested != nil { break loop }
                                var e = injector.inject(base + offsets[i], count: length)
                                var attempts = 1
                                while (e == ENOBUFS || e == EAGAIN) && attempts < maxAttempts {
                                    report.retries += 1
                                    attempts += 1
                                    if attempts & 63 == 0 { sched_yield() }
                                    e = injector.inject(base + offsets[i], count: length)
                                }
                                if e == 0 {
                                    report.packets += 1
                                    report.bytes += length
                                } else {
                                    report.failures += 1
                                    if report.firstFailure == nil {
                                        report.firstFailure = "packet \(i + 1): \(injector.lastError) (\(String(cString: strerror(e))))"
                                    }
                                }
                                scheduledSoFar += 1
                                bitsSoFar += Double(length * 8)
                                if i & 0x3fff == 0 { tick() }
                            }
                            report.loopsCompleted += 1
                        }
                    }
                }
            }
        }
        report.elapsedNanoseconds = MonotonicClock.nanoseconds - start
        report.stoppedBySignal = StopSignal.requested
        return report
    }

    /// `base` plus `nanoseconds`, saturating at `Int64.max` (never) instead of trapping: a
    /// slow rate over a long send, or a capture's gap of years, goes beyond 64 bits.
    @inline(__always)
    static func deadline(_ base: Int64, _ nanoseconds: Double) -> Int64 {
        guard nanoseconds < Double(Int64.max) else { return .max }   // also NaN
        let (sum, overflow) = base.addingReportingOverflow(Int64(max(nanoseconds, 0)))
        return overflow ? .max : sum
    }

    /// Sleeps until shortly before `deadline` (CLOCK_MONOTONIC nanoseconds), then spins to it.
    /// Returns early when a stop signal arrives.
    @inline(__always)
    static func wait(until deadline: Int64) {
        var now = MonotonicClock.nanoseconds
        if now >= deadline { return }
        if deadline - now > spinNanoseconds {
            let wake = deadline - spinNanoseconds / 2
            var ts = timespec(tv_sec: Int(wake / 1_000_000_000), tv_nsec: Int(wake % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {
                if StopSignal.requested != nil { return }
            }
        }
        repeat { now = MonotonicClock.nanoseconds } while now < deadline && StopSignal.requested == nil
    }
}

/// Virtual time is picoseconds in an `Int64`, and `Int64.max` means "never". A time computed as
/// now plus a delay saturates there instead of trapping: a transport that retransmits into an
/// unreachable network for months of virtual time, a rate of 1 bps or a huge timer must end the
/// run (`Emulator.run` never processes an event at `never`), not crash it.
public enum VirtualTime {
    /// The time no event is processed at.
    public static let never = Int64.max

    /// `time + delay`, or `never` when that does not fit (a negative delay counts as 0).
    @inline(__always)
    public static func after(_ time: Int64, _ delay: Int64) -> Int64 {
        let (sum, overflow) = time.addingReportingOverflow(max(delay, 0))
        return overflow ? never : sum
    }
}

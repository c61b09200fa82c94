/// Lost-report accounting for one report source (node, hardware id): the group header's 22-bit
/// sequence number counts the reports a source sent to this collector, so a gap is that many
/// lost reports. A report behind the expected number arrived late (reordered): it was counted
/// lost when the gap opened, so it is taken back off (a duplicate would be too: the header
/// cannot tell the two apart).
///
/// A jump more than `maxPlausibleGap` ahead is not believed: one forged report would otherwise
/// add up to two million lost reports. It counts as `implausible` and leaves the expected
/// number alone, so the genuine stream goes on being counted. A source that really jumped (it
/// restarted, or lost over a million reports in a row) is followed again from the second
/// report in a row after the jump; the jump itself is not counted as lost.
public struct SequenceTracker: Sendable, Equatable, Codable {
    /// The largest gap counted as lost reports: 2^20, a quarter of the sequence space.
    public static let maxPlausibleGap: UInt32 = 1 << 20

    public private(set) var received = 0
    public private(set) var lost = 0
    public private(set) var late = 0
    /// Reports whose sequence number jumped more than `maxPlausibleGap` ahead.
    public private(set) var implausible = 0
    var expected: UInt32 = 0
    /// The successor of the last implausible report's sequence number, if the one before this
    /// report was implausible.
    var afterJump: UInt32?

    public init() {}

    public mutating func record(_ sequence: UInt32) {
        let m = INTFormat.sequenceModulus
        defer { received += 1 }
        guard received > 0 else { expected = (sequence + 1) % m; return }
        let gap = (sequence &+ m &- expected) % m
        let jumped = afterJump
        afterJump = nil
        if gap > Self.maxPlausibleGap && gap < m / 2 {
            if jumped == sequence {
                // Two in a row: the source really moved on; follow it.
                expected = (sequence + 1) % m
            } else {
                implausible += 1
                afterJump = (sequence + 1) % m
            }
        } else if gap < m / 2 {
            lost += Int(gap)
            expected = (sequence + 1) % m
        } else {
            late += 1
            if lost > 0 { lost -= 1 }
        }
    }
}

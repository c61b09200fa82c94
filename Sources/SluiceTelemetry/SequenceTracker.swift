/// Lost-report accounting for one report source (node, hardware id): the group header's 22-bit
/// sequence number counts the reports a source sent to this collector, so a gap is that many
/// lost reports. A report behind the expected number arrived late (reordered): it was counted
/// lost when the gap opened, so it is taken back off (a duplicate would be too: the header
/// cannot tell the two apart).
public struct SequenceTracker: Sendable, Equatable {
    public private(set) var received = 0
    public private(set) var lost = 0
    public private(set) var late = 0
    var expected: UInt32 = 0

    public init() {}

    public mutating func record(_ sequence: UInt32) {
        let m = INTFormat.sequenceModulus
        defer { received += 1 }
        guard received > 0 else { expected = (sequence + 1) % m; return }
        let gap = (sequence &+ m &- expected) % m
        if gap < m / 2 {
            lost += Int(gap)
            expected = (sequence + 1) % m
        } else {
            late += 1
            if lost > 0 { lost -= 1 }
        }
    }
}

/// A worker's retransmission deadlines: one FIFO ring per backoff level (a packet's
/// retransmissions so far). Within a level every timeout is the same multiple of the round-trip
/// estimate, so each ring is in deadline order and a push or a pop is O(1); the earliest
/// deadline is the earliest of the levels' heads.
///
/// Entries are not removed when their packet's result arrives (that would need a search);
/// they go stale, and `dropStale` pops them from the heads before a wake-up is set, so a
/// worker wakes for the next live deadline rather than once per stale one. Per packet: no
/// allocation (the rings grow by doubling), no reference counting (raw storage).
struct RetransmissionTimers: ~Copyable {
    struct Entry {
        var deadline: Int64
        var packet: Int
        var op: UInt32
    }

    struct Ring {
        var storage: UnsafeMutablePointer<Entry>
        var mask: Int
        var head = 0
        var count = 0
    }

    static var levels: Int { 7 }
    let rings: UnsafeMutablePointer<Ring>

    init() {
        rings = .allocate(capacity: Self.levels)
        for l in 0..<Self.levels {
            (rings + l).initialize(to: Ring(storage: .allocate(capacity: 64), mask: 63))
        }
    }

    deinit {
        for l in 0..<Self.levels { rings[l].storage.deallocate() }
        rings.deallocate()
    }

    var isEmpty: Bool {
        for l in 0..<Self.levels where rings[l].count > 0 { return false }
        return true
    }

    mutating func push(level: Int, deadline: Int64, packet: Int, op: UInt32) {
        let r = rings + level
        if r.pointee.count == r.pointee.mask + 1 {
            let old = r.pointee
            let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: 2 * old.count)
            for i in 0..<old.count { bigger[i] = old.storage[(old.head + i) & old.mask] }
            old.storage.deallocate()
            r.pointee = Ring(storage: bigger, mask: 2 * old.count - 1, head: 0, count: old.count)
        }
        r.pointee.storage[(r.pointee.head + r.pointee.count) & r.pointee.mask] = Entry(deadline: deadline, packet: packet, op: op)
        r.pointee.count += 1
    }

    /// The level whose head is the earliest deadline, or -1 when every ring is empty.
    @inline(__always) func earliestLevel() -> Int {
        var best = -1
        var bestDeadline = Int64.max
        for l in 0..<Self.levels where rings[l].count > 0 {
            let d = rings[l].storage[rings[l].head].deadline
            if d < bestDeadline { best = l; bestDeadline = d }
        }
        return best
    }

    /// The earliest deadline, or nil.
    var earliestDeadline: Int64? {
        let l = earliestLevel()
        return l < 0 ? nil : rings[l].storage[rings[l].head].deadline
    }

    /// Pop every entry due at `now`, earliest first across the levels, and append the packets
    /// of the live ones to `due`.
    @inline(__always)
    mutating func popDue(now: Int64, into due: inout [Int], isLive: (Entry) -> Bool) {
        while true {
            let l = earliestLevel()
            guard l >= 0 else { return }
            let r = rings + l
            let e = r.pointee.storage[r.pointee.head]
            guard e.deadline <= now else { return }
            r.pointee.head = (r.pointee.head + 1) & r.pointee.mask
            r.pointee.count -= 1
            if isLive(e) { due.append(e.packet) }
        }
    }

    /// Pop stale entries from the heads of the rings, so that the earliest deadline is a live one.
    @inline(__always)
    mutating func dropStale(isLive: (Entry) -> Bool) {
        for l in 0..<Self.levels {
            let r = rings + l
            while r.pointee.count > 0, !isLive(r.pointee.storage[r.pointee.head]) {
                r.pointee.head = (r.pointee.head + 1) & r.pointee.mask
                r.pointee.count -= 1
            }
        }
    }
}

import SluiceRuntime
import Testing
@testable import SluiceEmulator

/// Events at the same picosecond run in an order every partitioning computes alike: by when
/// they were scheduled, then the node that caused them, then that node's own count; never by
/// the order the heap saw them in.
@Suite struct EventOrderTests {
    @Test func sameTimeEventsRunByCauseThenTheCauseOwnCount() {
        var heap = EventHeap(capacity: 2, nodes: 3)
        defer { heap.deallocate() }
        let t = VirtualTime(picoseconds: 5)
        heap.cause = 3
        heap.push(t, .udpSend, target: 30)          // node 2's first
        heap.cause = 1
        heap.push(t, .udpSend, target: 10)          // node 0's first
        heap.push(t, .udpSend, target: 11)          // node 0's second
        heap.cause = 2
        let taken = heap.nextOrder()                 // node 1's first, used later
        heap.push(t, .udpSend, target: 21)          // node 1's second
        heap.push(t, .udpSend, target: 20, scheduled: .zero, order: taken)
        heap.cause = 0
        heap.push(VirtualTime(picoseconds: 4), .udpSend, target: 0)   // earlier time first
        // Scheduled later: after every event of its time scheduled earlier, whatever its cause.
        heap.now = VirtualTime(picoseconds: 1)
        heap.push(t, .udpSend, target: 40)
        var order: [Int32] = []
        while heap.count > 0 { order.append(heap.pop().target) }
        #expect(order == [0, 10, 11, 20, 21, 30, 40])
    }

    /// A bucket's events come out in order however they were pushed: in order (flows in
    /// step, which `sortBucket` leaves as they are), in reverse, and shuffled; two events, and
    /// more than the insertion sort takes.
    @Test(arguments: [2, 5, 100])
    func aBucketSortsHoweverItsEventsCame(count: Int) {
        for pattern in ["ordered", "reversed", "shuffled"] {
            var heap = EventHeap(capacity: 2, nodes: 1)
            defer { heap.deallocate() }
            // In order of (time, cause), many at one time.
            var times = (0..<count).map { Int64($0 * 3 / count) }
            var causes = Array(0..<count)
            if pattern == "reversed" { times.reverse(); causes.reverse() }
            if pattern == "shuffled" {
                var g = SplitMix64(seed: UInt64(count))
                for i in stride(from: count - 1, to: 0, by: -1) {
                    let j = Int(g.next() % UInt64(i + 1))
                    times.swapAt(i, j); causes.swapAt(i, j)
                }
            }
            for (t, c) in zip(times, causes) {
                heap.push(VirtualTime(picoseconds: t), .udpSend, target: Int32(c),
                          scheduled: .zero, order: EventOrder.key(cause: c, sequence: 0))
            }
            var got: [Int64] = []
            while heap.count > 0 { let e = heap.pop(); got.append(e.time.picoseconds << 32 | Int64(e.target)) }
            let want = zip(times, causes).map { $0 << 32 | Int64($1) }.sorted()
            #expect(got == want, "\(pattern), \(count) events")
        }
    }

    /// The bucket at the cursor, sorted and partly taken, keeps track of its last event when
    /// one is inserted at its end, so that after an event before the cursor moves the calendar
    /// back (as a partition's window does) a push to that bucket goes after it. (With the last
    /// event forgotten, the event at 2 drops out of the list; the loop below then never ends,
    /// so it checks the first three first.)
    @Test func aSortedBucketKeepsItsLastEventAcrossAMoveBack() {
        var heap = EventHeap(capacity: 2, nodes: 1)
        defer { heap.deallocate() }
        let base: Int64 = 1 << 20
        func push(_ dt: Int64, _ target: Int32) { heap.push(VirtualTime(picoseconds: base + dt), .udpSend, target: target) }
        push(0, 0)
        push(1, 1)
        #expect(heap.pop().target == 0)
        push(2, 2)            // the sorted bucket, at its end
        push(-(1 << 16), 3)   // before the cursor: the calendar moves back
        push(3, 4)            // the old bucket again, after its last event
        let first = (0..<3).map { _ in heap.pop().target }
        #expect(first == [3, 1, 2])
        guard first == [3, 1, 2] else { return }
        #expect(heap.pop().target == 4)
        #expect(heap.count == 0)
    }

    /// The heap's branchless pick between two children orders events exactly as `<` does:
    /// every pair of a grid of times, schedule times (negative ones too, and the extremes) and
    /// order keys, ties in any field included.
    @Test func precedesIsTheEventOrder() {
        let times: [Int64] = [.min, -1, 0, 1, 5, .max - 1, .max]
        let orders: [UInt64] = [0, 1, EventOrder.key(cause: 3, sequence: 7), 1 << 63, .max]
        var events: [Event] = []
        for t in times { for s in times { for o in orders {
            var e = Event(time: VirtualTime(picoseconds: t), scheduled: VirtualTime(picoseconds: s), order: 0, kind: .arrival, target: 0, arg: 0)
            e.order = o
            events.append(e)
        } } }
        var mismatches = 0
        for a in events { for b in events where Event.precedes(a, b) != (a < b ? 1 : 0) { mismatches += 1 } }
        #expect(mismatches == 0)
        #expect(Event.precedes(events[0], events[1]) == 1)
        #expect(Event.precedes(events[1], events[0]) == 0)
    }

    /// The calendar (`EventHeap`) gives events in the binary heap's order: events taken, each
    /// followed by none, one or two pushes and now and then a cancel, with times a few
    /// picoseconds apart (many at the same one, all in one bucket), a microsecond (tens of
    /// buckets), 150 us (about twice the calendar's horizon) or 10 ms (mostly through its far
    /// heap); and with
    /// some pushed before the last event taken (as a partition's window hands events back).
    /// 40 events start the run; 200 of them at a few picoseconds put more in the first bucket
    /// than `sortBucket` sorts by insertion.
    @Test(arguments: [(50, false, 40), (50, false, 200), (1_000_000, false, 40), (150_000_000, false, 40),
                      (10_000_000_000, false, 40), (1_000_000, true, 40), (150_000_000, true, 40)])
    func theCalendarOrdersAsTheBinaryHeap(spread: Int, earlier: Bool, start: Int32) {
        var a = EventHeap(capacity: 2, nodes: 1), b = EventBinaryHeap(capacity: 2)
        defer { a.deallocate(); b.deallocate() }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func draw(_ n: UInt64) -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return (seed >> 33) % n
        }
        /// The same event into both, keyed by the calendar's cause and count.
        func push(_ t: VirtualTime, _ kind: EventKind, target: Int32) {
            let order = a.nextOrder()
            a.push(t, kind, target: target, scheduled: a.now, order: order)
            b.push(Event(time: t, scheduled: a.now, order: order, kind: kind, target: target, arg: 0))
        }
        for i in 0..<start { push(VirtualTime(picoseconds: Int64(draw(UInt64(spread)))), .udpSend, target: Int32(i)) }
        var taken: [Event] = [], popped: [Event] = []
        var pushed = start
        while let e = a.top {
            // The run loop's pop: nothing before the earliest event's time, that event at it.
            #expect(a.pop(notAfter: e.time - VirtualTime(picoseconds: 1)) == nil)
            taken.append(taken.count % 2 == 0 ? a.take() : a.pop(notAfter: e.time)!)
            popped.append(b.pop())
            a.now = e.time
            for _ in 0..<draw(3) where pushed < 3000 {
                let d = Int64(draw(UInt64(spread / 2)))
                let t = earlier && draw(10) == 0 ? VirtualTime(picoseconds: e.time.picoseconds - d) : e.time.after(VirtualTime(picoseconds: d))
                push(t, .arrival, target: pushed)
                pushed += 1
            }
            if draw(50) == 0 {
                let target = Int32(draw(UInt64(pushed)))
                #expect(a.cancel(.arrival, target: target) == b.cancel(.arrival, target: target))
            }
            #expect(a.count == b.count)
        }
        #expect(b.count == 0)
        #expect(taken.count == 3000)
        #expect(taken.map(\.time) == popped.map(\.time))
        #expect(taken.map(\.order) == popped.map(\.order))
        #expect(taken.map(\.target) == popped.map(\.target))
        if !earlier { #expect(zip(taken, taken.dropFirst()).allSatisfy { !($1 < $0) }) }
    }

    @Test func theKeyHoldsCauseSequenceAndKind() {
        let k = EventOrder.key(cause: 0xABCDEF, sequence: 0x1234_5678)
        #expect(EventOrder.cause(k) == 0xABCDEF)
        #expect(EventOrder.sequence(k) == 0x1234_5678)
        #expect(k & 0xFF == 0)
        #expect(Event(time: .zero, scheduled: .zero, order: k, kind: .arrival, target: 0, arg: 0).kind == .arrival)
    }
}

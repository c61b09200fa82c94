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

    @Test func theKeyHoldsCauseSequenceAndKind() {
        let k = EventOrder.key(cause: 0xABCDEF, sequence: 0x1234_5678)
        #expect(EventOrder.cause(k) == 0xABCDEF)
        #expect(EventOrder.sequence(k) == 0x1234_5678)
        #expect(k & 0xFF == 0)
        #expect(Event(time: .zero, scheduled: .zero, order: k, kind: .arrival, target: 0, arg: 0).kind == .arrival)
    }
}

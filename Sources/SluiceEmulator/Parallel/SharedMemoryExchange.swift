/// Partitions on threads of one process meet in memory: a partition reads the outboxes its
/// neighbours wrote in the last window while they write the other set (`PartitionSlot.parity`).
final class SharedMemoryExchange: WindowExchange {
    let partitions: [Emulator]
    let slots: [PartitionSlot]

    /// `inboxLists[parity][k]`: the outboxes to partition `k` its neighbours wrote in windows of
    /// that parity (made once: a window hands out lists, it does not build them).
    let inboxLists: [[[Outbox]]]

    init(partitions: [Emulator], slots: [PartitionSlot]) {
        self.partitions = partitions
        self.slots = slots
        inboxLists = (0..<2).map { parity in
            slots.map { me in slots.compactMap { $0.index == me.index ? nil : $0.outboxes[parity][me.index] } }
        }
    }

    var writes: Bool { true }

    func meet(window: UInt64) -> WindowMeeting {
        for s in slots { s.parity ^= 1 }
        var next = partitions.reduce(VirtualTime.never) { min($0, $1.nextEventTime) }
        for s in slots { for b in s.outboxes[s.parity ^ 1] { next = min(next, b.earliest) } }
        return WindowMeeting(next: next, busiest: slots.reduce(0) { max($0, $1.windowBusyNanoseconds) },
                             clock: partitions.reduce(.zero) { max($0, $1.clock) },
                             eventsSinceSample: zip(slots, partitions).contains { $0.eventsAtSample != $1.eventsProcessed })
    }

    func inboxes(of slot: PartitionSlot) -> [Outbox] {
        inboxLists[slot.parity ^ 1][slot.index]
    }

    func cutFrames(final: Bool) -> [(partition: Int, frames: CapturedFrames)]? {
        guard slots.contains(where: { !$0.captured.frames.isEmpty }) else { return nil }
        return slots.map { ($0.index, $0.captured) }
    }

    func gather(_ local: [PartitionResults]) -> [PartitionResults]? { local }

    func traceLines(window: UInt64, final: Bool) -> [(partition: Int, lines: [TraceLine])]? {
        slots.map { ($0.index, $0.traceLines) }
    }

    func progressFigures() -> [(busy: UInt64, events: UInt64)]? {
        zip(slots, partitions).map { ($0.busyNanoseconds, $1.eventsProcessed) }
    }
}

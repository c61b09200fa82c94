/// Partitions on threads of one process meet in memory: a partition reads the outboxes its
/// neighbours wrote in the last window while they write the other set (`PartitionSlot.parity`).
final class SharedMemoryExchange: WindowExchange {
    let partitions: [Emulator]
    let slots: [PartitionSlot]

    init(partitions: [Emulator], slots: [PartitionSlot]) {
        self.partitions = partitions
        self.slots = slots
    }

    var writes: Bool { true }

    func meet(window: UInt64) -> WindowMeeting {
        for s in slots { s.parity ^= 1 }
        var next = partitions.reduce(VirtualTime.never) { min($0, $1.nextEventTime) }
        for s in slots { for b in s.outboxes[s.parity ^ 1] { next = min(next, b.earliest) } }
        return WindowMeeting(next: next, busiest: slots.reduce(0) { max($0, $1.windowBusyNanoseconds) },
                             clock: partitions.map(\.clock).max() ?? .zero,
                             eventsSinceSample: zip(slots, partitions).contains { $0.eventsAtSample != $1.eventsProcessed })
    }

    func inboxes(of slot: PartitionSlot) -> [Outbox] {
        slots.compactMap { $0.index == slot.index ? nil : $0.outboxes[$0.parity ^ 1][slot.index] }
    }

    func cutFrames(final: Bool) -> [(partition: Int, frames: CapturedFrames)]? {
        slots.map { ($0.index, $0.captured) }
    }

    func gather(_ local: [PartitionResults]) -> [PartitionResults]? { local }

    func traceLines(window: UInt64, final: Bool) -> [(partition: Int, lines: [TraceLine])]? {
        slots.map { ($0.index, $0.traceLines) }
    }

    func progressFigures() -> [(busy: UInt64, events: UInt64)]? {
        zip(slots, partitions).map { ($0.busyNanoseconds, $1.eventsProcessed) }
    }
}

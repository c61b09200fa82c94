/// Where the partitions of a parallel run meet at a window's end: the packets one partition
/// sent across a cut reach their receivers, every partition learns when the next window
/// starts, and cut links' frames and the partitions' results reach the one place that writes
/// them. Threads meet in shared memory (`SharedMemoryExchange`), ranks under MPI by messages
/// (`MPIExchange`); the window loop (`ParallelEmulation.run`) is the same for both. Called
/// once a window, never per event.
protocol WindowExchange: AnyObject {
    /// Whether cut links' pcaps and the merged results are written here (threads: yes; MPI:
    /// rank 0).
    var writes: Bool { get }

    /// Once every local partition has run a window, and once before the first: hand what
    /// crossed a cut to its receivers; when the next window starts.
    func meet(window: UInt64) -> WindowMeeting

    /// Packets sent to `slot`'s partition in the last window, a box per sender. The caller
    /// takes them in and clears each box; called from that partition's thread.
    func inboxes(of slot: PartitionSlot) -> [Outbox]

    /// Where `writes`, every partition's cut-link frames captured so far (the local ones in
    /// their slots), when it is time to write them: each window (threads), or when many have
    /// gathered and at the end of a run (`final`, MPI); nil otherwise and elsewhere. The
    /// caller clears the local slots' frames after writing.
    func cutFrames(final: Bool) -> [(partition: Int, frames: CapturedFrames)]?

    /// Where `writes`, every partition's results (index: partition), from the local ones.
    func gather(_ local: [PartitionResults]) -> [PartitionResults]?

    /// Where `writes`, every partition's pipeline trace lines not yet merged (the local ones
    /// in their slots), when it is time to merge them: each window (threads), or every few
    /// windows and at the end of a run (`final`, MPI: batches of windows merge as the windows
    /// would, a later window's lines coming after an earlier one's); nil otherwise and
    /// elsewhere. Called by every partition at the same windows; the caller clears the local
    /// slots' lines after merging.
    func traceLines(window: UInt64, final: Bool) -> [(partition: Int, lines: [TraceLine])]?

    /// Where `writes`, every partition's busy wall time and events handled so far (index:
    /// partition), for the progress line; nil elsewhere. Called by every partition at the same
    /// windows (every few hundred).
    func progressFigures() -> [(busy: UInt64, events: UInt64)]?
}

/// What the partitions agreed at a window's end.
struct WindowMeeting {
    /// The earliest event left in any partition or on its way across a cut: the next window's
    /// start (`.never`: nothing left).
    var next: VirtualTime
    /// The busiest partition's wall time in the window just run, nanoseconds.
    var busiest: UInt64
    /// The latest event any partition has handled.
    var clock: VirtualTime
    /// Some partition handled events since its last sample (whether one partition would take
    /// another: `ParallelEmulation.run`).
    var eventsSinceSample: Bool
}

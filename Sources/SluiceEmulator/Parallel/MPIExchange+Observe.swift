import Foundation

/// What ranks under MPI hand rank 0 beside the window's packets, for what a run shows: pipeline
/// trace lines (batched over windows) and the figures of the progress line. Time series, the
/// queue trace and per-host trace files go with the results (`PartitionResults`), the one-file
/// host trace's frames with the cut links' (`cutFrames`).
extension MPIExchange {
    /// Trace lines go to rank 0 every this many windows, and at the end of a run.
    static let traceBatch: UInt64 = 64

    func traceLines(window: UInt64, final: Bool) -> [(partition: Int, lines: [TraceLine])]? {
        guard final || window % Self.traceBatch == 0 else { return nil }
        var w = WireWriter()
        if world.rank != 0 {
            slot.traceLines.write(to: &w)
            slot.traceLines.removeAll(keepingCapacity: true)
        }
        guard let all = world.gatherBytes(w.bytes) else { return nil }
        var parts: [(partition: Int, lines: [TraceLine])] = [(0, slot.traceLines)]
        for r in 1..<world.size {
            all[r].withUnsafeBytes { b in
                var reader = WireReader(b)
                parts.append((r, [TraceLine].read(from: &reader)))
            }
        }
        return parts
    }

    func progressFigures() -> [(busy: UInt64, events: UInt64)]? {
        let all = world.allGather([Int64(bitPattern: slot.busyNanoseconds), Int64(bitPattern: emulator.eventsProcessed)])
        guard world.rank == 0 else { return nil }
        return (0..<world.size).map { (UInt64(bitPattern: all[2 * $0]), UInt64(bitPattern: all[2 * $0 + 1])) }
    }
}

/// A trace line's key and the length of its text, as a message carries it (the texts follow,
/// one after another, as UTF-8).
struct WireTraceLine {
    var time: Int64
    var scheduled: Int64
    var order: UInt64
    var length: Int
}

extension [TraceLine] {
    func write(to w: inout WireWriter) {
        var text: [UInt8] = []
        w.append(map { l in
            let before = text.count
            text.append(contentsOf: l.text.utf8)
            return WireTraceLine(time: l.time.picoseconds, scheduled: l.scheduled.picoseconds, order: l.order, length: text.count - before)
        })
        w.append(text)
    }

    static func read(from r: inout WireReader) -> [TraceLine] {
        var keys: [WireTraceLine] = [], text: [UInt8] = []
        r.read(WireTraceLine.self, appendingTo: &keys)
        r.read(UInt8.self, appendingTo: &text)
        var lines: [TraceLine] = []
        lines.reserveCapacity(keys.count)
        var at = 0
        for k in keys {
            lines.append(TraceLine(time: VirtualTime(picoseconds: k.time), scheduled: VirtualTime(picoseconds: k.scheduled), order: k.order,
                                   text: String(decoding: text[at..<at + k.length], as: UTF8.self)))
            at += k.length
        }
        return lines
    }
}

import Foundation

/// Ranks under MPI meet by messages, one partition a rank. At a window's end each rank tells
/// every other, in one all-gather of a few numbers, its earliest event (its heap's or a packet
/// it sent across a cut), its busy time, its latest event, the size of its captured cut-link
/// frames and the size of its message to each rank; then the packets go, rank to rank, only
/// where there are some. Cut-link frames and results go to rank 0, which writes them.
final class MPIExchange: WindowExchange {
    let world: MPIWorld
    let emulator: Emulator
    let slot: PartitionSlot
    /// Packets received from each rank in the last meeting.
    let inbox: [Outbox]
    /// Per rank, the size of its captured frames as a message, from the last meeting.
    var capturedSizes: [Int]
    /// Gather the captured frames at rank 0 when they pass this many bytes in all.
    let capturedLimit = 16 << 20
    /// A test hook (`SLUICE_MPI_TEST_FAIL=RANK:WINDOW`, or `RANK:WINDOW:crash`): that rank
    /// fails in that window, as a rank whose partition hit an error would (or crashes).
    let failAt: (rank: Int, window: UInt64, crash: Bool)?
    /// Between meetings: where the window started, for a failing rank's message.
    var windowStart = VirtualTime.zero

    private var sending = WireWriter()
    private var received: [UInt8] = []

    init(world: MPIWorld, emulator: Emulator) {
        self.world = world
        self.emulator = emulator
        slot = emulator.slot!
        inbox = (0..<world.size).map { _ in Outbox() }
        capturedSizes = Array(repeating: 0, count: world.size)
        let hook = ProcessInfo.processInfo.environment["SLUICE_MPI_TEST_FAIL"]?.split(separator: ":").map(String.init) ?? []
        if hook.count >= 2, let r = Int(hook[0]), let w = UInt64(hook[1]) { failAt = (r, w, hook.count == 3 && hook[2] == "crash") } else { failAt = nil }
    }

    var writes: Bool { world.rank == 0 }

    func meet(window: UInt64) -> WindowMeeting {
        if let f = failAt, f.rank == world.rank, f.window == window {
            if f.crash { fatalError("test crash asked for by SLUICE_MPI_TEST_FAIL") }
            world.fail("failed in window \(window) (from \(Double(windowStart.picoseconds) / 1e6) us): test failure asked for by SLUICE_MPI_TEST_FAIL; every rank stops, no report is written")
        }
        let ranks = world.size, me = world.rank
        // This window's packets, to each rank in turn (the slot does not alternate outboxes:
        // they are emptied here, before the next window).
        let out = slot.outboxes[slot.parity]
        var earliest = emulator.nextEventTime
        sending.bytes.removeAll(keepingCapacity: true)
        var sizes = [Int](repeating: 0, count: ranks)
        for r in 0..<ranks where r != me && !out[r].packets.isEmpty {
            earliest = min(earliest, out[r].earliest)
            let before = sending.bytes.count
            out[r].write(to: &sending)
            sizes[r] = sending.bytes.count - before
            out[r].clear()
        }
        let fields = 4
        let mine = [earliest.picoseconds, Int64(slot.windowBusyNanoseconds), emulator.clock.picoseconds,
                    Int64(slot.captured.wireSize)] + sizes.map(Int64.init)
        let all = world.allGather(mine)
        let stride = fields + ranks
        let receiveSizes = (0..<ranks).map { Int(all[$0 * stride + fields + me]) }
        if sizes.contains(where: { $0 > 0 }) || receiveSizes.contains(where: { $0 > 0 }) {
            world.exchange(sending.bytes, sendSizes: sizes, receiveSizes: receiveSizes, into: &received, tag: 1)
            received.withUnsafeBytes { b in
                var offset = 0
                for r in 0..<ranks where receiveSizes[r] > 0 {
                    var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[offset..<offset + receiveSizes[r]]))
                    inbox[r].read(from: &reader)
                    offset += receiveSizes[r]
                }
            }
        }
        var meeting = WindowMeeting(next: .never, busiest: 0, clock: .zero)
        for r in 0..<ranks {
            meeting.next = min(meeting.next, VirtualTime(picoseconds: all[r * stride]))
            meeting.busiest = max(meeting.busiest, UInt64(all[r * stride + 1]))
            meeting.clock = max(meeting.clock, VirtualTime(picoseconds: all[r * stride + 2]))
            capturedSizes[r] = Int(all[r * stride + 3])
        }
        windowStart = meeting.next
        world.noteWindow(window + 1, start: meeting.next)
        return meeting
    }

    func inboxes(of slot: PartitionSlot) -> [Outbox] {
        inbox.enumerated().compactMap { $0.offset == slot.index ? nil : $0.element }
    }

    func cutFrames(final: Bool) -> [(partition: Int, frames: CapturedFrames)]? {
        let total = capturedSizes.reduce(0, +)
        guard total > 0, final || total > capturedLimit else { return nil }
        let me = world.rank
        var sizes = [Int](repeating: 0, count: world.size), receiveSizes = sizes
        sending.bytes.removeAll(keepingCapacity: true)
        if me != 0 {
            slot.captured.write(to: &sending)
            sizes[0] = sending.bytes.count
            slot.captured.clear()
        } else {
            receiveSizes = capturedSizes
            receiveSizes[0] = 0
        }
        world.exchange(sending.bytes, sendSizes: sizes, receiveSizes: receiveSizes, into: &received, tag: 2)
        for r in 0..<world.size { capturedSizes[r] = 0 }
        guard me == 0 else { return nil }
        var all = [(partition: Int, frames: CapturedFrames)]()
        all.append((0, slot.captured))
        received.withUnsafeBytes { b in
            var offset = 0
            for r in 1..<world.size where receiveSizes[r] > 0 {
                var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[offset..<offset + receiveSizes[r]]))
                all.append((r, CapturedFrames.read(from: &reader)))
                offset += receiveSizes[r]
            }
        }
        return all
    }

    func gather(_ local: [PartitionResults]) -> [PartitionResults]? {
        let mine: [UInt8]
        do { mine = Array(try JSONEncoder().encode(local[0])) } catch { world.fail("encoding its results failed: \(error)") }
        let sizes = world.allGather([Int64(mine.count)]).map(Int.init)
        let me = world.rank
        var sendSizes = [Int](repeating: 0, count: world.size), receiveSizes = sendSizes
        if me != 0 { sendSizes[0] = mine.count } else { receiveSizes = sizes; receiveSizes[0] = 0 }
        world.exchange(me == 0 ? [] : mine, sendSizes: sendSizes, receiveSizes: receiveSizes, into: &received, tag: 3)
        guard me == 0 else { return nil }
        var all = [local[0]]
        var offset = 0
        for r in 1..<world.size {
            do {
                all.append(try JSONDecoder().decode(PartitionResults.self, from: Data(received[offset..<offset + sizes[r]])))
            } catch {
                world.fail("the results of rank \(r) could not be read: \(error)")
            }
            offset += sizes[r]
        }
        return all
    }
}

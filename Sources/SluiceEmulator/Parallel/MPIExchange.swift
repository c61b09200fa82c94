import Foundation

/// Ranks under MPI meet by messages, one partition a rank. At a window's end each rank sends
/// every other one message, in one round: a header (its earliest event, its heap's or a packet
/// it sent across a cut; its busy time; its latest event; the size of its captured cut-link
/// frames) and the packets it sent that rank. Every rank then knows the next window's start. Cut-link frames and results go to rank 0, which writes them.
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

    /// A message's header: earliest event, busy time, latest event, captured bytes, length.
    static let headerWords = 5
    static let headerBytes = headerWords * 8
    /// Bytes of each message the window's one round carries (the rest, if any, goes in a
    /// second). `SLUICE_MPI_TEST_FIRST_PART` makes it small, for the test of the second round.
    static let firstPart = max(headerBytes, ProcessInfo.processInfo.environment["SLUICE_MPI_TEST_FIRST_PART"].flatMap { Int($0) } ?? 256 << 10)

    private var sending = WireWriter()
    private var received: [UInt8] = []
    /// Per rank, kept from window to window: the length of this window's message to it, the
    /// header received from it (`headerWords` values), what a first round sends it and
    /// receives from it (`firstPart` bytes from every other rank).
    private var lengths: [Int]
    private var headers: [Int64]
    private var sendSizes: [Int]
    private let firstReceiveSizes: [Int]

    init(world: MPIWorld, emulator: Emulator) {
        self.world = world
        self.emulator = emulator
        slot = emulator.slot!
        inbox = (0..<world.size).map { _ in Outbox() }
        capturedSizes = Array(repeating: 0, count: world.size)
        lengths = capturedSizes
        sendSizes = capturedSizes
        headers = Array(repeating: 0, count: world.size * Self.headerWords)
        firstReceiveSizes = (0..<world.size).map { [rank = world.rank] in $0 == rank ? 0 : Self.firstPart }
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
        for r in 0..<ranks where r != me { earliest = min(earliest, out[r].earliest) }
        let busy = Int64(slot.windowBusyNanoseconds), clock = emulator.clock.picoseconds
        var meeting = WindowMeeting(next: earliest, busiest: slot.windowBusyNanoseconds, clock: emulator.clock)
        capturedSizes[me] = slot.captured.wireSize
        guard ranks > 1 else { windowStart = meeting.next; return meeting }
        // A message to every other rank: the header (these values and the message's length),
        // then the packets. Nothing here allocates once the buffers have grown.
        sending.bytes.removeAll(keepingCapacity: true)
        for r in 0..<ranks {
            lengths[r] = 0
            guard r != me else { continue }
            let start = sending.bytes.count
            sending.bytes.append(contentsOf: repeatElement(0, count: Self.headerBytes))
            if !out[r].packets.isEmpty { out[r].write(to: &sending); out[r].clear() }
            let length = sending.bytes.count - start
            lengths[r] = length
            sending.bytes.withUnsafeMutableBytes { b in
                let h = b.baseAddress! + start
                h.storeBytes(of: earliest.picoseconds, toByteOffset: 0, as: Int64.self)
                h.storeBytes(of: busy, toByteOffset: 8, as: Int64.self)
                h.storeBytes(of: clock, toByteOffset: 16, as: Int64.self)
                h.storeBytes(of: Int64(capturedSizes[me]), toByteOffset: 24, as: Int64.self)
                h.storeBytes(of: Int64(length), toByteOffset: 32, as: Int64.self)
            }
        }
        // One round carries every message up to `firstPart` bytes; a longer one sends the rest
        // in a second round, which both ends know of from the first one's header.
        let cap = Self.firstPart
        let long = lengths.contains { $0 > cap }
        if long {
            var first: [UInt8] = [], offset = 0
            for r in 0..<ranks { first.append(contentsOf: sending.bytes[offset..<offset + min(lengths[r], cap)]); offset += lengths[r] }
            for r in 0..<ranks { sendSizes[r] = min(lengths[r], cap) }
            world.exchange(first, sendSizes: sendSizes, receiveSizes: firstReceiveSizes, into: &received, tag: 1)
        } else {
            world.exchange(sending.bytes, sendSizes: lengths, receiveSizes: firstReceiveSizes, into: &received, tag: 1)
        }
        var secondRound = long
        received.withUnsafeBytes { b in
            for r in 0..<ranks where r != me {
                let at = (r < me ? r : r - 1) * cap
                for i in 0..<Self.headerWords { headers[r * Self.headerWords + i] = b.loadUnaligned(fromByteOffset: at + 8 * i, as: Int64.self) }
                if headers[r * Self.headerWords + 4] > cap { secondRound = true }
            }
        }
        var owedSizes = [Int](repeating: 0, count: secondRound ? ranks : 0)
        if secondRound {
            var rest: [UInt8] = []
            var restSizes = [Int](repeating: 0, count: ranks)
            var offset = 0
            for r in 0..<ranks {
                if lengths[r] > cap { rest.append(contentsOf: sending.bytes[offset + cap..<offset + lengths[r]]); restSizes[r] = lengths[r] - cap }
                offset += lengths[r]
                if r != me { owedSizes[r] = max(0, Int(headers[r * Self.headerWords + 4]) - cap) }
            }
            var second: [UInt8] = []
            world.exchange(rest, sendSizes: restSizes, receiveSizes: owedSizes, into: &second, tag: 4)
            var at = 0
            for r in 0..<ranks where owedSizes[r] > 0 {
                var whole = Array(received[(r < me ? r : r - 1) * cap..<(r < me ? r : r - 1) * cap + cap])
                whole.append(contentsOf: second[at..<at + owedSizes[r]])
                at += owedSizes[r]
                whole.withUnsafeBytes { b in
                    var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[Self.headerBytes...]))
                    inbox[r].read(from: &reader)
                }
            }
        }
        received.withUnsafeBytes { b in
            for r in 0..<ranks where r != me && (!secondRound || owedSizes[r] == 0) && headers[r * Self.headerWords + 4] > Self.headerBytes {
                let at = (r < me ? r : r - 1) * cap
                var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[at + Self.headerBytes..<at + Int(headers[r * Self.headerWords + 4])]))
                inbox[r].read(from: &reader)
            }
        }
        for r in 0..<ranks where r != me {
            let h = r * Self.headerWords
            meeting.next = min(meeting.next, VirtualTime(picoseconds: headers[h]))
            meeting.busiest = max(meeting.busiest, UInt64(headers[h + 1]))
            meeting.clock = max(meeting.clock, VirtualTime(picoseconds: headers[h + 2]))
            capturedSizes[r] = Int(headers[h + 3])
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

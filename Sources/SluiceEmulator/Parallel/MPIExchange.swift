import Foundation

/// Ranks under MPI meet by messages, one partition a rank. At a window's end each rank sends
/// a message to every rank its partition shares a cut link with (its peers): a header (its
/// earliest event, its heap's or a packet it sent across a cut; its busy time; its latest
/// event; the size of its captured cut-link frames; the message's length) and the packets and
/// application messages it sent that rank. When every rank is a peer of every other (two
/// ranks, or a fabric where every partition meets every other), the headers tell each rank the
/// next window's start;
/// otherwise an allreduce of the header's values, waited for with the messages, does, so a
/// window costs a message a neighbour and one allreduce however many ranks there are. An
/// application's message to a rank that is no peer (jobs send to any host) goes in a second
/// round, in the windows that have one. Cut-link frames and results go to rank 0, which
/// writes them.
final class MPIExchange: WindowExchange {
    let world: MPIWorld
    let emulator: Emulator
    let slot: PartitionSlot
    /// Packets received from each rank in the last meeting.
    let inbox: [Outbox]
    /// `inbox` but this rank's own (what `inboxes` gives every window).
    let otherInboxes: [Outbox]
    /// Per rank, whether it is a peer (shares a cut link with this rank), and the peers.
    let isPeer: [Bool]
    let peers: [Int]
    /// Every rank is a peer of every other: the headers carry what the ranks agree on.
    let everyRankAPeer: Bool
    /// The largest captured frames' size of any rank, as a message, from the last meeting.
    var capturedMost = 0
    /// Gather the captured frames at rank 0 when they may pass this many bytes in all.
    let capturedLimit = 16 << 20
    /// A test hook (`SLUICE_MPI_TEST_FAIL=RANK:WINDOW`, or `RANK:WINDOW:crash`): that rank
    /// fails in that window, as a rank whose partition hit an error would (or crashes).
    let failAt: (rank: Int, window: UInt64, crash: Bool)?
    /// Between meetings: where the window started, for a failing rank's message.
    var windowStart = VirtualTime.zero

    /// A message's header: earliest event, busy time, latest event, captured bytes, length,
    /// and whether the rank handled events since its last sample (time series).
    static let headerWords = 6
    static let headerBytes = headerWords * 8
    /// Bytes of each message the window's one round carries (the rest, if any, goes in a
    /// second). `SLUICE_MPI_TEST_FIRST_PART` makes it small, for the test of the second round.
    static let firstPart = max(headerBytes, ProcessInfo.processInfo.environment["SLUICE_MPI_TEST_FIRST_PART"].flatMap { Int($0) } ?? 256 << 10)

    private var sending = WireWriter()
    private var received: [UInt8] = []
    /// Per rank, kept from window to window: the length of this window's message to it, the
    /// header received from it (`headerWords` values), what a first round sends it and
    /// receives from it (`firstPart` bytes from every peer).
    private var lengths: [Int]
    private var headers: [Int64]
    private var sendSizes: [Int]
    private let firstReceiveSizes: [Int]
    private let firstOffsets: [Int]
    /// The allreduce's values (largest of every rank's): the earliest event negated, busy
    /// time, latest event, captured bytes, whether a message waits for a rank that is no peer,
    /// whether some rank handled events since its last sample.
    private var agreeing = [Int64](repeating: 0, count: 6)
    private var agreed = [Int64](repeating: 0, count: 6)

    init(world: MPIWorld, emulator: Emulator, partitioning: Partitioning) {
        self.world = world
        self.emulator = emulator
        slot = emulator.slot!
        slot.refuseAttachment = { world.fail($0) }
        inbox = (0..<world.size).map { _ in Outbox() }
        otherInboxes = inbox.enumerated().compactMap { $0.offset == world.rank ? nil : $0.element }
        let all = partitioning.peers(emulator.spec)
        let mine = all[world.rank]
        peers = mine
        isPeer = (0..<world.size).map { mine.contains($0) }
        everyRankAPeer = all.allSatisfy { $0.count == world.size - 1 }
        lengths = Array(repeating: 0, count: world.size)
        sendSizes = lengths
        headers = Array(repeating: 0, count: world.size * Self.headerWords)
        firstReceiveSizes = isPeer.map { $0 ? Self.firstPart : 0 }
        var offsets: [Int] = [], at = 0
        for r in 0..<world.size { offsets.append(at); at += firstReceiveSizes[r] }
        firstOffsets = offsets
        let hook = ProcessInfo.processInfo.environment["SLUICE_MPI_TEST_FAIL"]?.split(separator: ":").map(String.init) ?? []
        if hook.count >= 2, let r = Int(hook[0]), let w = UInt64(hook[1]) { failAt = (r, w, hook.count == 3 && hook[2] == "crash") } else { failAt = nil }
    }

    var writes: Bool { world.rank == 0 }

    /// Where the first round put the message from peer `r`.
    @inline(__always) private func firstOffset(_ r: Int) -> Int { firstOffsets[r] }

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
        for r in peers { earliest = min(earliest, out[r].earliest) }
        let busy = Int64(slot.windowBusyNanoseconds), clock = emulator.clock.picoseconds
        let captured = slot.captured.wireSize
        // Time series: events since this rank's last sample.
        let sinceSample: Int64 = slot.eventsAtSample != emulator.eventsProcessed ? 1 : 0
        var meeting = WindowMeeting(next: earliest, busiest: slot.windowBusyNanoseconds, clock: emulator.clock,
                                    eventsSinceSample: sinceSample != 0)
        capturedMost = captured
        guard ranks > 1 else { windowStart = meeting.next; return meeting }
        // A message to every peer: the header (these values and the message's length), then
        // the packets. Nothing here allocates once the buffers have grown.
        sending.bytes.removeAll(keepingCapacity: true)
        var farMessages = false
        for r in 0..<ranks {
            lengths[r] = 0
            guard isPeer[r] else {
                if r != me && !out[r].isEmpty { farMessages = true }
                continue
            }
            let start = sending.bytes.count
            sending.bytes.append(contentsOf: repeatElement(0, count: Self.headerBytes))
            if !out[r].isEmpty { out[r].write(to: &sending); out[r].clear() }
            let length = sending.bytes.count - start
            lengths[r] = length
            sending.bytes.withUnsafeMutableBytes { b in
                let h = b.baseAddress! + start
                h.storeBytes(of: earliest.picoseconds, toByteOffset: 0, as: Int64.self)
                h.storeBytes(of: busy, toByteOffset: 8, as: Int64.self)
                h.storeBytes(of: clock, toByteOffset: 16, as: Int64.self)
                h.storeBytes(of: Int64(captured), toByteOffset: 24, as: Int64.self)
                h.storeBytes(of: Int64(length), toByteOffset: 32, as: Int64.self)
                h.storeBytes(of: sinceSample, toByteOffset: 40, as: Int64.self)
            }
        }
        if !everyRankAPeer {
            agreeing[0] = -earliest.picoseconds; agreeing[1] = busy; agreeing[2] = clock
            agreeing[3] = Int64(captured); agreeing[4] = farMessages ? 1 : 0; agreeing[5] = sinceSample
        }
        // One round carries every message up to `firstPart` bytes; a longer one sends the rest
        // in a second round, which both ends know of from the first one's header.
        let cap = Self.firstPart
        let long = lengths.contains { $0 > cap }
        var first = sending.bytes
        if long {
            first = []
            var offset = 0
            for r in 0..<ranks { first.append(contentsOf: sending.bytes[offset..<offset + min(lengths[r], cap)]); offset += lengths[r] }
        }
        for r in 0..<ranks { sendSizes[r] = min(lengths[r], cap) }
        if everyRankAPeer {
            world.exchange(first, sendSizes: sendSizes, receiveSizes: firstReceiveSizes, into: &received, tag: 1)
        } else {
            agreed.withUnsafeMutableBufferPointer { a in
                world.exchange(first, sendSizes: sendSizes, receiveSizes: firstReceiveSizes, into: &received, tag: 1, maximum: agreeing, into: a.baseAddress)
            }
        }
        var secondRound = long
        received.withUnsafeBytes { b in
            for r in peers {
                let at = firstOffset(r)
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
                if isPeer[r] { owedSizes[r] = max(0, Int(headers[r * Self.headerWords + 4]) - cap) }
            }
            var second: [UInt8] = []
            world.exchange(rest, sendSizes: restSizes, receiveSizes: owedSizes, into: &second, tag: 4)
            var at = 0
            for r in 0..<ranks where owedSizes[r] > 0 {
                var whole = Array(received[firstOffset(r)..<firstOffset(r) + cap])
                whole.append(contentsOf: second[at..<at + owedSizes[r]])
                at += owedSizes[r]
                whole.withUnsafeBytes { b in
                    var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[Self.headerBytes...]))
                    inbox[r].read(from: &reader)
                }
            }
        }
        received.withUnsafeBytes { b in
            for r in peers where (!secondRound || owedSizes[r] == 0) && headers[r * Self.headerWords + 4] > Self.headerBytes {
                let at = firstOffset(r)
                var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[at + Self.headerBytes..<at + Int(headers[r * Self.headerWords + 4])]))
                inbox[r].read(from: &reader)
            }
        }
        if everyRankAPeer {
            for r in peers {
                let h = r * Self.headerWords
                meeting.next = min(meeting.next, VirtualTime(picoseconds: headers[h]))
                meeting.busiest = max(meeting.busiest, UInt64(headers[h + 1]))
                meeting.clock = max(meeting.clock, VirtualTime(picoseconds: headers[h + 2]))
                capturedMost = max(capturedMost, Int(headers[h + 3]))
                meeting.eventsSinceSample = meeting.eventsSinceSample || headers[h + 5] != 0
            }
        } else {
            meeting.next = VirtualTime(picoseconds: -agreed[0])
            meeting.busiest = UInt64(agreed[1])
            meeting.clock = VirtualTime(picoseconds: agreed[2])
            capturedMost = Int(agreed[3])
            meeting.eventsSinceSample = agreed[5] != 0
            if agreed[4] > 0 { sendFarMessages() }
        }
        windowStart = meeting.next
        world.noteWindow(window + 1, start: meeting.next)
        return meeting
    }

    /// The round of a window in which some rank has messages for a rank that is no peer: every
    /// rank learns what each sends it (an allgather of sizes), then they go.
    private func sendFarMessages() {
        let ranks = world.size, me = world.rank
        let out = slot.outboxes[slot.parity]
        var far = WireWriter()
        var sizes = [Int](repeating: 0, count: ranks)
        for r in 0..<ranks where r != me && !isPeer[r] && !out[r].isEmpty {
            let start = far.bytes.count
            out[r].write(to: &far)
            out[r].clear()
            sizes[r] = far.bytes.count - start
        }
        let all = world.allGather(sizes.map(Int64.init))
        let receiveSizes = (0..<ranks).map { Int(all[$0 * ranks + me]) }
        var got: [UInt8] = []
        world.exchange(far.bytes, sendSizes: sizes, receiveSizes: receiveSizes, into: &got, tag: 6)
        got.withUnsafeBytes { b in
            var at = 0
            for r in 0..<ranks where receiveSizes[r] > 0 {
                var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[at..<at + receiveSizes[r]]))
                inbox[r].read(from: &reader)
                at += receiveSizes[r]
            }
        }
    }

    func inboxes(of slot: PartitionSlot) -> [Outbox] { otherInboxes }

    func cutFrames(final: Bool) -> [(partition: Int, frames: CapturedFrames)]? {
        // Every rank knows the largest share from the last meeting, so all decide alike.
        guard capturedMost > 0, final || capturedMost * world.size > capturedLimit else { return nil }
        capturedMost = 0
        let me = world.rank
        var sizes = [Int](repeating: 0, count: world.size)
        let all = world.allGather([Int64(slot.captured.wireSize)])
        var receiveSizes = me == 0 ? all.map(Int.init) : sizes
        sending.bytes.removeAll(keepingCapacity: true)
        if me != 0 {
            slot.captured.write(to: &sending)
            sizes[0] = sending.bytes.count
            slot.captured.clear()
        } else {
            receiveSizes[0] = 0
        }
        world.exchange(sending.bytes, sendSizes: sizes, receiveSizes: receiveSizes, into: &received, tag: 2)
        guard me == 0 else { return nil }
        var frames = [(partition: Int, frames: CapturedFrames)]()
        frames.append((0, slot.captured))
        received.withUnsafeBytes { b in
            var offset = 0
            for r in 1..<world.size where receiveSizes[r] > 0 {
                var reader = WireReader(UnsafeRawBufferPointer(rebasing: b[offset..<offset + receiveSizes[r]]))
                frames.append((r, CapturedFrames.read(from: &reader)))
                offset += receiveSizes[r]
            }
        }
        return frames
    }

    func gather(_ local: [PartitionResults]) -> [PartitionResults]? {
        world.gather(local[0], what: "the results")
    }
}

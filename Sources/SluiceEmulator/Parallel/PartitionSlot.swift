/// One partition's side of a parallel run: which nodes it runs, the packets it sent across a
/// cut (its outboxes, one per receiving partition, two sets used in turn so a partition writes
/// this window's while its neighbours read the last one's), and the frames of cut links it
/// captured. An emulator with a slot runs only its partition's events (`Emulator.slot`).
///
/// Its partition's thread touches a slot during a window and the coordinating thread between
/// windows, never both at once, so the fields written per event and per crossing packet go
/// without dynamic exclusivity checks (`swift_beginAccess`, about 80 instructions each).
final class PartitionSlot {
    let index: Int
    let partitionOf: [Int32]
    /// Per node: whether this partition runs it.
    let owned: UnsafeMutablePointer<Bool>
    /// `outboxes[parity][to]`: packets sent in windows of that parity to partition `to`.
    @exclusivity(unchecked) var outboxes: [[Outbox]]
    /// The same outboxes, `parity * partitions + to`, unretained (`outboxes` keeps them alive):
    /// a crossing packet finds its outbox without retaining and releasing arrays and boxes.
    let outboxTable: UnsafeMutablePointer<Unmanaged<Outbox>>
    let partitions: Int
    @exclusivity(unchecked) var parity = 0
    /// The event being handled, whose key orders the frames it captures on a cut link.
    @exclusivity(unchecked) var current = Event(time: .zero, scheduled: .zero, order: 0, kind: .sample, target: 0, arg: 0)
    /// Frames captured on cut links in this window (merged by `ParallelEmulation`), and those
    /// of the one-file host trace (link -1).
    @exclusivity(unchecked) var captured = CapturedFrames()
    /// Pipeline trace lines written in this window, each with the key of its event (merged
    /// by `ParallelEmulation` into the trace's sink).
    @exclusivity(unchecked) var traceLines: [TraceLine] = []
    /// Packets this partition sent across a cut, and those it received whose arrival fell
    /// exactly on a window's end.
    @exclusivity(unchecked) var crossed: UInt64 = 0
    @exclusivity(unchecked) var arrivalsAtWindowEnd: UInt64 = 0
    /// Frame bytes those packets carried across (`CrossingPacket.copied`).
    @exclusivity(unchecked) var crossedBytes: UInt64 = 0
    /// Wall time spent taking in crossings and handling events (the rest of a run it waits).
    @exclusivity(unchecked) var busyNanoseconds: UInt64 = 0
    /// The same, in the last window.
    @exclusivity(unchecked) var windowBusyNanoseconds: UInt64 = 0
    /// `eventsProcessed` when the last sample was taken: events handled since say whether one
    /// partition would take another.
    @exclusivity(unchecked) var eventsAtSample: UInt64 = 0
    /// Set when the other partitions run in other processes (MPI ranks): called with what to
    /// say when an application sends a message with an attachment (an object, which cannot be
    /// sent to another process) to a host another partition runs. Under MPI it ends the job.
    var refuseAttachment: ((String) -> Void)?

    init(index: Int, partitioning: Partitioning) {
        self.index = index
        partitionOf = partitioning.partitionOf
        owned = .allocate(capacity: max(partitionOf.count, 1))
        for (n, p) in partitionOf.enumerated() { owned[n] = Int(p) == index }
        outboxes = (0..<2).map { _ in (0..<partitioning.count).map { _ in Outbox() } }
        partitions = partitioning.count
        outboxTable = .allocate(capacity: 2 * partitioning.count)
        for (k, box) in outboxes.joined().enumerated() { (outboxTable + k).initialize(to: .passUnretained(box)) }
    }

    deinit { owned.deallocate(); outboxTable.deallocate() }

    /// `body` with this window's outbox to partition `to`.
    @inline(__always) func withOutbox<R>(to: Int, _ body: (Outbox) -> R) -> R {
        outboxTable[parity &* partitions &+ to]._withUnsafeGuaranteedRef(body)
    }

    @inline(__always) func owns(_ node: Int32) -> Bool { node < 0 || owned[Int(node)] }

    /// The pipeline traces' sink in this partition: lines wait for the window's end.
    var traceSink: @Sendable (String) -> Void {
        nonisolated(unsafe) let s = self
        return { line in s.traceLines.append(TraceLine(time: s.current.time, scheduled: s.current.scheduled, order: s.current.order, text: line)) }
    }

    /// How this partition captures link `l`: nil when both ends are here (write the file),
    /// true when only one is (capture its direction for merging), false when neither.
    func capture(link l: LinkSpec) -> Bool? {
        let a = owned[l.a.node], b = owned[l.b.node]
        if a && b { return nil }
        return a || b
    }

    /// A frame sent on cut link `link` (b to a when `inbound`, as its pcapng says).
    @inline(__always) func captureCut(link: Int32, inbound: Bool, time: VirtualTime, bytes: UnsafeMutablePointer<UInt8>, length: Int) {
        captured.append(link: link, inbound: inbound, time: time, key: current, bytes: bytes, length: length)
    }
}

/// A line of a pipeline trace and the key of the event that wrote it.
struct TraceLine {
    var time: VirtualTime
    var scheduled: VirtualTime
    var order: UInt64
    var text: String
}

/// A packet on its way across a cut: what the receiving partition needs to go on exactly as
/// one partition would (bytes, the switch metadata that survives a link, arrival time and key).
struct CrossingPacket {
    var direction: Int32
    var length: Int32
    /// Bytes in the outbox: the frame up to its last non-zero byte, the rest being zero.
    var copied: Int32
    /// Where its bytes start in the outbox.
    var offset: Int
    var arrival: VirtualTime
    var sent: VirtualTime
    var sequence: UInt32
    var pass: UInt8
}

/// An application's message whose receiver another partition runs: the receiving side of its
/// connection needs it (where it ends in the stream, its tag, size and sending time) to deliver
/// it. It is queued before its first packet is sent, so it arrives a window ahead of its last.
/// Its attachment, if any (`HostAPI.send(...attachment:)`), goes by reference: the same object
/// on the other thread, which only the receiver touches from then on. Ranks of other processes
/// get every field but the attachment (`Outbox.write`), and refuse an attached message by name
/// (`PartitionSlot.refuseAttachment`; jobs attach none).
struct CrossingMessage {
    var connection: Int32
    /// Its sending and receiving hosts: a connection opened during the run may have another
    /// number here (`unplannedConnections`).
    var src: Int32
    var dst: Int32
    var message: Connection.Message
}

/// Packets one partition sent to another in one window, bytes in one buffer. Cleared (keeping
/// its capacity) by the receiver once read, so a long run stops allocating here.
///
/// One thread writes an outbox while no other touches it (the sender in its window, the
/// receiver after the window's end), so its arrays go without dynamic exclusivity checks.
final class Outbox {
    @exclusivity(unchecked) var packets: [CrossingPacket] = []
    @exclusivity(unchecked) var bytes: [UInt8] = []
    @exclusivity(unchecked) var bridge: [UInt64] = []
    @exclusivity(unchecked) var messages: [CrossingMessage] = []

    var earliest: VirtualTime { packets.reduce(.never) { min($0, $1.arrival) } }
    /// Nothing to hand over: no packet and no message.
    var isEmpty: Bool { packets.isEmpty && messages.isEmpty }

    func clear() {
        packets.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        bridge.removeAll(keepingCapacity: true)
        messages.removeAll(keepingCapacity: true)
    }
}

/// Frames captured on cut links, each with the key of the event that sent it: one partition
/// writes them in (time, scheduled, order) order, so merging every partition's by that key
/// gives the file one partition writes.
struct CapturedFrames {
    struct Frame {
        var link: Int32
        var inbound: Bool
        var time: VirtualTime
        var scheduled: VirtualTime
        var order: UInt64
        var offset: Int
        var length: Int
    }
    var frames: [Frame] = []
    var bytes: [UInt8] = []

    mutating func append(link: Int32, inbound: Bool, time: VirtualTime, key: Event, bytes b: UnsafeMutablePointer<UInt8>, length: Int) {
        frames.append(Frame(link: link, inbound: inbound, time: time, scheduled: key.scheduled, order: key.order, offset: bytes.count, length: length))
        bytes.append(contentsOf: UnsafeBufferPointer(start: b, count: length))
    }

    mutating func clear() {
        frames.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }
}

extension Emulator {
    /// Drop the events of nodes other partitions run (after `start` scheduled every node's).
    func keepOwnedEvents() {
        guard let slot else { return }
        var kept: [Event] = []
        while events.count > 0 {
            let e = events.pop()
            if slot.owns(node(of: e)) { kept.append(e) }
        }
        for e in kept { events.push(e.time, e.kind, target: e.target, arg: e.arg, scheduled: e.scheduled, order: e.order & ~0xFF) }
    }

    /// Packet `p`, sent on direction `d` whose receiver another partition runs, goes into the
    /// outbox to that partition; the receiver schedules its arrival (`receiveCrossings`).
    func sendAcross(_ d: Int, _ p: Int32, arrival: VirtualTime, sequence: UInt32) {
        let slot = self.slot.unsafelyUnwrapped
        let len = pool.length(p)
        let dirty = pool.dirtyEnd[Int(p)]
        // Past `dirtyEnd` a frame is zero (`PacketPool.wrote`), and often before it too: only
        // the bytes up to the last non-zero one travel (a data frame's headers, not its payload).
        let data = pool.data(p)
        let shift = pool.with(p) { $0.headroom - $0.start }
        let copied = Self.significantLength(data, min(len, max(0, Int(dirty) + shift)))
        let packet = CrossingPacket(direction: Int32(d), length: Int32(len), copied: Int32(copied), offset: 0,
                                    arrival: arrival, sent: clock, sequence: sequence, pass: pool.pass[Int(p)])
        let bridge = UnsafeBufferPointer(start: pool.bridgeWords(p), count: pool.bridgeStride)
        slot.withOutbox(to: Int(dirs[d].crossesTo)) { box in
            var packet = packet
            packet.offset = box.bytes.count
            box.packets.append(packet)
            box.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: copied))
            box.bridge.append(contentsOf: bridge)
        }
        slot.crossed &+= 1
        slot.crossedBytes &+= UInt64(copied)
        pool.release(p)
    }

    /// Bytes of `p`'s first `count` up to the last non-zero one. A crossing frame's written part
    /// (`PacketPool.dirtyEnd`) may be mostly zero (a switch program's header room past the
    /// headers a packet has), so whole 64-byte blocks go first, one test a block, then words,
    /// then bytes.
    @inline(__always) static func significantLength(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
        let raw = UnsafeRawPointer(p)
        var n = count
        while n >= 64 {
            let b = raw + (n - 64)
            var any = b.loadUnaligned(as: UInt64.self)
            for k in 1..<8 { any |= b.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self) }
            if any != 0 { break }
            n -= 64
        }
        while n >= 8 && raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == 0 { n -= 8 }
        while n > 0 && p[n - 1] == 0 { n -= 1 }
        return n
    }

    /// The message just queued on `c`, whose receiver another partition runs, goes into the
    /// outbox to that partition.
    func sendMessageAcross(_ c: Connection) {
        let slot = self.slot.unsafelyUnwrapped
        let to = Int(slot.partitionOf[Int(hostNode(c.dst))])
        let m = c.messages[c.messages.count - 1]
        if m.attachment != nil, let refuse = slot.refuseAttachment {
            refuse("host \(hosts[Int(c.src)].name) sent host \(hosts[Int(c.dst)].name) (partition \(to), another rank) a message (tag \(m.tag)) with an attachment, an object that cannot go to another process; run it with --threads (one process) or send it without an attachment")
        }
        slot.withOutbox(to: to) { $0.messages.append(CrossingMessage(connection: c.id, src: c.src, dst: c.dst, message: m)) }
    }

    /// Take in the messages and packets `box` holds (sent to this partition): each message joins
    /// its connection's receiving side, each packet its direction's wire as if sent here, keyed
    /// as its sender keyed it.
    func receiveCrossings(_ box: Outbox) {
        for m in box.messages {
            // A connection the sender opened during the run is not this one (or none here): its
            // packets are ignored, and the run's result is refused (`unplannedConnections`).
            guard Int(m.connection) < connections.count, connections[Int(m.connection)].src == m.src,
                  connections[Int(m.connection)].dst == m.dst else { continue }
            connections[Int(m.connection)].messages.append(m.message)
        }
        guard !box.packets.isEmpty else { return }
        box.packets.withUnsafeBufferPointer { packets in
            box.bytes.withUnsafeBufferPointer { bytes in
                box.bridge.withUnsafeBufferPointer { bridge in receivePackets(packets, bytes: bytes, bridge: bridge) }
            }
        }
    }

    /// The packets of an outbox (its arrays' storage, borrowed once a window rather than once
    /// a packet), each onto its direction's wire.
    private func receivePackets(_ packets: UnsafeBufferPointer<CrossingPacket>, bytes: UnsafeBufferPointer<UInt8>, bridge: UnsafeBufferPointer<UInt64>) {
        let stride = pool.bridgeStride
        for (i, c) in packets.enumerated() {
            let p = pool.allocate()
            let b = pool.reset(p, length: Int(c.length))
            if c.copied > 0 { b.update(from: bytes.baseAddress.unsafelyUnwrapped + c.offset, count: Int(c.copied)) }
            // The rest of the frame is zero: clear what earlier frames wrote in this buffer.
            pool.clearPayload(p, from: Int(c.copied), to: Int(c.length))
            pool.bridgeWords(p).update(from: bridge.baseAddress.unsafelyUnwrapped + i * stride, count: stride)
            pool.pass[Int(p)] = c.pass
            let d = Int(c.direction)
            let dir = dirs + d
            dir.pointee.pipe.append(LinkDirection.InFlight(packet: p, sequence: c.sequence, arrival: c.arrival, sent: c.sent))
            if !dir.pointee.arrivalPending {
                dir.pointee.arrivalPending = true
                events.push(c.arrival, .arrival, target: Int32(d), scheduled: c.sent,
                            order: EventOrder.key(cause: Int(dir.pointee.fromNode) + 1, sequence: c.sequence))
            }
        }
    }

    /// The sample one partition takes at `time` (scheduled at `scheduled`, as its sample event
    /// was): first this partition's events that come before that event at the same time, then
    /// the sample of every direction (`ParallelEmulation` keeps each direction's from the
    /// partition that sends on it). Not counted as an event here: the parallel run counts it once.
    func sample(at time: VirtualTime, scheduled: VirtualTime) {
        let slot = self.slot.unsafelyUnwrapped
        let key = Event(time: time, scheduled: scheduled, order: EventOrder.key(cause: 0, sequence: .max), kind: .sample, target: 0, arg: 0)
        while let e = events.top, e < key {
            _ = events.take()
            slot.current = e
            handle(e)
        }
        events.cause = 0
        clock = time
        events.now = time
        series.record(time: time, dirs: dirs, count: dirCount)
        slot.eventsAtSample = eventsProcessed
    }

    /// Handle this partition's events before `end` (and not past `limit`): one window.
    func runWindow(before end: VirtualTime, limit: VirtualTime) {
        let slot = self.slot.unsafelyUnwrapped
        let last = min(limit, end - VirtualTime(picoseconds: 1))
        while let e = events.pop(notAfter: last) {
            slot.current = e
            handle(e)
        }
        events.cause = 0
    }

    var nextEventTime: VirtualTime { events.top?.time ?? .never }
}

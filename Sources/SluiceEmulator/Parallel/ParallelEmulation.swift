import Foundation
import SluicePcapFiles
import SluiceRuntime
import SluiceControlPlane
import SluiceSupport

/// One topology run as several partitions side by side, on threads or on MPI ranks (one
/// partition a process, `MPIWorld`), with the result one partition gives: byte-identical
/// pcaps, the same flow completion times, counters and report.
///
/// Conservative windows: every partition handles its events up to the end of the window (its
/// start plus the lookahead, the least delay of a cut link, `Partitioning`), the packets that
/// crossed a cut are handed to their receivers, and the next window starts at the earliest
/// event left anywhere. A packet sent in a window arrives at least a lookahead later, so at or
/// after the window's end: no partition ever receives a packet in its past. Events keep the
/// key one partition gives them (`EventOrder`), so each partition handles its nodes' events in
/// the order one partition would, and cut links' frames are merged into their pcaps in it.
///
/// Not yet in a parallel run (refused with the option's name): time series (`--report`,
/// sample interval), host traces, queue traces, pipeline traces, a topology's events (links
/// and switches changing during the run), and applications (jobs).
public final class ParallelEmulation {
    public let spec: TopologySpec
    public let partitioning: Partitioning
    /// The partitions run here and their slots: every one on threads, this rank's under MPI.
    let partitions: [Emulator]
    let slots: [PartitionSlot]
    let exchange: WindowExchange
    /// Cut links' pcap writers (index: link), when pcaps are written, where `exchange` writes.
    var cutCaptures: [Int: PcapWriter] = [:]
    /// What the partitions agreed at the last window's end (nil before the first run).
    var meeting: WindowMeeting?
    /// Every partition's results after the last run, where `exchange` writes (index: partition).
    var results: [PartitionResults] = []
    /// Windows run.
    public private(set) var windows: UInt64 = 0
    /// Wall time of `run` calls so far.
    public private(set) var wallSeconds = 0.0
    /// Per window, the busiest partition's time, summed: the run's wall time were every
    /// partition on a core of its own with no cost to hand a window over (a model of where
    /// the cores free; on a loaded machine the threads also wait for a core).
    var criticalNanoseconds: UInt64 = 0
    public var criticalPathSeconds: Double { Double(criticalNanoseconds) / 1e9 }
    /// Per partition: the share of the run's wall time it spent waiting for the others at
    /// window ends (and for the merging between windows).
    public var waitShares: [Double] {
        results.map { wallSeconds > 0 ? max(0, 1 - Double($0.busyNanoseconds) / 1e9 / wallSeconds) : 0 }
    }
    /// Crossing packets whose arrival fell exactly on a window's end.
    public var arrivalsAtWindowEnd: UInt64 { results.reduce(0) { $0 + $1.arrivalsAtWindowEnd } }

    /// Every partition on a thread of its own.
    public convenience init(_ spec: TopologySpec, options: EmulatorOptions = EmulatorOptions(), programs: ProgramResolver,
                            partitioning: Partitioning) throws {
        try Self.refuseUnsupported(spec, options: options)
        let slots = (0..<partitioning.count).map { PartitionSlot(index: $0, partitioning: partitioning) }
        let partitions = try slots.map { try Emulator(spec, options: options, programs: programs, slot: $0) }
        try self.init(spec, options: options, partitioning: partitioning, partitions: partitions,
                      exchange: SharedMemoryExchange(partitions: partitions, slots: slots))
    }

    /// This rank's partition (partition `world.rank`) of a run under MPI, one rank a partition:
    /// every rank makes one and runs it, rank 0 writes the report and cut links' pcaps.
    public convenience init(_ spec: TopologySpec, options: EmulatorOptions = EmulatorOptions(), programs: ProgramResolver,
                            partitioning: Partitioning, world: MPIWorld) throws {
        guard partitioning.count == world.size else {
            throw EmulatorError("\(partitioning.count) partitions for \(world.size) MPI ranks; run one rank a partition (mpirun -np \(partitioning.count))")
        }
        try Self.refuseUnsupported(spec, options: options)
        let emu = try Emulator(spec, options: options, programs: programs, slot: PartitionSlot(index: world.rank, partitioning: partitioning))
        try self.init(spec, options: options, partitioning: partitioning, partitions: [emu],
                      exchange: MPIExchange(world: world, emulator: emu))
    }

    static func refuseUnsupported(_ spec: TopologySpec, options: EmulatorOptions) throws {
        for (set, name) in [(options.sampleInterval > 0, "time series (--report, --sample-interval)"),
                            (options.hostTrace != nil, "a host trace"), (options.hostTraceDirectory != nil, "host traces"),
                            (options.queueTrace, "a queue trace"), (options.pipelineTrace != nil, "pipeline traces (--trace)"),
                            (!spec.events.isEmpty, "a topology's events list (links and switches that change during the run)")] where set {
            throw EmulatorError("\(name) is not available in a parallel run yet; run with one partition (no --threads)")
        }
    }

    private init(_ spec: TopologySpec, options: EmulatorOptions, partitioning: Partitioning, partitions: [Emulator],
                 exchange: WindowExchange) throws {
        self.spec = spec
        self.partitioning = partitioning
        self.partitions = partitions
        slots = partitions.map { $0.slot! }
        self.exchange = exchange
        for emu in partitions {
            let k = emu.slot!.index
            for d in 0..<emu.dirCount {
                let from = Int(partitioning.partitionOf[Int(emu.dirs[d].fromNode)])
                let to = Int(partitioning.partitionOf[Int(emu.dirs[d].toNode)])
                if from == k && to != k { emu.dirs[d].crossesTo = Int32(to) }
            }
            emu.prepareReceivedBulkMessages()
        }
        if let dir = options.pcapDirectory, exchange.writes {
            let captureAll = !spec.links.contains { $0.capture }
            for i in partitioning.cutLinks where captureAll || spec.links[i].capture {
                do { cutCaptures[i] = try Emulator.linkCapture(spec, link: i, directory: dir, options: options) } catch {
                    throw EmulatorError("cannot write the pcap for link \(Emulator.pcapName(spec, link: i)): \(error)")
                }
            }
        }
    }

    /// Run until `until` (picoseconds; else the topology's `until`) or until nothing is left to do.
    @discardableResult
    public func run(until: Int64? = nil) -> RunStats {
        for emu in partitions where !emu.started { emu.start() }
        let asked = (until ?? spec.until).map(VirtualTime.init(picoseconds:)).flatMap { $0 < .never ? $0 : nil }
        let limit = min(asked ?? .never, .never - VirtualTime(picoseconds: 1))
        let lookahead = VirtualTime(picoseconds: partitioning.lookahead)
        let wallStart = MonotonicClock.nanoseconds
        let before = results.reduce(0) { $0 + $1.eventsProcessed }, localBefore = partitions.reduce(0) { $0 + $1.eventsProcessed }
        nonisolated(unsafe) let parts = partitions
        nonisolated(unsafe) let slotsNow = slots
        nonisolated(unsafe) let exchange = self.exchange
        let crew = WindowCrew(count: partitions.count)
        defer { crew.stop() }
        var meeting = self.meeting ?? exchange.meet(window: 0)
        while meeting.next <= limit {
            let end = meeting.next.after(lookahead)
            windows += 1
            crew.run { i in
                let began = MonotonicClock.nanoseconds
                let slot = slotsNow[i], emu = parts[i]
                defer {
                    let busy = UInt64(MonotonicClock.nanoseconds &- began)
                    slot.busyNanoseconds &+= busy
                    slot.windowBusyNanoseconds = busy
                }
                for box in exchange.inboxes(of: slot) {
                    for c in box.packets where c.arrival == end { slot.arrivalsAtWindowEnd &+= 1 }
                    emu.receiveCrossings(box)
                    box.clear()
                }
                emu.runWindow(before: end, limit: limit)
            }
            meeting = exchange.meet(window: windows)
            criticalNanoseconds &+= meeting.busiest
            writeCutFrames(final: false)
        }
        writeCutFrames(final: true)
        self.meeting = meeting
        var clock = meeting.clock
        if asked != nil && meeting.next < .never { clock = limit }
        for emu in partitions {
            emu.clock = clock
            emu.events.now = clock
            for c in emu.captures { c.flush() }
        }
        for c in cutCaptures.values { c.flush() }
        let local = partitions.map(PartitionResults.init)
        results = exchange.gather(local) ?? []
        let wall = MonotonicClock.seconds(since: wallStart)
        wallSeconds += wall
        let events = results.isEmpty ? partitions.reduce(0) { $0 + $1.eventsProcessed } - localBefore
            : results.reduce(0) { $0 + $1.eventsProcessed } - before
        return RunStats(simulated: clock.picoseconds, wallSeconds: wall, events: events)
    }

    /// Write the frames cut links carried, in the order one partition writes them, when the
    /// exchange has them here.
    func writeCutFrames(final: Bool) {
        var written = false
        if let all = exchange.cutFrames(final: final) { mergeCutCaptures(all); written = true }
        if written { for s in slots { s.captured.clear() } }
    }

    /// Frames of several partitions by the key one partition writes them in: the time, then
    /// the event's key (`EventOrder`), then partition and capture order for one event's frames.
    func mergeCutCaptures(_ parts: [(partition: Int, frames: CapturedFrames)]) {
        guard !cutCaptures.isEmpty, parts.contains(where: { !$0.frames.frames.isEmpty }) else { return }
        var all: [(slot: Int, index: Int, frame: CapturedFrames.Frame)] = []
        for (k, c) in parts { for (i, f) in c.frames.enumerated() { all.append((k, i, f)) } }
        all.sort { a, b in
            (a.frame.time, a.frame.scheduled, a.frame.order, a.slot, a.index) < (b.frame.time, b.frame.scheduled, b.frame.order, b.slot, b.index)
        }
        var bytesOf = [Int: Int]()
        for (i, p) in parts.enumerated() { bytesOf[p.partition] = i }
        for (k, _, f) in all {
            guard let w = cutCaptures[Int(f.link)] else { continue }
            parts[bytesOf[k]!].frames.bytes.withUnsafeBytes { b in
                w.write(timestampPicoseconds: f.time.picoseconds, bytes: UnsafeRawBufferPointer(rebasing: b[f.offset..<f.offset + f.length]),
                        direction: f.inbound ? .inbound : .outbound)
            }
        }
    }

    // MARK: results, merged: each figure from the partition that runs its node (where the
    // exchange writes, after a run)

    func owner(_ node: Int32) -> PartitionResults { results[Int(partitioning.partitionOf[Int(node)])] }

    public var flows: [FlowResult] {
        let base = partitions[0].flowResults
        return base.indices.map { i in
            let src = owner(partitions[0].hostNode(base[i].src)).flows[i]
            let dst = owner(partitions[0].hostNode(base[i].dst)).flows[i]
            var r = base[i]
            r.packetsSent = src.packetsSent; r.retransmittedBytes = src.retransmittedBytes
            r.packetsReceived = dst.packetsReceived; r.bytesReceived = dst.bytesReceived
            r.firstArrival = dst.firstArrival; r.lastArrival = dst.lastArrival; r.completed = dst.completed
            return r
        }
    }

    public var ports: [PortStats] {
        (0..<partitions[0].dirCount).map { d in owner(partitions[0].dirs[d].fromNode).ports[d] }
    }

    public var switchStats: [SwitchStats] {
        partitions[0].switches.indices.map { i in owner(partitions[0].switches[i].node).switches[i] }
    }

    public var hostStats: [HostStats] {
        partitions[0].hosts.indices.map { i in owner(partitions[0].hosts[i].node).hosts[i] }
    }

    public var eventCounts: EventCounts {
        var c = EventCounts()
        for e in results.map(\.eventCounts) {
            c.transmitDone += e.transmitDone; c.arrival += e.arrival; c.udpSend += e.udpSend
            c.transportTimer += e.transportTimer; c.flowStart += e.flowStart; c.recirculate += e.recirculate
            c.sample += e.sample; c.appTimer += e.appTimer; c.inject += e.inject
            c.network += e.network; c.reroute += e.reroute; c.cancelled += e.cancelled
        }
        return c
    }

    public var now: Int64 { partitions[0].now }
    /// What the routing controller installed (every partition installs the same routes).
    public var routing: RoutingSummary? { partitions[0].routing }
    public var packetHops: UInt64 { ports.reduce(0) { $0 + $1.txPackets } }
    public var packetsDelivered: UInt64 { hostStats.reduce(0) { $0 + $1.rxPackets } }
    /// Packets that crossed a cut.
    public var crossings: UInt64 { results.reduce(0) { $0 + $1.crossed } }
    public var pcapErrors: [String] {
        results.flatMap(\.pcapErrors) + cutCaptures.values.compactMap { $0.error.map { "\($0)" } }
    }
    /// Whether this process writes the report and cut links' pcaps (threads: yes; MPI: rank 0).
    public var writes: Bool { exchange.writes }

    /// The run's report, as `RunReport(emulator, stats:)` gives for one partition. `peak_packets`
    /// is the sum of the partitions' peaks (an engine figure: a crossing packet is held by its
    /// sender until the window ends).
    public func report(_ stats: RunStats) -> RunReport {
        var r = RunReport(partitions[0], stats: stats)
        r.simulatedPs = now
        r.flows = RunReport.summaries(flows, hostNames: partitions[0].hostNames)
        r.ports = ports
        r.switches = switchStats
        r.hosts = hostStats
        r.packetHops = packetHops
        r.hopsPerSecond = stats.wallSeconds > 0 ? Double(packetHops) / stats.wallSeconds : 0
        r.packetsDelivered = packetsDelivered
        r.peakPackets = results.reduce(0) { $0 + $1.peakPackets }
        return r
    }
}

extension Emulator {
    /// A partition that runs a bulk flow's receiver but not its sender learns the flow's
    /// message from the topology (its size and start), as the sender appends it when the flow
    /// starts: in start order, then flow order, the order the sender's start events run in.
    func prepareReceivedBulkMessages() {
        guard let slot else { return }
        let order = flowResults.indices.filter { flowResults[$0].kind == .bulk }.sorted {
            (flowResults[$0].start, $0) < (flowResults[$1].start, $1)
        }
        for f in order {
            let r = flowResults[f]
            guard slot.owns(hostNode(r.dst)), !slot.owns(hostNode(r.src)) else { continue }
            let c = connection(from: r.src, to: r.dst)
            c.sendLimit += UInt64(max(r.bytes, 1))
            c.messages.append(Connection.Message(end: c.sendLimit, bytes: r.bytes, tag: UInt64(f), queuedAt: r.start, flow: Int32(f)))
        }
    }
}

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
/// Applications run in the partition that runs their host: each partition attaches its own
/// (`eachPartition`), so no application object is shared between threads, and the messages
/// they send to a host another partition runs cross the cut beside their packets (between MPI
/// ranks without their attachment: an attached message is refused by name). What they record
/// is merged from values (under MPI gathered at rank 0: `MPIWorld.gather`).
///
/// Time series (`sampleInterval`): every partition samples its directions at the times one
/// partition does, each sample after the events one partition handles before it; a window never
/// runs past the next sample, and whether another sample follows is decided here, from every
/// partition's events. `series` merges them.
///
/// Under MPI every rank samples its directions; whether another sample follows is decided from
/// every rank's events (`WindowMeeting.eventsSinceSample`), and rank 0 merges the series it
/// gathers with the results.
///
/// Traces: a partition writes the per-host trace files of its hosts and keeps the queue trace
/// of its switches (`queueTrace` reads the owner's, from the results); frames of the one-file
/// host trace and pipeline trace lines are merged in the order one partition writes them,
/// where `exchange` writes: after each window on threads, in batches of windows under MPI.
///
/// Progress line (`options.progress`): where `exchange` writes, the simulated time every
/// partition reached and the partition busy longest (under MPI every few hundred windows the
/// ranks hand rank 0 their busy time).
///
/// Not yet in a parallel run (refused by name): a topology's events (links and switches that
/// change during the run).
public final class ParallelEmulation {
    public let spec: TopologySpec
    public let partitioning: Partitioning
    /// The partitions run here and their slots: every one on threads, this rank's under MPI.
    let partitions: [Emulator]
    let slots: [PartitionSlot]
    let exchange: WindowExchange
    /// Cut links' pcap writers (index: link), when pcaps are written, where `exchange` writes.
    var cutCaptures: [Int: PcapWriter] = [:]
    /// The one-file host trace (`EmulatorOptions.hostTrace`), and the pipeline traces' sink.
    var hostTrace: PcapWriter?
    let traceSink: (@Sendable (String) -> Void)?
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
    /// Time between samples (zero: no time series), the next sample's time, samples taken.
    let sampleInterval: VirtualTime
    var nextSample = VirtualTime.zero
    public private(set) var samples: UInt64 = 0
    /// `options.progress`: a progress line on standard error (the partitions print none).
    let progress: Bool
    /// When the current `run` call started (for the progress line).
    var runStarted = MonotonicClock.nanoseconds

    /// Every partition on a thread of its own.
    public convenience init(_ spec: TopologySpec, options: EmulatorOptions = EmulatorOptions(), programs: ProgramResolver,
                            partitioning: Partitioning) throws {
        try Self.refuseUnsupported(spec, options: options, mpi: false)
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
        try Self.refuseUnsupported(spec, options: options, mpi: true)
        let emu = try Emulator(spec, options: options, programs: programs, slot: PartitionSlot(index: world.rank, partitioning: partitioning))
        try self.init(spec, options: options, partitioning: partitioning, partitions: [emu],
                      exchange: MPIExchange(world: world, emulator: emu, partitioning: partitioning))
    }

    /// What parallel runs do not do yet, refused by name: a topology's events.
    static func refuseUnsupported(_ spec: TopologySpec, options: EmulatorOptions, mpi: Bool) throws {
        let run = mpi ? "a run under MPI" : "a parallel run"
        if !spec.events.isEmpty {
            throw EmulatorError("a topology's events list (links and switches that change during the run) is not available in \(run) yet; run with one partition (no \(mpi ? "--mpi" : "--threads"))")
        }
    }

    private init(_ spec: TopologySpec, options: EmulatorOptions, partitioning: Partitioning, partitions: [Emulator],
                 exchange: WindowExchange) throws {
        self.spec = spec
        self.partitioning = partitioning
        sampleInterval = VirtualTime(picoseconds: max(options.sampleInterval, 0))
        progress = options.progress
        traceSink = options.pipelineTrace?.sink
        if let path = options.hostTrace, exchange.writes {
            do { hostTrace = try PcapWriter(path: path) } catch { throw EmulatorError("cannot write the host trace \(path): \(error)") }
        }
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

    /// `body` called with every partition's emulator, in partition order, before the run: to
    /// attach applications, each partition its own objects (an application runs only in the
    /// partition of its host; attaching it everywhere keeps the numbering of applications and
    /// connections that of one partition). Merge what they record from the values they give.
    public func eachPartition<T>(_ body: (Emulator) throws -> T) rethrows -> [T] {
        try partitions.map(body)
    }

    /// Connections an application opened during the run, as "h1 -> h2": their numbers (on the
    /// wire) depend on the partitioning, so the run's result may differ from one partition's.
    /// Empty when applications open theirs when attached (`Emulator.openConnection`).
    public var unplannedConnections: [String] {
        partitions.flatMap { emu in emu.unplannedConnections.map { "\(emu.hosts[Int($0.0)].name) -> \(emu.hosts[Int($0.1)].name)" } }
    }

    /// Run until `until` (picoseconds; else the topology's `until`) or until nothing is left to do.
    @discardableResult
    public func run(until: Int64? = nil) -> RunStats {
        for emu in partitions where !emu.started { emu.start() }
        let asked = (until ?? spec.until).map(VirtualTime.init(picoseconds:)).flatMap { $0 < .never ? $0 : nil }
        let limit = min(asked ?? .never, .never - VirtualTime(picoseconds: 1))
        let lookahead = VirtualTime(picoseconds: partitioning.lookahead)
        let wallStart = MonotonicClock.nanoseconds
        runStarted = wallStart
        let before = results.reduce(0) { $0 + $1.eventsProcessed }, localBefore = partitions.reduce(0) { $0 + $1.eventsProcessed }
        let eventsBefore = results.isEmpty ? localBefore : before
        let samplesBefore = samples
        nonisolated(unsafe) let parts = partitions
        nonisolated(unsafe) let slotsNow = slots
        nonisolated(unsafe) let exchange = self.exchange
        let crew = WindowCrew(count: partitions.count)
        defer { crew.stop() }
        let sampling = sampleInterval > .zero
        var line = ProgressLine(enabled: progress && exchange.writes, limit: asked?.picoseconds)
        var meeting = self.meeting ?? exchange.meet(window: 0)
        // One closure for every window (none allocated a window), reading the window's plan.
        nonisolated(unsafe) let plan = WindowPlan()
        let window: (Int) -> Void = { i in
            let began = MonotonicClock.nanoseconds
            let slot = slotsNow[i], emu = parts[i]
            defer {
                let busy = UInt64(MonotonicClock.nanoseconds &- began)
                slot.busyNanoseconds &+= busy
                slot.windowBusyNanoseconds = busy
            }
            for box in exchange.inboxes(of: slot) {
                for c in box.packets where c.arrival == plan.end { slot.arrivalsAtWindowEnd &+= 1 }
                emu.receiveCrossings(box)
                box.clear()
            }
            if let t = plan.sampleAt { emu.sample(at: t, scheduled: plan.sampleScheduled) }
            emu.runWindow(before: plan.end, limit: limit)
        }
        while true {
            let next = meeting.next
            // One partition takes the first sample, and another after each that left events.
            let owed = sampling && nextSample <= limit && (samples == 0 || next < .never || meeting.eventsSinceSample)
            let start = owed ? min(next, nextSample) : next
            guard start <= limit else { break }
            let sampleAt: VirtualTime? = owed && start == nextSample ? nextSample : nil
            let sampleScheduled = samples == 0 ? VirtualTime.zero : nextSample - sampleInterval
            var end = start.after(lookahead)
            if owed { end = min(end, sampleAt == nil ? nextSample : nextSample.after(sampleInterval)) }
            windows += 1
            plan.end = end
            plan.sampleAt = sampleAt
            plan.sampleScheduled = sampleScheduled
            crew.run(window)
            meeting = exchange.meet(window: windows)
            criticalNanoseconds &+= meeting.busiest
            writeCutFrames(final: false)
            if traceSink != nil { mergeTraceLines(window: windows, final: false) }
            if sampleAt != nil { samples += 1; nextSample = nextSample.after(sampleInterval) }
            if progress && windows & 0xFF == 0, let figures = exchange.progressFigures() {
                // Every partition has reached the window's end: the slowest partition's time.
                line.update(simulated: min(end, limit).picoseconds, events: figures.reduce(0) { $0 + $1.events } - eventsBefore,
                            note: slowestPartitionNote(figures))
            }
        }
        line.finish()
        writeCutFrames(final: true)
        if traceSink != nil { mergeTraceLines(window: windows, final: true) }
        self.meeting = meeting
        var clock = meeting.clock
        // Left over, one partition has an event, or a sample it set after events.
        if asked != nil && (meeting.next < .never || (sampling && meeting.eventsSinceSample)) { clock = limit }
        for emu in partitions {
            emu.clock = clock
            emu.events.now = clock
            for c in emu.captures { c.flush() }
            for c in emu.hostTraceWriters { c?.flush() }
        }
        for c in cutCaptures.values { c.flush() }
        hostTrace?.flush()
        let local = partitions.map(PartitionResults.init)
        results = exchange.gather(local) ?? []
        let wall = MonotonicClock.seconds(since: wallStart)
        wallSeconds += wall
        let events = results.isEmpty ? partitions.reduce(0) { $0 + $1.eventsProcessed } - localBefore
            : results.reduce(0) { $0 + $1.eventsProcessed } - before
        return RunStats(simulated: clock.picoseconds, wallSeconds: wall, events: events + (samples - samplesBefore))
    }

    /// The partition that held the others up most (the most busy wall time), for the progress
    /// line, from every partition's figures (`WindowExchange.progressFigures`).
    func slowestPartitionNote(_ figures: [(busy: UInt64, events: UInt64)]) -> String {
        guard let (k, s) = figures.enumerated().max(by: { $0.element.busy < $1.element.busy }) else { return "" }
        let total = Double(MonotonicClock.nanoseconds &- runStarted) / 1e9
        let share = total > 0 ? Int((Double(s.busy) / 1e9 / (wallSeconds + total) * 100).rounded()) : 0
        return "slowest partition \(k) of \(partitioning.count) (busy \(min(share, 100))% of wall)"
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
        guard !cutCaptures.isEmpty || hostTrace != nil, parts.contains(where: { !$0.frames.frames.isEmpty }) else { return }
        var all: [(slot: Int, index: Int, frame: CapturedFrames.Frame)] = []
        for (k, c) in parts { for (i, f) in c.frames.enumerated() { all.append((k, i, f)) } }
        all.sort { a, b in
            (a.frame.time, a.frame.scheduled, a.frame.order, a.slot, a.index) < (b.frame.time, b.frame.scheduled, b.frame.order, b.slot, b.index)
        }
        var bytesOf = [Int: Int]()
        for (i, p) in parts.enumerated() { bytesOf[p.partition] = i }
        for (k, _, f) in all {
            guard let w = f.link < 0 ? hostTrace : cutCaptures[Int(f.link)] else { continue }
            parts[bytesOf[k]!].frames.bytes.withUnsafeBytes { b in
                w.write(timestampPicoseconds: f.time.picoseconds, bytes: UnsafeRawBufferPointer(rebasing: b[f.offset..<f.offset + f.length]),
                        direction: f.link < 0 ? .unknown : f.inbound ? .inbound : .outbound)
            }
        }
    }

    /// Hand the pipeline trace lines written since the last merge to the trace's sink, where
    /// the exchange has every partition's, in the order one partition writes them (its events'
    /// order; a partition's own lines keep theirs).
    func mergeTraceLines(window: UInt64, final: Bool) {
        guard let sink = traceSink, let parts = exchange.traceLines(window: window, final: final) else { return }
        var all: [(time: VirtualTime, scheduled: VirtualTime, order: UInt64, part: Int, index: Int)] = []
        for (k, p) in parts.enumerated() { for (i, l) in p.lines.enumerated() { all.append((l.time, l.scheduled, l.order, k, i)) } }
        all.sort { ($0.time, $0.scheduled, $0.order, $0.part, $0.index) < ($1.time, $1.scheduled, $1.order, $1.part, $1.index) }
        for x in all { sink(parts[x.part].lines[x.index].text) }
        for s in slots { s.traceLines.removeAll(keepingCapacity: true) }
    }

    /// The enqueues at switch `name`'s port `port` (`Emulator.queueTrace`), from the results of
    /// the partition that runs the switch (where the exchange writes, after a run).
    public func queueTrace(switch name: String, port: UInt16) throws -> [QueueTraceEntry] {
        let d = try partitions[0].queueDirection(switch: name, port: port)
        let k = Int(partitioning.partitionOf[Int(partitions[0].dirs[d].fromNode)])
        return k < results.count ? results[k].queueLog.entries(direction: d) : []
    }

    /// The switch ports that saw an enqueue (`Emulator.queueTracePorts`), in the order of their
    /// links (where the exchange writes, after a run).
    public var queueTracePorts: [(switch: String, port: UInt16)] {
        let e = partitions[0]
        var seen = [Bool](repeating: false, count: e.dirCount)
        for r in results { for d in r.queueLog.directions { seen[Int(d)] = true } }
        return (0..<e.dirCount).filter { seen[$0] }.map { d in (spec.nodes[Int(e.dirs[d].fromNode)].name, e.dirs[d].fromPort) }
    }

    /// The host trace files written (`Emulator.hostTraceFiles`): the one-file trace, then each
    /// host's file as the partition that wrote it counted it (where the exchange writes, after a run).
    public var hostTraceFiles: [(path: String, packets: Int, bytes: Int, error: String?)] {
        let perHost = results.flatMap(\.hostTraceFiles).sorted { $0.host < $1.host }
        return (hostTrace.map { w in [(w.path, w.packetsWritten, w.bytesWritten, w.error.map { "\($0)" })] } ?? [])
            + perHost.map { ($0.path, $0.packets, $0.bytes, $0.error) }
    }

    // MARK: results, merged: each figure from the partition that runs its node (where the
    // exchange writes, after a run)

    func owner(_ node: Int32) -> PartitionResults { results[Int(partitioning.partitionOf[Int(node)])] }
    /// The emulator that runs `node` (on threads every partition is here).
    func ownerPartition(_ node: Int32) -> Emulator { partitions[Int(partitioning.partitionOf[Int(node)])] }

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
            c.appTimer += e.appTimer; c.inject += e.inject
            c.network += e.network; c.reroute += e.reroute; c.cancelled += e.cancelled
        }
        c.sample = samples
        return c
    }

    /// The time series, merged: each direction's samples from the partition that sends on it.
    var series: TimeSeries {
        TimeSeries.merging(results.map(\.series), owner: (0..<partitions[0].dirCount).map { d in
            Int(partitioning.partitionOf[Int(partitions[0].dirs[d].fromNode)])
        })
    }

    /// Write the report folder one partition writes (`Emulator.writeReport`).
    @discardableResult
    public func writeReport(_ report: RunReport, to directory: String) throws -> String {
        try partitions[0].writeReport(report, series: series, to: directory)
    }

    public var now: Int64 { partitions[0].now }
    /// What the routing controller installed (every partition installs the same routes).
    public var routing: RoutingSummary? { partitions[0].routing }
    public var packetHops: UInt64 { ports.reduce(0) { $0 + $1.txPackets } }
    public var packetsDelivered: UInt64 { hostStats.reduce(0) { $0 + $1.rxPackets } }
    /// Packets that crossed a cut.
    public var crossings: UInt64 { results.reduce(0) { $0 + $1.crossed } }
    /// Frame bytes the packets that crossed a cut carried (each up to its last non-zero byte:
    /// what travels between partitions beside a fixed record a packet).
    public var crossingBytes: UInt64 { results.reduce(0) { $0 + $1.crossedBytes } }
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

/// What every partition's thread reads to run a window: written by the coordinating thread
/// before the window starts (`WindowCrew.run` publishes it), read-only during the window.
final class WindowPlan {
    var end = VirtualTime.zero
    /// The sample to take first, if any, and when one partition schedules it.
    var sampleAt: VirtualTime?
    var sampleScheduled = VirtualTime.zero
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

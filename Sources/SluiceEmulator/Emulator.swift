import SluiceControlPlane
import SluiceIR
import SluiceRuntime
import SluicePcapFiles
import Foundation
import SluiceSupport

/// Settings of a run that are not part of the topology.
public struct EmulatorOptions: Sendable {
    /// Seeds loss, ECN marking, programs' `random` and traffic patterns.
    public var seed: UInt64 = 1
    /// Write pcaps here: links marked `capture`, or every link when none is marked.
    public var pcapDirectory: String?
    /// Frames in those pcaps are cut to this many bytes (their original length kept), unless
    /// the link's `capture` gives its own.
    public var pcapSnaplen = 65535
    /// Sample queue depths and link bytes this often (picoseconds); 0: no time series.
    public var sampleInterval: Int64 = 0
    /// Print a progress line to standard error on runs longer than a second.
    public var progress = false
    /// Transport: smallest retransmission timeout and initial window (packets).
    public var minRTO: Int64 = 1_000_000_000
    public var initialWindow = 10
    /// Transport: data a host's connections may have waiting in its NIC queue (bytes), like
    /// Linux's TCP small queues: beyond it the window's data waits in the connection and goes
    /// out as the NIC drains. Without such a limit a window grown in slow start sits in the NIC
    /// queue, the round trip grows with it, and retransmission timers fire on data that is
    /// only queued. Acknowledgements and datagrams are never held back. 0 (the default): no
    /// limit, as runs before this option; the in-network aggregation experiments set 128 KiB.
    public var hostQueueLimit = 0
    /// Bytes every frame costs on a wire beyond its own: 24 for Ethernet (FCS 4, preamble and
    /// start delimiter 8, inter-frame gap 12). 0 (the default) serializes the frame's bytes only,
    /// as the topology runs and figures before this option did; experiments that compare
    /// against a line-rate bound set 24.
    public var wireOverhead = 0
    /// What the reliable transport's packets look like on the wire (`TransportShape`); nil:
    /// the topology's `transport`, else RoCEv2.
    public var transport: TransportShape?
    /// Write one pcap here of every frame any host sends, stamped when its transmission
    /// starts: the whole workload as the hosts put it on the wire, in time order.
    public var hostTrace: String?
    /// Write one pcap per host here (`NAME.pcap`): the frames it sends (stamped at the start of
    /// transmission) and receives (stamped at arrival).
    public var hostTraceDirectory: String?
    /// Transport source ports drawn from this seed per connection (0xC000 | 14 random bits), as
    /// NICs pick queue pair numbers; nil: from the connection number (the same every run).
    /// ECMP sees only this entropy, so experiments on hash collisions vary it by seed.
    public var sourcePortSeed: UInt64?
    /// Record every enqueue at a switch port: time, port and the bytes queued once the packet
    /// joined (`Emulator.queueTrace(switch:port:)`), the depth programs read as `enq_qdepth`.
    public var queueTrace = false
    /// Switches whose pipelines trace the packets they handle (`PipelineTracer`), and how.
    public var pipelineTrace: PipelineTraceRequest?
    /// What runs the switches' pipelines (`SLUICE_ENGINE`, else native code); where native code
    /// cannot run a program the closures do, and `Emulator.engineSummary` says why.
    public var engine: PipelineEngine = .default
    public init() {}
}

/// Pipeline traces in an emulated network: the switches named trace each packet (compiled
/// traced; the others run as always), with the switch's name in every packet's first line.
public struct PipelineTraceRequest: Sendable {
    public var switches: [String]
    public var format: PipelineTracer.Format
    public var filter: TraceFilter?
    public var sink: @Sendable (String) -> Void
    public init(switches: [String], format: PipelineTracer.Format = .text, filter: TraceFilter? = nil,
                sink: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.switches = switches; self.format = format; self.filter = filter; self.sink = sink
    }
}

/// A topology could not be built into a network: names the node or link and what to change.
public struct EmulatorError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The packet-level emulator: builds a network of switches (compiled Sluice pipelines) and
/// hosts from a `TopologySpec`, then runs it in virtual time (integer picoseconds). One
/// thread, deterministic: the same topology, options and seed give the same bytes out.
public final class Emulator {
    public let spec: TopologySpec
    public let options: EmulatorOptions
    /// The time of the event being processed.
    @exclusivity(unchecked) var clock = VirtualTime.zero
    /// `clock` in picoseconds, the unit of the public API.
    public var now: Int64 { clock.picoseconds }
    @exclusivity(unchecked) var events: EventHeap
    let pool: PacketPool
    @exclusivity(unchecked) var dirs: UnsafeMutablePointer<LinkDirection>
    let dirCount: Int
    let switches: [SwitchNode]
    let hosts: [HostNode]
    /// Host index of a topology node (-1: a switch).
    let hostOfNode: [Int32]
    /// The same nodes, unretained, for the per-packet paths (no reference counting there).
    let switchRefs: UnsafeMutablePointer<Unmanaged<SwitchNode>>
    let hostRefs: UnsafeMutablePointer<Unmanaged<HostNode>>
    /// Node index -> switch index, or -(host index + 1).
    let nodeRole: [Int32]
    /// Constant-rate flows' state, in memory of its own: `udpSend` changes a flow in place
    /// through a pointer, which an array element gives only within an access to it.
    @exclusivity(unchecked) var udpFlows = UnsafeMutableBufferPointer<UDPFlowState>(start: nil, count: 0)
    @exclusivity(unchecked) var flowResults: [FlowResult] = []
    @exclusivity(unchecked) var connections: [Connection] = []
    /// (source host, destination host) -> connection, used when sending starts (never per packet).
    @exclusivity(unchecked) var connectionIndex: [Int64: Int32] = [:]
    /// Connections a partition opened during the run, (source host, destination host): their
    /// numbers depend on the partitioning (`openConnection`).
    var unplannedConnections: [(Int32, Int32)] = []
    /// Attached applications by id, the host each runs on, and each host's ids in attach order.
    /// Timers and acknowledgements go to the application that asked for them (by id).
    @exclusivity(unchecked) var apps: [any Application] = []
    @exclusivity(unchecked) var appHost: [Int32] = []
    @exclusivity(unchecked) var applications: [[Int32]]
    /// UDP ports bound on each host (`HostAPI.bind`): few per host, scanned per datagram.
    @exclusivity(unchecked) var bound: [[BoundPort]]
    @exclusivity(unchecked) var captures: [PcapWriter] = []
    /// `hostTrace` and `hostTraceDirectory` writers (index: host), when asked for.
    @exclusivity(unchecked) var hostTraceWriter: PcapWriter?
    @exclusivity(unchecked) var hostTraceWriters: [PcapWriter?] = []
    let hostTracing: Bool
    /// `options.queueTrace`, and what it recorded.
    let queueTracing: Bool
    @exclusivity(unchecked) var queueLog = QueueTrace()
    /// Offsets and sizes of the transport header of this run's shape.
    let layout: TransportLayout
    /// Captured frames injected at nodes (`inject`).
    @exclusivity(unchecked) var traces: [TraceState] = []
    @exclusivity(unchecked) var controllers: [(any ProgramController)?]
    @exclusivity(unchecked) public internal(set) var eventsProcessed: UInt64 = 0
    /// Events processed by kind (index: `EventKind.rawValue`): the work a run did, which tests pin.
    let kindCounts: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: EventCounts.kinds)
        p.initialize(repeating: 0, count: EventCounts.kinds)
        return p
    }()
    @exclusivity(unchecked) var series = TimeSeries()
    @exclusivity(unchecked) var started = false
    /// What the routing controller installed, when some switch asked for routes (after a
    /// recompute, what it installed last).
    public internal(set) var routing: RoutingSummary?
    /// Scheduled changes to the network, which links and switches are up, and what each change did.
    @exclusivity(unchecked) var network: NetworkState
    /// Each routed switch's route installer and control plane (node index), for recomputes.
    let routeInstallers: [Int: any RouteInstaller]
    let routedPipelines: [Int: Pipeline]
    /// The partition this emulator runs in a parallel run (`ParallelEmulation`); nil: the whole network.
    let slot: PartitionSlot?

    /// `programs` turns the switches' program names into programs (`ProgramRegistry.resolver`
    /// for the built-in ones; `replacing` runs one with other parameters); program files are
    /// read through it too.
    public convenience init(_ spec: TopologySpec, options: EmulatorOptions = EmulatorOptions(), programs: ProgramResolver) throws {
        try self.init(spec, options: options, programs: programs, slot: nil)
    }

    /// `slot`: run only that partition's nodes (`ParallelEmulation`).
    init(_ spec: TopologySpec, options: EmulatorOptions, programs: ProgramResolver, slot: PartitionSlot?) throws {
        self.spec = spec
        self.options = options
        self.slot = slot
        guard spec.nodes.count < EventOrder.maxCauses else {
            throw EmulatorError("the topology has \(spec.nodes.count) nodes; the emulator orders events of at most \(EventOrder.maxCauses - 1)")
        }
        events = EventHeap(nodes: spec.nodes.count)
        if let t = options.pipelineTrace {
            let names = spec.switches.map { spec.nodes[$0].name }
            for n in t.switches where !names.contains(n) {
                throw EmulatorError("--trace \(n): no switch '\(n)' in the topology; switches: \(names.joined(separator: ", "))")
            }
        }
        var role = [Int32](repeating: 0, count: spec.nodes.count)
        var sw: [SwitchNode] = []
        var hs: [HostNode] = []
        var ctrls: [(any ProgramController)?] = []
        var bridgeWords = 1
        // Ports of each node -> the direction leaving it.
        var portsOf = [[UInt16: Int32]](repeating: [:], count: spec.nodes.count)
        for (i, l) in spec.links.enumerated() {
            for (end, d) in [(l.a, Int32(2 * i)), (l.b, Int32(2 * i + 1))] {
                guard end.node >= 0 && end.node < spec.nodes.count else {
                    throw EmulatorError("link \(i) \(l.origin): node index \(end.node) does not exist")
                }
                if portsOf[end.node][end.port] != nil {
                    throw EmulatorError("node '\(spec.nodes[end.node].name)' port \(end.port) has two links; give each link its own port")
                }
                portsOf[end.node][end.port] = d
            }
        }
        var pipelines: [Int: Pipeline] = [:]
        var routes: [Int: any RouteInstaller] = [:]
        var resolved: [String: ResolvedProgram] = [:]   // each program is built once a run
        for (n, node) in spec.nodes.enumerated() {
            switch node.kind {
            case .host(let h):
                role[n] = -Int32(hs.count + 1)
                let host = HostNode(node: Int32(n), name: node.name, ipv4: h.ipv4, mac: node.mac)
                if portsOf[n].count > 1 {
                    throw EmulatorError("host '\(node.name)' has \(portsOf[n].count) links; a host has one NIC (connect it to one switch)")
                }
                host.nic = portsOf[n].values.first ?? -1
                hs.append(host)
            case .switch(let s):
                let r: ResolvedProgram
                if let file = s.programFile {
                    // Read and verified with the topology file.
                    r = ResolvedProgram(name: s.program, program: file)
                } else if let known = resolved[s.program] {
                    r = known
                } else {
                    do { r = try programs.resolve(s.program) } catch { throw EmulatorError("switch '\(node.name)': \(error)") }
                    resolved[s.program] = r
                }
                let program = r.program, makeController = r.controller
                if let like = s.routesLike { routes[n] = programs.program(named: like)?.routes } else if let hook = r.routes { routes[n] = hook }
                let p: Pipeline
                let tracer = options.pipelineTrace.flatMap { t -> PipelineTracer? in
                    // A partition's lines wait in its slot, to be merged in event order.
                    let sink: @Sendable (String) -> Void = slot?.traceSink ?? t.sink
                    return t.switches.contains(node.name) ? PipelineTracer(format: t.format, filter: t.filter, label: node.name, sink: sink) : nil
                }
                do { p = try Pipeline(program, seed: options.seed &+ UInt64(n), queues: true, engine: options.engine, trace: tracer) } catch let e as TraceFilterError {
                    throw EmulatorError("switch '\(node.name)' (program '\(s.program)'): \(e)")
                } catch {
                    throw EmulatorError("switch '\(node.name)': program '\(s.program)' does not compile: \(error)")
                }
                let ports = portsOf[n].keys.sorted()
                var controller: (any ProgramController)? = nil
                if let make = makeController {
                    let c = make(ports)
                    do { try c.setup(p) } catch { throw EmulatorError("switch '\(node.name)': the controller of '\(s.program)' failed: \(error)") }
                    controller = c
                }
                if let e = s.entries {
                    do { try EntriesFile(path: e).apply(to: p) } catch {
                        throw EmulatorError("switch '\(node.name)': \(error)")
                    }
                }
                bridgeWords = max(bridgeWords, p.bridgeWords)
                role[n] = Int32(sw.count)
                pipelines[n] = p
                sw.append(SwitchNode(node: Int32(n), name: node.name, pipeline: p, ports: portsOf[n],
                                     latency: VirtualTime(picoseconds: s.pipelineLatency), buffer: s.buffer))
                ctrls.append(controller)
                sw[sw.count - 1].hasController = controller != nil
            }
        }
        nodeRole = role
        switches = sw
        hosts = hs
        hostOfNode = role.map { $0 < 0 ? -$0 - 1 : -1 }
        switchRefs = .allocate(capacity: max(sw.count, 1))
        for (i, x) in sw.enumerated() { (switchRefs + i).initialize(to: .passUnretained(x)) }
        hostRefs = .allocate(capacity: max(hs.count, 1))
        for (i, x) in hs.enumerated() { (hostRefs + i).initialize(to: .passUnretained(x)) }
        controllers = ctrls
        applications = Array(repeating: [], count: hs.count)
        bound = Array(repeating: [], count: hs.count)
        let maxMTU = spec.links.map(\.mtu).max() ?? 1500
        pool = PacketPool(maxFrame: maxMTU + HostStack.ethernet, bridgeWords: bridgeWords)

        // Routes for switches that ask for them.
        if spec.nodes.contains(where: { $0.switchSpec?.routing == true }) {
            do {
                routing = try RoutingController.install(spec, routes: { routes[$0] }, routedPrograms: programs.routedNames) { pipelines[$0] }
            } catch {
                throw EmulatorError("routing: \(error)")
            }
        }

        routeInstallers = routes
        routedPipelines = pipelines
        network = NetworkState(spec)

        // Link directions.
        dirCount = spec.links.count * 2
        dirs = .allocate(capacity: max(dirCount, 1))
        var seedRNG = SplitMix64(seed: options.seed ^ 0x5EED_11AC)
        let captureAll = !spec.links.contains { $0.capture }
        for (i, l) in spec.links.enumerated() {
            var capture: Int32 = -1
            if options.pcapDirectory != nil, captureAll || l.capture, let mine = slot?.capture(link: l) {
                // A partition writes the links inside it; a cut link's frames go to its
                // `ParallelEmulation`, which merges both directions in event order.
                capture = mine ? -2 - 2 * Int32(i) : -1
            } else if let dir = options.pcapDirectory, captureAll || l.capture {
                do { captures.append(try Self.linkCapture(spec, link: i, directory: dir, options: options)) } catch {
                    throw EmulatorError("cannot write the pcap for link \(spec.nodes[l.a.node].name):\(l.a.port) -- \(spec.nodes[l.b.node].name):\(l.b.port): \(error)")
                }
                // The writer's index times two, plus one for the b -> a direction.
                capture = Int32(captures.count - 1) * 2
            }
            for (from, to, d) in [(l.a, l.b, 2 * i), (l.b, l.a, 2 * i + 1)] {
                let fromRole = role[from.node], toRole = role[to.node]
                let q = l.queue
                let hostSide = fromRole < 0
                let latency = toRole >= 0 ? sw[Int(toRole)].latency : .zero
                var ecnKmin = -1, ecnKmax = 0
                var pmax: UInt64 = 0
                if let e = q.ecn, !hostSide {
                    ecnKmin = e.kmin; ecnKmax = max(e.kmax, e.kmin)
                    pmax = UInt64(max(0, min(1, e.pmax)) * 4_294_967_296.0)
                }
                (dirs + d).initialize(to: LinkDirection(
                    fromNode: Int32(from.node), fromPort: from.port, toNode: Int32(to.node), toPort: to.port,
                    fromSwitch: fromRole >= 0 ? fromRole : -1, toSwitchOrHost: toRole, link: Int32(i),
                    rate: max(l.rate, 1), delay: VirtualTime(picoseconds: l.delay), receiverLatency: latency,
                    lossThreshold: l.loss <= 0 ? 0 : (l.loss >= 1 ? UInt64.max : UInt64(l.loss * 18_446_744_073_709_551_616.0)),
                    maxFrame: l.mtu + HostStack.ethernet,
                    // Host NICs back-pressure their senders instead of dropping.
                    limitBytes: hostSide ? Int.max : (q.limitBytes ?? Int.max),
                    limitPackets: hostSide ? Int.max : (q.limitPackets ?? Int.max),
                    ecnKmin: ecnKmin, ecnKmax: ecnKmax, ecnPmax: pmax,
                    rng: SplitMix64(seed: seedRNG.next()), capture: capture == -1 ? -1 : capture < 0 ? capture - Int32(d & 1) : capture + Int32(d & 1),
                    queue: Ring(capacity: 64), pipe: Ring(capacity: 64)))
            }
        }

        // Host traces.
        layout = TransportLayout(options.transport ?? spec.transport ?? .rocev2)
        hostTracing = options.hostTrace != nil || options.hostTraceDirectory != nil
        queueTracing = options.queueTrace
        if let path = options.hostTrace, slot == nil {
            do { hostTraceWriter = try PcapWriter(path: path) } catch {
                throw EmulatorError("cannot write the host trace \(path): \(error)")
            }
        }
        if let dir = options.hostTraceDirectory {
            for h in hs {
                // A partition writes the files of its own hosts.
                if let slot, !slot.owns(h.node) { hostTraceWriters.append(nil); continue }
                let path = (dir as NSString).appendingPathComponent("\(h.name).pcap")
                do { hostTraceWriters.append(try PcapWriter(path: path)) } catch {
                    throw EmulatorError("cannot write the trace of host \(h.name): \(error)")
                }
            }
        }

        // Flows.
        let reach = Reachability(spec)
        var udp: [UDPFlowState] = []
        for (f, flow) in spec.flows.enumerated() {
            guard role[flow.src] < 0, role[flow.dst] < 0 else {
                throw EmulatorError("flow \(f) \(flow.origin): both ends must be hosts")
            }
            guard reach.connects(flow.src, flow.dst) else {
                let from = spec.nodes[flow.src].name, to = spec.nodes[flow.dst].name
                throw EmulatorError("flow \(f)\(flow.origin.isEmpty ? "" : " " + flow.origin) (\(from) -> \(to)): " + Reachability.problem(from: from, to: to) + " (valid: \(Reachability.valid))")
            }
            let src = Int32(-role[flow.src] - 1), dst = Int32(-role[flow.dst] - 1)
            flowResults.append(FlowResult(index: f, kind: flow.kind, src: src, dst: dst, bytes: flow.bytes, start: flow.start))
            switch flow.kind {
            case .udp(let rate):
                udp.append(UDPFlowState(flow: Int32(f), src: src, dst: dst, rate: max(rate, 1),
                                        payload: max(flow.payload, UDPFlowState.tagBytes), total: flow.bytes,
                                        start: VirtualTime(picoseconds: flow.start), srcPort: flow.srcPort, dstPort: flow.dstPort))
            case .bulk:
                break
            }
        }
        udpFlows = .allocate(capacity: udp.count)
        _ = udpFlows.initialize(from: udp)
        // Bulk flows' connections, numbered in flow order (the number is on the wire): the same
        // whichever partition starts which flow.
        for r in flowResults where r.kind == .bulk { _ = connection(from: r.src, to: r.dst) }
    }

    /// The file a link's frames are captured in.
    static func pcapName(_ spec: TopologySpec, link i: Int) -> String {
        let l = spec.links[i]
        return "\(spec.nodes[l.a.node].name)-\(l.a.port)--\(spec.nodes[l.b.node].name)-\(l.b.port).pcapng"
    }

    /// A link's capture in `directory`: pcapng seen from the a end, as tcpdump on that port
    /// would see it: a -> b outbound, b -> a inbound (epb_flags).
    static func linkCapture(_ spec: TopologySpec, link i: Int, directory: String, options: EmulatorOptions) throws -> PcapWriter {
        let l = spec.links[i]
        let a = "\(spec.nodes[l.a.node].name):\(l.a.port)", b = "\(spec.nodes[l.b.node].name):\(l.b.port)"
        let path = (directory as NSString).appendingPathComponent(pcapName(spec, link: i))
        let interface = PcapngInterface(name: a, description: "link \(a) -- \(b) seen from \(a): outbound \(a) -> \(b), inbound \(b) -> \(a)")
        return try PcapWriter(path: path, snaplen: l.captureSnaplen ?? options.pcapSnaplen, format: .pcapng(interfaces: [interface]))
    }

    deinit {
        for d in 0..<dirCount { dirs[d].queue.deallocate(); dirs[d].pipe.deallocate() }
        dirs.deinitialize(count: dirCount)
        dirs.deallocate()
        events.deallocate()
        kindCounts.deallocate()
        switchRefs.deallocate()
        hostRefs.deallocate()
        udpFlows.deallocate()
    }

    // MARK: running

    /// Attach an application to a host (before `run`). Its `start` runs at time 0.
    public func attach(_ app: any Application, host name: String) throws {
        guard let n = spec.node(named: name), nodeRole[n] < 0 else {
            throw EmulatorError("no host named '\(name)'; hosts: \(hosts.map(\.name).joined(separator: ", "))")
        }
        let h = -nodeRole[n] - 1
        applications[Int(h)].append(Int32(apps.count))
        apps.append(app)
        appHost.append(h)
    }

    func start() {
        started = true
        // Changes to the network first: at the same time as a send, the network has changed.
        for (i, n) in network.events.enumerated() { events.push(VirtualTime(picoseconds: n.time), .network, target: Int32(i)) }
        for (i, u) in udpFlows.enumerated() { events.push(u.start, .udpSend, target: Int32(i)) }
        for (f, flow) in spec.flows.enumerated() where flow.kind == .bulk {
            events.push(VirtualTime(picoseconds: flow.start), .flowStart, target: Int32(f))
        }
        for h in applications.indices where slot?.owns(hostNode(Int32(h))) ?? true {
            // What an application does at its start, its host caused.
            events.cause = Int(hostNode(Int32(h))) + 1
            for a in applications[h] { apps[Int(a)].start(HostAPI(emulator: self, host: Int32(h), app: a)) }
            events.cause = 0
        }
        startTraces()
        // A partition samples when its parallel run says (`ParallelEmulation.run`): whether
        // another sample follows depends on every partition's events.
        if options.sampleInterval > 0 && slot == nil { events.push(.zero, .sample, target: 0) }
        if slot != nil { keepOwnedEvents() }
    }

    /// Event `e`, just popped: the clock moves to it, it is counted, and what it schedules is
    /// caused by its node (the ordering key of same-time events) at its time.
    @inline(__always) func handle(_ e: Event) {
        clock = e.time
        eventsProcessed &+= 1
        kindCounts[e.kindIndex] &+= 1
        events.cause = Int(node(of: e)) + 1
        events.now = e.time
        dispatch(e)
    }

    /// Run until `until` (picoseconds) or until nothing is left to do. Can be called again to
    /// continue.
    @discardableResult
    public func run(until: Int64? = nil) -> RunStats {
        if !started { start() }
        let asked = (until ?? spec.until).map(VirtualTime.init(picoseconds:)).flatMap { $0 < .never ? $0 : nil }
        // An event at `never` (a time that saturated) is never processed: the run ends before it.
        let limit = min(asked ?? .never, .never - VirtualTime(picoseconds: 1))
        let wallStart = MonotonicClock.nanoseconds
        var progress = ProgressLine(enabled: options.progress, limit: asked?.picoseconds)
        let eventsBefore = eventsProcessed
        while let e = events.pop(notAfter: limit) {
            handle(e)
            if eventsProcessed & 0xFFFF == 0 { progress.update(simulated: clock.picoseconds, events: eventsProcessed - eventsBefore) }
        }
        if asked != nil && events.count > 0 { clock = limit }
        events.cause = 0
        events.now = clock
        progress.finish()
        for c in captures { c.flush() }
        hostTraceWriter?.flush()
        for c in hostTraceWriters { c?.flush() }
        let wall = MonotonicClock.seconds(since: wallStart)
        return RunStats(simulated: now, wallSeconds: wall, events: eventsProcessed - eventsBefore)
    }

    @inline(__always) func dispatch(_ e: Event) {
        switch e.kind {
        case .arrival: arrival(direction: Int(e.target))
        case .transmitDone: transmitDone(direction: Int(e.target))
        case .udpSend: udpSend(Int(e.target))
        case .transportTimer: transportTimer(Int(e.target))
        case .flowStart: bulkStart(Int(e.target))
        case .recirculate: switchIngress(Int(e.target), packet: e.arg, port: 0, recirculated: true)
        case .sample: sample()
        case .appTimer: appTimer(app: e.target, token: Int(e.arg))
        case .inject: injectFrame(trace: Int(e.target), frame: Int(e.arg))
        case .network: applyNetworkEvent(Int(e.target))
        case .reroute: reroute(learning: Int(e.target))
        case .cancelled: break
        }
    }

    // MARK: links and queues

    /// Put packet `p` into the egress queue of direction `d` (or straight onto the wire when
    /// the link is idle).
    @inline(__always) func enqueue(_ d: Int, _ p: Int32) {
        let dir = dirs + d
        let len = pool.length(p)
        if dir.pointee.queue.isEmpty && dir.pointee.busyUntil <= clock {
            pool.enqueuedAt[Int(p)] = clock
            pool.enqueueDepth[Int(p)] = 0
            if queueTracing && dir.pointee.fromSwitch >= 0 { queueLog.record(time: clock, direction: d, bytes: 0) }
            startTransmission(d, p)
            return
        }
        let sw = dir.pointee.fromSwitch
        if dir.pointee.queueBytes + len > dir.pointee.limitBytes || dir.pointee.queue.count >= dir.pointee.limitPackets {
            if dir.pointee.isDown { dir.pointee.droppedWhileDown += 1 } else { dir.pointee.queueDrops += 1 }
            pool.release(p)
            return
        }
        if sw >= 0 {
            let full = switchRefs[Int(sw)]._withUnsafeGuaranteedRef { s in
                if s.bufferUsed + len > s.buffer { s.bufferDrops += 1; return true }
                s.bufferUsed += len
                return false
            }
            if full { dir.pointee.queueDrops += 1; pool.release(p); return }
        }
        if dir.pointee.ecnKmin >= 0 { markECN(dir, p) }
        pool.enqueuedAt[Int(p)] = clock
        dir.pointee.queue.append(p)
        dir.pointee.queueBytes += len
        // Bytes waiting once this packet joined (itself included, the frame on the wire not):
        // the depth the queue observer records.
        pool.enqueueDepth[Int(p)] = UInt32(clamping: dir.pointee.queueBytes)
        if queueTracing && sw >= 0 { queueLog.record(time: clock, direction: d, bytes: pool.enqueueDepth[Int(p)]) }
        if dir.pointee.queueBytes > dir.pointee.maxQueueBytes { dir.pointee.maxQueueBytes = dir.pointee.queueBytes }
        if dir.pointee.queueBytes > dir.pointee.sampleMaxQueue { dir.pointee.sampleMaxQueue = dir.pointee.queueBytes }
        if !dir.pointee.transmitPending {
            dir.pointee.transmitPending = true
            events.push(dir.pointee.busyUntil, .transmitDone, target: Int32(d))
        }
    }

    /// RED-style marking on the instantaneous queue (bytes ahead of this packet).
    @inline(__always) func markECN(_ dir: UnsafeMutablePointer<LinkDirection>, _ p: Int32) {
        let q = dir.pointee.queueBytes
        guard q > dir.pointee.ecnKmin else { return }
        var mark = q >= dir.pointee.ecnKmax
        if !mark {
            let span = UInt64(dir.pointee.ecnKmax - dir.pointee.ecnKmin)
            let prob = dir.pointee.ecnPmax * UInt64(q - dir.pointee.ecnKmin) / span   // scaled 2^32
            mark = dir.pointee.rng.next() >> 32 < prob
        }
        if mark {
            if HostStack.markCE(pool.data(p), length: pool.length(p)) {
                dir.pointee.ecnMarks += 1
                if q < dir.pointee.minMarkedQueue { dir.pointee.minMarkedQueue = q }
            }
        }
    }

    /// The wire is free: dequeue until a packet is sent (egress may drop some).
    func transmitDone(direction d: Int) {
        let dir = dirs + d
        dir.pointee.transmitPending = false
        while !dir.pointee.queue.isEmpty && dir.pointee.busyUntil <= clock {
            let p = dir.pointee.queue.removeFirst()
            if !dir.pointee.queue.isEmpty { pool.prefetch(dir.pointee.queue.first) }
            let len = pool.length(p)
            dir.pointee.queueBytes -= len
            if dir.pointee.fromSwitch >= 0 { switchRefs[Int(dir.pointee.fromSwitch)]._withUnsafeGuaranteedRef { $0.bufferUsed -= len } }
            startTransmission(d, p)
        }
        if dir.pointee.fromSwitch < 0 { resumeHeldConnections(nic: d) }
        if !dir.pointee.queue.isEmpty && !dir.pointee.transmitPending {
            dir.pointee.transmitPending = true
            events.push(dir.pointee.busyUntil, .transmitDone, target: Int32(d))
        }
    }

    /// Run the sending switch's egress, then serialize `p` onto direction `d`.
    @inline(__always) func startTransmission(_ d: Int, _ p: Int32) {
        let dir = dirs + d
        let sw = dir.pointee.fromSwitch
        if sw >= 0 {
            let bridge = pool.bridgeWords(p)
            let decision: Pipeline.EgressDecision
            if switchRefs[Int(sw)]._withUnsafeGuaranteedRef({ $0.hasEgress }) {
                let tag = pool.tag[Int(p)]
                let qs = queueState(dir, sw, p)
                let port = dir.pointee.fromPort
                decision = switchRefs[Int(sw)]._withUnsafeGuaranteedRef { s in
                    pool.passRuns(p, headerBytes: s.headerBytes)
                    return pool.with(p) { buf in
                        s.pipeline.runEgress(buf, port: port, rid: tag.rid,
                                             replica: tag.isReplica, bridge: bridge, queue: qs)
                    }
                }
            } else {
                // No egress control: no queue values, no call.
                decision = switchRefs[Int(sw)]._withUnsafeGuaranteedRef { $0.pipeline.runEgressWithoutControl(bridge: bridge) }
            }
            switch decision {
            case .send: break
            case .drop:
                dir.pointee.egressDrops += 1
                pool.release(p)
                return
            case .recirculate:
                let latency = switchRefs[Int(sw)]._withUnsafeGuaranteedRef { s in s.recirculations += 1; return s.latency }
                pool.pass[Int(p)] &+= 1
                events.push(clock.after(latency), .recirculate, target: sw, arg: p)
                return
            }
        }
        let len = pool.length(p)
        if len > dir.pointee.maxFrame {
            dir.pointee.mtuDrops += 1
            pool.release(p)
            return
        }
        let done = clock.after(dir.pointee.serialization(bytes: len &+ options.wireOverhead))
        dir.pointee.busyUntil = done
        dir.pointee.txPackets += 1
        dir.pointee.txBytes += UInt64(len)
        if dir.pointee.capture >= 0 {
            let c = dir.pointee.capture
            captures[Int(c >> 1)].write(timestampPicoseconds: clock.picoseconds, bytes: UnsafeRawBufferPointer(start: pool.data(p), count: len),
                                        direction: c & 1 == 0 ? .outbound : .inbound)
        } else if dir.pointee.capture != -1 {
            let c = -2 - dir.pointee.capture
            slot.unsafelyUnwrapped.captureCut(link: c >> 1, inbound: c & 1 == 1, time: clock, bytes: pool.data(p), length: len)
        }
        if hostTracing && sw < 0 { traceHostFrame(direction: dir, packet: p, length: len, sent: true) }
        if dir.pointee.lossThreshold != 0 && dir.pointee.rng.next() < dir.pointee.lossThreshold {
            dir.pointee.lost += 1
            pool.release(p)
            return
        }
        let arrival = done.after(dir.pointee.delay).after(dir.pointee.receiverLatency)
        // Keyed by the sending node now, whoever schedules the arrival event later.
        let order = events.nextOrder(cause: Int(dir.pointee.fromNode) + 1)
        if dir.pointee.crossesTo >= 0 {
            sendAcross(d, p, arrival: arrival, sequence: EventOrder.sequence(order))
            return
        }
        dir.pointee.pipe.append(LinkDirection.InFlight(packet: p, sequence: EventOrder.sequence(order), arrival: arrival, sent: clock))
        if !dir.pointee.arrivalPending {
            dir.pointee.arrivalPending = true
            events.push(arrival, .arrival, target: Int32(d), scheduled: clock, order: order)
        }
    }

    /// The traffic manager's values for packet `p` leaving switch `sw` on `dir`: bytes and queue
    /// depths saturated at the fields' 19 bits, times in nanoseconds.
    @inline(__always) func queueState(_ dir: UnsafeMutablePointer<LinkDirection>, _ sw: Int32, _ p: Int32) -> Pipeline.QueueState {
        let enq = pool.enqueuedAt[Int(p)]
        let buffered = switchRefs[Int(sw)]._withUnsafeGuaranteedRef { UInt64($0.bufferUsed) }
        return Pipeline.QueueState(enqTimestamp: UInt64(enq.nanoseconds), enqQdepth: min(UInt64(pool.enqueueDepth[Int(p)]), 0x7FFFF),
                                   deqTimedelta: UInt64((clock - enq).nanoseconds), deqQdepth: min(UInt64(dir.pointee.queueBytes), 0x7FFFF),
                                   deqBufferDepth: min(buffered, 0xFFFF_FFFF))
    }

    /// The first packet in flight on `d` reaches the far end.
    func arrival(direction d: Int) {
        let dir = dirs + d
        let f = dir.pointee.pipe.removeFirst()
        if dir.pointee.pipe.isEmpty {
            dir.pointee.arrivalPending = false
        } else {
            let next = dir.pointee.pipe.first
            pool.prefetch(next.packet)
            events.push(next.arrival, .arrival, target: Int32(d), scheduled: next.sent,
                        order: EventOrder.key(cause: Int(dir.pointee.fromNode) + 1, sequence: next.sequence))
        }
        let to = dir.pointee.toSwitchOrHost
        if to >= 0 {
            switchIngress(Int(to), packet: f.packet, port: dir.pointee.toPort, recirculated: false)
        } else {
            if hostTracing { traceHostFrame(direction: dir, packet: f.packet, length: pool.length(f.packet), sent: false) }
            hostReceive(Int(-to - 1), packet: f.packet)
        }
    }

    // MARK: switches

    func switchIngress(_ s: Int, packet p: Int32, port: UInt16, recirculated: Bool) {
        if !recirculated && switchRefs[s]._withUnsafeGuaranteedRef({ $0.dropsOnArrival(port: port) }) {
            pool.release(p)
            return
        }
        let pass = recirculated ? Int(pool.pass[Int(p)]) : 0
        let inPort = recirculated ? pool.tag[Int(p)].ingressPort : port
        if !recirculated { pool.tag[Int(p)] = .arrived(port: port) }
        let bridge = pool.bridgeWords(p)
        let clock = self.clock
        // The switch's fields read first, then one closure around the call: a closure nested
        // in another was compiled as a function of its own, called every hop.
        let node = switchRefs[s], buffer = pool.buffers[Int(p)]
        let (headerBytes, latency, hasController) = node._withUnsafeGuaranteedRef { ($0.headerBytes, $0.latency, $0.hasController) }
        pool.passRuns(p, headerBytes: headerBytes)
        let timestamp = UInt64((clock - latency).nanoseconds)
        let decision = node._withUnsafeGuaranteedRef { sw in
            buffer._withUnsafeGuaranteedRef { sw.pipeline.runIngress($0, port: inPort, timestamp: timestamp, pass: pass, bridge: bridge) }
        }
        if hasController, let c = controllers[s] { serviceDigests(c, switches[s]) }
        switch decision {
        case .drop:
            pool.release(p)
        case .unicast(let port):
            let (d, traced) = switchRefs[s]._withUnsafeGuaranteedRef { ($0.direction(port: port), $0.traced) }
            guard d >= 0 else { switches[s].noPortDrops += 1; traceNoLink(s, port); pool.release(p); return }
            pool.tag[Int(p)] = pool.tag[Int(p)].unicast
            if traced { tracedEnqueue(s, Int(d), p, port: port) } else { enqueue(Int(d), p) }
        case .multicast(let group):
            let members = switches[s].pipeline.multicastMembers(group: group)
            guard !members.isEmpty else { pool.release(p); return }
            let arrived = pool.tag[Int(p)]
            for (i, m) in members.enumerated() {
                let q = i == members.count - 1 ? p : pool.clone(p)
                pool.tag[Int(q)] = arrived.replica(rid: m.rid)
                let d = switches[s].direction(port: m.port)
                guard d >= 0 else { switches[s].noPortDrops += 1; traceNoLink(s, m.port); pool.release(q); continue }
                if switches[s].traced { tracedEnqueue(s, Int(d), q, port: m.port) } else { enqueue(Int(d), q) }
            }
        }
    }

    /// `enqueue` at a traced switch, with the queue it joins (or the drop) in the trace.
    func tracedEnqueue(_ s: Int, _ d: Int, _ p: Int32, port: UInt16) {
        let dir = dirs + d
        let drops = dir.pointee.queueDrops, ahead = dir.pointee.queue.count, bytes = dir.pointee.queueBytes
        enqueue(d, p)
        guard let t = switches[s].pipeline.tracer else { return }
        let at = "at \(clock.nanoseconds) ns"
        if dir.pointee.queueDrops > drops {
            t.note("queue_drop", "queue of port \(port): full (\(ahead) packets, \(bytes) bytes), dropped \(at)",
                   [("port", .int(Int64(port))), ("queued_packets", .int(Int64(ahead))), ("queued_bytes", .int(Int64(bytes)))])
        } else {
            t.note("enqueue", "queue of port \(port): joined behind \(ahead) packets, \(bytes) bytes \(at)",
                   [("port", .int(Int64(port))), ("queued_packets", .int(Int64(ahead))), ("queued_bytes", .int(Int64(bytes)))])
        }
    }

    func traceNoLink(_ s: Int, _ port: UInt16) {
        switches[s].pipeline.tracer?.note("no_link", "port \(port) has no link: dropped", [("port", .int(Int64(port)))])
    }

    func serviceDigests(_ c: any ProgramController, _ sw: SwitchNode) {
        let ds = sw.pipeline.drainDigests()
        if !ds.isEmpty { try? c.handle(ds, sw.pipeline) }
    }

    // MARK: observers

    func sample() {
        series.record(time: clock, dirs: dirs, count: dirCount)
        if events.count > 0 { events.push(clock.after(VirtualTime(picoseconds: options.sampleInterval)), .sample, target: 0) }
    }
}

/// Figures of one `run` call.
public struct RunStats: Sendable {
    public var simulated: Int64
    public var wallSeconds: Double
    public var events: UInt64
}

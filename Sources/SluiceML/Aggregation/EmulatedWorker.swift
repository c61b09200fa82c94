import SluiceControlPlane
import SluiceEmulator
import SluiceRuntime
import SluicePrograms

/// The worker protocol on an emulated host: datagrams through the host's NIC, the clock and
/// timers of virtual time.
public final class EmulatedAggregationPort: AggregationPort, Application, DatagramReceiver {
    /// The aggregation service (an address the switch program answers for) and this worker's
    /// UDP port, where results arrive.
    public let serviceIP: UInt32
    public let servicePort: UInt16
    public let localPort: UInt16
    var api: HostAPI?
    var service = UDPEndpoint(mac: 0, ip: 0, port: 0)
    /// The worker, made when the host starts (`onStart` submits its operations).
    public private(set) var worker: AggregationWorker<EmulatedAggregationPort>!
    let config: AggregationConfig
    let onStart: (AggregationWorker<EmulatedAggregationPort>) -> Void

    public init(config: AggregationConfig, serviceIP: UInt32, servicePort: UInt16, localPort: UInt16,
                onStart: @escaping (AggregationWorker<EmulatedAggregationPort>) -> Void) throws {
        if let p = config.problem { throw AggregationError(p) }
        self.config = config
        self.serviceIP = serviceIP; self.servicePort = servicePort; self.localPort = localPort
        self.onStart = onStart
        worker = try AggregationWorker(config: config, port: self)
    }

    public var now: Int64 { api!.now }

    public func send(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        api!.sendDatagram(to: service, from: localPort, length: length, fill)
    }

    /// The wake-up the worker wants (`Int64.max`: none), and the emulator events set for wake-ups,
    /// latest first. Events cannot be cancelled, so one set for a wake-up since moved earlier
    /// still comes; it is absorbed here rather than passed on. An event is set only when none is
    /// pending at or before the wanted time, so the list stays sorted and no event re-arms
    /// another of its own (before, each stale one did, and they multiplied: 20x the events).
    var wantedAt = Int64.max
    var wakeEvents: [Int64] = []

    public func wake(at time: Int64) {
        wantedAt = min(wantedAt, time)
        ensureWakeEvent()
    }

    /// Invariant: while a wake-up is wanted, an event is pending at or before it.
    func ensureWakeEvent() {
        guard wantedAt != .max else { return }
        if let earliest = wakeEvents.last, earliest <= wantedAt { return }
        wakeEvents.append(wantedAt)
        api!.setTimer(after: wantedAt - api!.now, token: 0)
    }

    /// A wake-up event arrived (events come in time order, so it is the earliest pending).
    func wakeEventArrived() {
        let now = api!.now
        while let e = wakeEvents.last, e <= now { wakeEvents.removeLast() }
        if now >= wantedAt {
            wantedAt = .max
            worker.timerFired()
        } else {
            ensureWakeEvent()
        }
    }

    public func start(_ host: HostAPI) {
        api = host
        service = host.endpoint(ip: serviceIP, port: servicePort)
        host.bind(port: localPort, self)
        onStart(worker)
    }

    public func received(_ message: ReceivedMessage, _ host: HostAPI) {}
    public func timer(_ token: Int, _ host: HostAPI) {
        if token == Self.startToken, let go = startLater {
            startLater = nil
            go()
        } else if token == 0 {
            // Only its own wake-ups: other applications on the host use other tokens.
            wakeEventArrived()
        }
    }

    static let startToken = 1
    /// Run at `HostAPI.setTimer(token: startToken)`: operations that start later than time 0.
    var startLater: (() -> Void)?

    public func received(datagram: UnsafeRawBufferPointer, from: UDPEndpoint, ce: Bool, _ host: HostAPI) {
        worker.receive(datagram)
    }
}

/// One in-network allreduce job on an emulated switch running `switchml`: configures the
/// switch (worker entries, multicast group, egress rewrites) and attaches a worker to every
/// host. Like `BaselineRun`, reduces the buffers in place.
public final class InNetworkRun<T: AllReduceScalar> {
    public let config: AggregationConfig
    public let workers: [String]
    var ports: [EmulatedAggregationPort] = []
    var finished: [Int64?]

    /// The address workers send updates to; any address works (the switch matches on the
    /// worker's source address and the UDP port), this one is reserved for it.
    public static var serviceIP: UInt32 { 0x0AFF_FF01 }   // 10.255.255.1

    /// `slotBase`: where the job's slots start in the switch's pool (jobs sharing a switch
    /// take disjoint ranges). `operations`: how many allreduces of the buffers to run back to
    /// back (each one sums the previous result).
    public init(emulator: Emulator, switchName: String, workers: [String], buffers: [TensorBuffer<T>],
                config: AggregationConfig, slotBase: Int = 0, start: Int64 = 0) throws {
        guard workers.count == buffers.count else {
            throw AggregationError("\(workers.count) workers but \(buffers.count) buffers (valid: one buffer per worker)")
        }
        guard workers.count == config.workers else {
            throw AggregationError("\(workers.count) workers but the job is configured for \(config.workers)")
        }
        guard Set(buffers.map(\.count)).count <= 1 else {
            throw AggregationError("buffers of different sizes \(buffers.map(\.count)) (valid: every worker reduces a tensor of the same size)")
        }
        if let p = config.problem { throw AggregationError(p) }
        self.config = config
        self.workers = workers
        finished = Array(repeating: nil, count: workers.count)
        let job = try InNetworkJob(emulator: emulator, switchName: switchName, workers: workers, config: config,
                                   slotBase: slotBase) { [unowned self] rank, w in
            let buffer = buffers[rank]
            let go = {
                Self.submit(buffer, to: w) { t in self.finished[rank] = t }
            }
            if start <= 0 { go() } else { w.port.api!.setTimer(after: start, token: EmulatedAggregationPort.startToken); w.port.startLater = go }
        }
        ports = job.ports
    }

    static func submit(_ b: TensorBuffer<T>, to w: AggregationWorker<EmulatedAggregationPort>, done: @escaping (Int64) -> Void) {
        if let i = b as? TensorBuffer<Int32> { w.allReduce(i, done: done) }
        else if let f = b as? TensorBuffer<Float> { w.allReduce(f, done: done) }
    }

    public var outcome: CollectiveOutcome {
        var o = CollectiveOutcome(workers: workers.count)
        o.finished = finished
        return o
    }

    /// Per worker: packets sent, retransmissions, results taken and discarded.
    public var stats: [AggregationStats] { ports.map { $0.worker.stats } }
}

/// A SwitchML job set up on an emulated switch: the switch configured (worker entries,
/// multicast group, egress rewrites) and a worker attached to every host; `onStart(rank,
/// worker)` runs when the host starts, to submit operations.
final class InNetworkJob {
    let ports: [EmulatedAggregationPort]

    init(emulator: Emulator, switchName: String, workers: [String], config: AggregationConfig, slotBase: Int = 0,
         onStart: @escaping (Int, AggregationWorker<EmulatedAggregationPort>) -> Void = { _, _ in }) throws {
        if let p = config.problem { throw AggregationError(p) }
        let servicePort = SwitchMLFormat.ports.lowerBound + UInt16(config.job & 0xF)
        let localPort = UInt16(40_000) + UInt16(config.job)
        var members: [SwitchML.Worker] = []
        for name in workers {
            guard let node = emulator.spec.node(named: name), case .host(let h) = emulator.spec.nodes[node].kind else {
                throw AggregationError("no host named '\(name)' (hosts: \(emulator.hostNames.joined(separator: ", ")))")
            }
            guard let up = emulator.uplink(ofHost: name), up.switch == switchName else {
                throw AggregationError("host '\(name)' is not connected to switch '\(switchName)' (in-network aggregation needs every worker one hop from the aggregating switch)")
            }
            members.append(SwitchML.Worker(ip: h.ipv4, mac: emulator.spec.nodes[node].mac, udpPort: localPort, switchPort: up.port))
        }
        let job = SwitchML.Job(job: config.job, udpPort: servicePort, slotBase: slotBase, slots: config.poolSlots,
                               group: UInt16(config.job) + 1, workers: members)
        let cp: any ControlPlane = try emulator.controlPlane(switch: switchName)
        try SwitchML.install(job, into: cp)
        var ports: [EmulatedAggregationPort] = []
        for (rank, name) in workers.enumerated() {
            let p = try EmulatedAggregationPort(config: config, serviceIP: InNetworkRun<Int32>.serviceIP, servicePort: servicePort,
                                                localPort: localPort) { w in onStart(rank, w) }
            try emulator.attach(p, host: name)
            ports.append(p)
        }
        self.ports = ports
    }
}

import SluiceEmulator

/// Runs a `WorkloadGraph` on emulated hosts (rank r on `hosts[r]`): one application per
/// host starts each operation when its dependencies are done. Sends go over the emulator's
/// reliable transport; in-network allreduces through a `switchml` switch (`inNetwork`).
/// Run the emulator, then read `result`.
///
/// Each rank's application touches only its own operations' entries (a send's end and
/// arrival count are its receiver's), so in a parallel run every partition attaches a run of
/// its own and `WorkloadProgress.merging` puts their records together.
public final class WorkloadRun {
    public let name: String
    public let graph: WorkloadGraph
    public let hosts: [String]
    let hostIndex: [Int]
    let tagBase: UInt64
    /// Per operation: unmet dependencies; dependents (CSR) split by where they run.
    var remaining: [Int32]
    let dependentStart: [Int32]
    let dependents: [Int32]
    var started: [Int64]
    var ended: [Int64]
    /// Per send: times its message arrived (a check that the transport delivers each once).
    var deliveries: [UInt8]
    /// Per rank: its operations that wait for nothing (started when the host starts).
    let initial: [[Int]]
    var apps: [RankApplication] = []
    var aggregation: [EmulatedAggregationPort?] = []
    var zeroBuffers: [[Int: TensorBuffer<Int32>]] = []

    /// Tags: the job's number in the high bits, the send's operation index below.
    static let tagShift: UInt64 = 40
    /// Timer tokens are operation indices plus this (tokens below it belong to the
    /// aggregation worker sharing the host).
    static let timerBase = 16

    /// `job`: distinguishes several workloads sharing hosts (0 ... 255).
    /// `inNetwork`: the switch that aggregates, when the graph has in-network allreduces.
    public init(_ name: String, graph: WorkloadGraph, emulator: Emulator, hosts: [String], job: Int = 0,
                inNetwork: (switchName: String, config: AggregationConfig)? = nil) throws {
        guard hosts.count == graph.ranks else {
            throw WorkloadError("job '\(name)': \(graph.ranks) ranks but \(hosts.count) hosts (valid: one host per rank)")
        }
        guard Set(hosts).count == hosts.count else {
            let twice = Dictionary(grouping: hosts, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            throw WorkloadError("job '\(name)': host \(twice.joined(separator: ", ")) holds two ranks (valid: one rank per host)")
        }
        guard (0...255).contains(job) else { throw WorkloadError("job number \(job) (valid: 0 ... 255)") }
        var idx: [Int] = []
        for h in hosts {
            guard let i = emulator.hostNames.firstIndex(of: h) else {
                throw WorkloadError("job '\(name)': no host named '\(h)' (hosts: \(emulator.hostNames.prefix(16).joined(separator: ", "))\(emulator.hostNames.count > 16 ? ", …" : ""))")
            }
            idx.append(i)
        }
        self.name = name
        self.graph = graph
        self.hosts = hosts
        hostIndex = idx
        tagBase = UInt64(job + 1) << Self.tagShift
        let count = graph.ops.count
        remaining = graph.deps.map { Int32($0.count) }
        var counts = [Int32](repeating: 0, count: count + 1)
        for d in graph.deps { for p in d { counts[Int(p) + 1] += 1 } }
        for i in 0..<count { counts[i + 1] += counts[i] }
        var fill = counts
        var list = [Int32](repeating: 0, count: Int(counts[count]))
        for (i, d) in graph.deps.enumerated() {
            for p in d { list[Int(fill[Int(p)])] = Int32(i); fill[Int(p)] += 1 }
        }
        dependentStart = counts
        dependents = list
        started = Array(repeating: -1, count: count)
        ended = Array(repeating: -1, count: count)
        deliveries = Array(repeating: 0, count: count)
        var initial = [[Int]](repeating: [], count: graph.ranks)
        for (i, op) in graph.ops.enumerated() where graph.deps[i].isEmpty { initial[Int(op.rank)].append(i) }
        self.initial = initial

        if graph.usesInNetworkAggregation {
            guard let ina = inNetwork else {
                throw WorkloadError("job '\(name)': in-network allreduce needs a switch running switchml that every rank's host is connected to (valid: inNetwork: (switch, config))")
            }
            zeroBuffers = Array(repeating: [:], count: graph.ranks)
            for r in 0..<graph.ranks {
                for op in graph.ops where op.rank == Int32(r) {
                    if case .aggregate(let b) = op.kind, zeroBuffers[r][b] == nil {
                        zeroBuffers[r][b] = TensorBuffer<Int32>(Array(repeating: 0, count: max(1, (b + 3) / 4)))
                    }
                }
            }
            let setup = try InNetworkJob(emulator: emulator, switchName: ina.switchName, workers: hosts, config: ina.config)
            aggregation = setup.ports
        } else {
            aggregation = Array(repeating: nil, count: graph.ranks)
        }
        for r in 0..<graph.ranks {
            let app = RankApplication(run: self, rank: r)
            apps.append(app)
            try emulator.attach(app, host: hosts[r])
        }
    }

    /// The sends of this run as (estimated start, sending host, receiving host, operation),
    /// the estimate being when the send would start were each send only its serialization at
    /// `rate` bits per second: the order `Jobs.attach` opens connections in.
    func plannedSends(rate: UInt64) -> [(start: Int64, from: Int, to: Int, op: Int)] {
        let start = Self.estimatedStarts(graph, rate: rate)
        return graph.ops.indices.compactMap { i in
            guard case .send(let to, _) = graph.ops[i].kind else { return nil }
            return (start[i], hostIndex[Int(graph.ops[i].rank)], hostIndex[Int(to)], i)
        }
    }

    /// Per operation, when it would start were each send only its serialization at `rate`: the
    /// latest end of its dependencies, compute taking its time.
    static func estimatedStarts(_ graph: WorkloadGraph, rate: UInt64) -> [Int64] {
        let n = graph.ops.count
        var start = [Int64](repeating: 0, count: n), end = [Int64](repeating: -1, count: n)
        var pending = graph.deps.map(\.count)
        var dependents = [[Int]](repeating: [], count: n)
        for (i, d) in graph.deps.enumerated() { for p in d { dependents[Int(p)].append(i) } }
        var ready = (0..<n).filter { pending[$0] == 0 }
        while let i = ready.popLast() {
            switch graph.ops[i].kind {
            case .compute(let d): end[i] = start[i] + d
            case .send(_, let bytes): end[i] = start[i] + VirtualTime.transmission(bits: UInt64(max(bytes, 0)) * 8, rate: max(rate, 1)).picoseconds
            default: end[i] = start[i]
            }
            for k in dependents[i] {
                start[k] = max(start[k], end[i])
                pending[k] -= 1
                if pending[k] == 0 { ready.append(k) }
            }
        }
        return start
    }

    // MARK: execution

    func start(rank: Int, _ api: HostAPI) {
        for i in initial[rank] where remaining[i] == 0 {
            remaining[i] = -1
            run(i, api)
        }
    }

    /// The operation a tag names, if it is one of this run's sends.
    func operation(_ tag: UInt64) -> Int? {
        let i = Int(tag & ((1 << Self.tagShift) - 1))
        guard i < graph.ops.count, case .send = graph.ops[i].kind else { return nil }
        return i
    }

    /// Start operation `i` (its dependencies are done) on its rank's host.
    func run(_ i: Int, _ api: HostAPI) {
        started[i] = api.now
        let rank = Int(graph.ops[i].rank)
        switch graph.ops[i].kind {
        case .compute(let d):
            if d == 0 { finish(i, api, at: Int32(rank)) } else { api.setTimer(after: d, token: i + Self.timerBase) }
        case .mark:
            finish(i, api, at: Int32(rank))
        case .send(let to, let bytes):
            api.send(to: hostIndex[Int(to)], bytes: bytes, tag: tagBase | UInt64(i))
        case .aggregate(let bytes):
            let port = aggregation[rank]!
            port.worker.allReduce(zeroBuffers[rank][bytes]!) { [unowned self] _ in
                // The rank's own HostAPI, not the port's: the timers of the operations this
                // starts must come back to the rank's application.
                self.finish(i, self.apps[rank].api!, at: Int32(rank))
            }
        }
    }

    /// Operation `i` is done as far as rank `at` is concerned (a send: arrived at `at` = its
    /// receiver, or acknowledged at `at` = its sender): release that rank's dependents.
    func finish(_ i: Int, _ api: HostAPI, at rank: Int32) {
        if case .send(let to, _) = graph.ops[i].kind {
            if rank == to { ended[i] = api.now }
        } else {
            ended[i] = api.now
        }
        var ready: [Int] = []
        for k in Int(dependentStart[i])..<Int(dependentStart[i + 1]) {
            let d = Int(dependents[k])
            guard graph.ops[d].rank == rank else { continue }
            remaining[d] -= 1
            if remaining[d] == 0 { remaining[d] = -1; ready.append(d) }
        }
        for d in ready { run(d, api) }
    }

    func received(_ tag: UInt64, _ api: HostAPI, rank: Int) {
        guard let i = operation(tag), case .send(let to, _) = graph.ops[i].kind, Int(to) == rank else { return }
        deliveries[i] = deliveries[i] &+ 1
        guard deliveries[i] == 1 else { return }
        finish(i, api, at: Int32(rank))
    }

    func acknowledged(_ tag: UInt64, _ api: HostAPI, rank: Int) {
        guard let i = operation(tag) else { return }
        finish(i, api, at: Int32(rank))
    }

    // MARK: results

    /// Sends whose message did not arrive exactly once: (operation, sender rank, receiver
    /// rank, bytes, times it arrived). Empty when the transport did its job.
    public var deliveryProblems: [(operation: Int, from: Int, to: Int, bytes: Int, arrivals: Int)] {
        graph.ops.indices.compactMap { i in
            guard case .send(let to, let bytes) = graph.ops[i].kind, deliveries[i] != 1 else { return nil }
            return (i, Int(graph.ops[i].rank), Int(to), bytes, Int(deliveries[i]))
        }
    }

    /// What this run recorded: the start and end of every operation it ran.
    public var progress: WorkloadProgress { WorkloadProgress(started: started, ended: ended, deliveries: deliveries) }

    /// What happened: per iteration and per phase (collective or flow), from the recorded
    /// start and end of every operation.
    public var result: WorkloadResult { result(progress) }

    /// The result `progress` gives (this run's, or several partitions' merged).
    public func result(_ progress: WorkloadProgress) -> WorkloadResult {
        let started = progress.started, ended = progress.ended
        var r = WorkloadResult(name: name, ranks: graph.ranks, hosts: hosts)
        r.operations = graph.ops.count
        r.operationsDone = ended.filter { $0 >= 0 }.count
        var first = [Int64](repeating: .max, count: graph.phases.count)
        var last = [Int64](repeating: -1, count: graph.phases.count)
        var pending = [Int](repeating: 0, count: graph.phases.count)
        var iterEnd = [Int64](repeating: -1, count: graph.iterations)
        var iterPending = [Int](repeating: 0, count: graph.iterations)
        for (i, op) in graph.ops.enumerated() {
            let p = Int(op.phase)
            if p >= 0 {
                if started[i] >= 0 { first[p] = min(first[p], started[i]) }
                if ended[i] >= 0 { last[p] = max(last[p], ended[i]) } else { pending[p] += 1 }
            }
            let it = Int(op.iteration)
            if it >= 0 && it < graph.iterations {
                if ended[i] >= 0 { iterEnd[it] = max(iterEnd[it], ended[i]) } else { iterPending[it] += 1 }
            }
        }
        for (p, phase) in graph.phases.enumerated() {
            let done = pending[p] == 0 && last[p] >= 0
            r.phases.append(.init(name: phase.name, kind: phase.kind, bytes: phase.bytes,
                                  start: first[p] == .max ? nil : Double(first[p]) / 1e12,
                                  end: done ? Double(last[p]) / 1e12 : nil))
        }
        var previous: Int64 = 0
        for it in 0..<graph.iterations {
            guard iterPending[it] == 0, iterEnd[it] >= 0 else { break }
            r.iterations.append(Double(iterEnd[it] - previous) / 1e12)
            previous = iterEnd[it]
        }
        let ends = ended.filter { $0 >= 0 }
        r.finished = r.operationsDone == r.operations ? Double(ends.max() ?? 0) / 1e12 : nil
        r.bytesSentPerRank = graph.bytesSentPerRank
        return r
    }
}

/// The start and end (picoseconds, -1: not yet) of every operation of a workload and how
/// often each send's message arrived: what its run records, as a value that partitions (or
/// MPI ranks) hand over to be merged.
public struct WorkloadProgress: Sendable, Equatable, Codable {
    public var started: [Int64]
    public var ended: [Int64]
    public var deliveries: [UInt8]

    public init(started: [Int64], ended: [Int64], deliveries: [UInt8]) {
        self.started = started; self.ended = ended; self.deliveries = deliveries
    }

    /// The records of the partitions of one run, each holding its own ranks' entries, as one:
    /// an entry is written only by the partition that runs its rank (a send's end and
    /// deliveries by its receiver's), the others keep -1 and 0, so the largest time and the
    /// sum of the counts are the written ones.
    public static func merging(_ parts: [WorkloadProgress]) -> WorkloadProgress {
        guard var m = parts.first else { return WorkloadProgress(started: [], ended: [], deliveries: []) }
        for p in parts.dropFirst() {
            for i in m.started.indices {
                m.started[i] = max(m.started[i], p.started[i])
                m.ended[i] = max(m.ended[i], p.ended[i])
                m.deliveries[i] = m.deliveries[i] &+ p.deliveries[i]
            }
        }
        return m
    }
}

/// The application on one rank's host.
final class RankApplication: Application {
    unowned let run: WorkloadRun
    let rank: Int

    /// This application's HostAPI (from `start`).
    var api: HostAPI?

    init(run: WorkloadRun, rank: Int) { self.run = run; self.rank = rank }

    func start(_ host: HostAPI) { api = host; run.start(rank: rank, host) }
    func received(_ message: ReceivedMessage, _ host: HostAPI) {
        guard message.tag >> WorkloadRun.tagShift == run.tagBase >> WorkloadRun.tagShift else { return }
        run.received(message.tag, host, rank: rank)
    }
    func acknowledged(tag: UInt64, _ host: HostAPI) {
        guard tag >> WorkloadRun.tagShift == run.tagBase >> WorkloadRun.tagShift else { return }
        run.acknowledged(tag, host, rank: rank)
    }
    func timer(_ token: Int, _ host: HostAPI) {
        // Only this application's timers come here; still check that the token is a compute
        // operation of this rank that is running.
        let token = token - WorkloadRun.timerBase
        guard token >= 0, token < run.graph.ops.count, run.graph.ops[token].rank == Int32(rank),
              run.started[token] >= 0, run.ended[token] < 0, case .compute = run.graph.ops[token].kind else { return }
        run.finish(token, host, at: Int32(rank))
    }
}

/// A workload's outcome.
public struct WorkloadResult: Sendable, Encodable {
    public var name: String
    public var ranks: Int
    public var hosts: [String]
    public var operations = 0
    public var operationsDone = 0
    /// Seconds each complete iteration took (iteration i: from the end of i - 1, or time 0).
    public var iterations: [Double] = []
    /// When the last operation ended (seconds), nil if some never did.
    public var finished: Double?
    public var phases: [Phase] = []
    public var bytesSentPerRank: [Int] = []

    public struct Phase: Sendable, Encodable {
        public var name: String
        public var kind: WorkloadGraph.PhaseKind
        public var bytes: Int
        public var start: Double?
        public var end: Double?
        /// Completion time (seconds), nil if it did not finish.
        public var duration: Double? { start.flatMap { s in end.map { $0 - s } } }

        enum CodingKeys: String, CodingKey { case name, kind, bytes, start, end, duration }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name); try c.encode(kind, forKey: .kind); try c.encode(bytes, forKey: .bytes)
            try c.encode(start, forKey: .start); try c.encode(end, forKey: .end); try c.encode(duration, forKey: .duration)
        }
    }

    public var complete: Bool { finished != nil }
    public var collectives: [Phase] { phases.filter { $0.kind == .collective } }
    public var flows: [Phase] { phases.filter { $0.kind == .flow } }
}

public struct WorkloadError: Error, CustomStringConvertible, Sendable {
    /// Where the bad input was written ("topo.yaml:12", "argument 'model=x'"), if known.
    public var origin: String?
    public var message: String
    public init(_ message: String, origin: String? = nil) { self.message = message; self.origin = origin }
    public var description: String { origin.map { "\($0): \(message)" } ?? message }
}

/// A workload as a dependency graph of operations per rank, the way execution traces
/// (Chakra, SimAI) describe training: compute for a time, send bytes to another rank, join
/// an in-network allreduce, or mark a point. An operation starts when all it depends on is
/// done; the emulator runs the graph on hosts (`WorkloadRun`), so every gap and burst in the
/// traffic comes from the network's own timing.
///
/// Dependencies stay on one rank, with one exception that carries data between ranks: an
/// operation may depend on a `send` to its rank, and then waits for that message to arrive.
/// A send's own rank sees it done when every byte is acknowledged.
public struct WorkloadGraph: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Busy for this many picoseconds (GPU work).
        case compute(Int64)
        /// Send `bytes` reliably to rank `to`.
        case send(to: Int32, bytes: Int)
        /// Take part in an in-network allreduce (SwitchML) of `bytes` of int32 values.
        case aggregate(bytes: Int)
        /// Nothing: joins dependencies.
        case mark
    }

    public struct Op: Sendable {
        public var rank: Int32
        public var kind: Kind
        /// Index in `phases`, or -1.
        public var phase: Int32
        /// Training iteration it belongs to, or -1.
        public var iteration: Int32
    }

    /// What a phase is: its duration is from its first operation's start to its last one's end.
    public enum PhaseKind: String, Sendable, Encodable {
        /// A collective (allreduce of a bucket, all-to-all, a pipeline transfer).
        case collective
        /// One flow (a message of a microbenchmark or background traffic): its completion time.
        case flow
    }

    public struct Phase: Sendable {
        public var name: String
        public var kind: PhaseKind
        /// Bytes the phase moves (sum of its sends; in-network: per worker).
        public var bytes: Int
    }

    public var ranks: Int
    public var ops: [Op] = []
    /// `deps[i]`: operations `i` waits for.
    public var deps: [[Int32]] = []
    public var phases: [Phase] = []
    /// Iterations the graph describes (0: not an iterative workload).
    public var iterations = 0
    /// The builder stopped at `GraphBuilder.maxOperations`: the graph is incomplete.
    public var truncated = false

    public init(ranks: Int) { self.ranks = ranks }

    /// Bytes each rank sends in the whole graph.
    public var bytesSentPerRank: [Int] {
        var b = [Int](repeating: 0, count: ranks)
        for op in ops { if case .send(_, let n) = op.kind { b[Int(op.rank)] += n } }
        return b
    }

    /// Messages in the graph.
    public var sends: Int { ops.reduce(0) { if case .send = $1.kind { $0 + 1 } else { $0 } } }

    public var usesInNetworkAggregation: Bool { ops.contains { if case .aggregate = $0.kind { true } else { false } } }
}

/// Builds a `WorkloadGraph`: the collectives (`Collectives.swift`) and workload families
/// (`Workloads.swift`) are written against it.
public final class GraphBuilder {
    public private(set) var graph: WorkloadGraph
    /// Operations added now belong to this iteration and phase.
    public var iteration: Int32 = -1
    public var phase: Int32 = -1

    /// At most this many operations (`maxOperations` unless the context says otherwise).
    let limit: Int

    public init(ranks: Int, limit: Int = GraphBuilder.maxOperations) {
        graph = WorkloadGraph(ranks: ranks)
        self.limit = limit
    }

    public var ranks: Int { graph.ranks }

    /// More operations than this is an error (`WorkloadCatalog.build` says which parameters to
    /// change), not hours of building and gigabytes of graph.
    public static let maxOperations = 4_000_000

    @discardableResult
    func add(_ rank: Int, _ kind: WorkloadGraph.Kind, after: [Int]) -> Int {
        precondition(rank >= 0 && rank < graph.ranks, "rank \(rank) of \(graph.ranks)")
        if graph.truncated || graph.ops.count >= limit {
            // Over the limit: stop growing; every later operation stands for the first one.
            graph.truncated = true
            return 0
        }
        for d in after {
            let o = graph.ops[d]
            var ok = Int(o.rank) == rank
            if !ok, case .send(let to, _) = o.kind, Int(to) == rank { ok = true }
            precondition(ok, "operation on rank \(rank) depends on operation \(d) of rank \(o.rank) that sends it nothing")
        }
        graph.ops.append(.init(rank: Int32(rank), kind: kind, phase: phase, iteration: iteration))
        graph.deps.append(after.map { Int32($0) })
        return graph.ops.count - 1
    }

    public func compute(_ rank: Int, _ duration: Int64, after: [Int]) -> Int { add(rank, .compute(max(0, duration)), after: after) }
    public func mark(_ rank: Int, after: [Int]) -> Int { add(rank, .mark, after: after) }
    public func send(_ from: Int, to: Int, bytes: Int, after: [Int]) -> Int {
        precondition(from != to, "rank \(from) sends to itself")
        if phase >= 0 && !graph.truncated { graph.phases[Int(phase)].bytes += bytes }
        return add(from, .send(to: Int32(to), bytes: max(1, bytes)), after: after)
    }
    public func aggregate(_ rank: Int, bytes: Int, after: [Int]) -> Int { add(rank, .aggregate(bytes: bytes), after: after) }

    /// Start a phase: operations added until the next `beginPhase` or `endPhase` belong to it.
    @discardableResult
    public func beginPhase(_ name: String, _ kind: WorkloadGraph.PhaseKind = .collective) -> Int32 {
        graph.phases.append(.init(name: name, kind: kind, bytes: 0))
        phase = Int32(graph.phases.count - 1)
        return phase
    }
    public func endPhase() { phase = -1 }

    public func finish(iterations: Int = 0) -> WorkloadGraph {
        graph.iterations = iterations
        return graph
    }

    /// Rank -> the operation the next one on that rank waits for (nil: none).
    public typealias Frontier = [Int?]
    static func deps(_ f: Frontier, _ rank: Int) -> [Int] { f[rank].map { [$0] } ?? [] }
}

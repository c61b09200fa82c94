import SluiceRuntime

/// The workload families Sluice generates, by name: each reads its parameters (with the
/// values people use as defaults) and builds a `WorkloadGraph` for `context.ranks` ranks.
public enum WorkloadCatalog {
    public struct Family: Sendable {
        public var name: String
        public var summary: String
        let build: @Sendable (ParameterReader, WorkloadContext) throws -> WorkloadGraph
    }

    public static let families: [Family] = [
        Family(name: "ddp", summary: "data-parallel training: PyTorch DDP buckets (25 MB, the first 1 MB) allreduced as backward produces them", build: ddp),
        Family(name: "fsdp", summary: "ZeRO-3/FSDP: all-gather each unit's parameters before forward and backward, reduce-scatter its gradients", build: fsdp),
        Family(name: "pipeline", summary: "pipeline parallel, 1F1B: activations forward and gradients back between consecutive stages", build: pipeline),
        Family(name: "tp", summary: "tensor parallel (Megatron): two activation allreduces per layer forward, two backward", build: tensorParallel),
        Family(name: "moe", summary: "mixture of experts: dispatch and combine all-to-alls per layer, expert popularity skewed (Zipf)", build: moe),
        Family(name: "ps", summary: "parameter server: workers push gradient shards to the servers (incast) and pull the sums", build: parameterServer),
        Family(name: "3d", summary: "composite 3-D parallel job: TP inside pipeline stages, 1F1B across them, DP allreduce of each shard", build: threeD),
        Family(name: "permutation", summary: "microbenchmark: every rank sends to one other (a random derangement per iteration)", build: permutation),
        Family(name: "incast", summary: "microbenchmark: every rank sends to one receiver at once", build: incast),
        Family(name: "alltoall", summary: "microbenchmark: every rank sends to every other", build: alltoall),
        Family(name: "background", summary: "background flows: Poisson arrivals, sizes from web search or data mining, at a load", build: background),
        Family(name: "simai", summary: "import a SimAI (AICB) workload file: layers' compute times and TP/DP/EP collectives", build: SimAIWorkload.build),
    ]

    public static var names: [String] { families.map(\.name) }

    public static func family(_ name: String) throws -> Family {
        guard let f = families.first(where: { $0.name == name }) else {
            throw WorkloadError("unknown workload '\(name)' (valid: \(names.joined(separator: ", ")))")
        }
        return f
    }

    /// Build workload `name` with `arguments` for `context`.
    public static func build(_ name: String, _ arguments: WorkloadArguments, _ context: WorkloadContext) throws -> WorkloadGraph {
        let f = try family(name)
        guard context.ranks >= 1 else { throw WorkloadError("\(name): no ranks (valid: one host or more)") }
        let reader = ParameterReader(family: name, arguments: arguments)
        let g = try f.build(reader, context)
        try reader.finish()
        guard !g.truncated else {
            throw WorkloadError("\(name): more than \(context.maxOperations) operations (messages and compute steps); make it smaller: fewer iterations, a smaller model or more bytes per chunk (valid: a workload of at most \(context.maxOperations) operations)")
        }
        return g
    }

    /// The parameters of `name` with their defaults and meaning (for --help and the README).
    public static func parameters(_ name: String) -> [(name: String, fallback: String, help: String)] {
        guard let f = try? family(name) else { return [] }
        let reader = ParameterReader(family: name, arguments: WorkloadArguments())
        reader.describing = true
        _ = try? f.build(reader, WorkloadContext(ranks: 8))
        return reader.known.map { ($0.name, $0.fallback, $0.help) }
    }

    /// The collective algorithm a graph's allreduces use, when it has that parameter.
    static func algorithm(_ p: ParameterReader, ranks: Int) throws -> AllReduceAlgorithm {
        let a = try p.choice("algorithm", AllReduceAlgorithm.ring, "how gradients are allreduced")
        if a == .halvingDoubling, ranks & (ranks - 1) != 0 {
            throw WorkloadError("\(p.family): halving-doubling needs a power-of-two number of ranks, this job has \(ranks) (valid: algorithm=ring, tree or in-network)")
        }
        return a
    }

    static let chunkHelp = "message size collectives cut data into (NCCL: 512 KiB steps)"

    // MARK: data parallel

    static func ddp(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let model = try p.size("model", 100_000_000, "gradient bytes per iteration (the model's size in the gradient's dtype)")
        let bucket = try p.size("bucket", 25_000_000, "DDP bucket size (bucket_cap_mb)")
        let firstBucket = try p.size("first-bucket", 1_000_000, "the first bucket's size (DDP: 1 MB, so communication starts early)")
        let compute = try p.time("compute", 30_000_000_000, "forward plus backward time per iteration (forward 1/3, backward 2/3)")
        let overlap = try p.bool("overlap", true, "allreduce each bucket as soon as backward produced it (false: after backward)")
        let iterations = try p.int("iterations", 3, "training iterations", in: 1...100_000)
        let algorithm = try algorithm(p, ranks: c.ranks)
        let chunk = try p.size("chunk", 512 << 10, chunkHelp, min: 4096)
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        let group = Array(0..<c.ranks)
        var sizes: [Int] = [min(firstBucket, model)]
        var left = model - sizes[0]
        while left > 0 { sizes.append(min(bucket, left)); left -= sizes.last! }
        let forward = compute / 3, backward = compute - forward
        var done: [Int?] = Array(repeating: nil, count: c.ranks)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            var bwd: [[Int]] = Array(repeating: [], count: c.ranks)
            for r in group {
                var last = b.compute(r, forward, after: GraphBuilder.deps(done, r))
                for s in sizes {
                    last = b.compute(r, backward * Int64(s) / Int64(model), after: [last])
                    bwd[r].append(last)
                }
            }
            var stream: [Int?] = Array(repeating: nil, count: c.ranks)
            for (k, s) in sizes.enumerated() {
                let ready: [Int?] = group.map { r in
                    b.mark(r, after: [overlap ? bwd[r][k] : bwd[r].last!] + GraphBuilder.deps(stream, r))
                }
                b.beginPhase("iter \(it + 1) bucket \(k + 1) allreduce")
                stream = b.allReduce(algorithm, group: group, bytes: s, chunk: chunk, after: ready)
                b.endPhase()
            }
            done = group.map { r in b.mark(r, after: [bwd[r].last!, stream[r]!]) }
        }
        return b.finish(iterations: iterations)
    }

    static func fsdp(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let model = try p.size("model", 400_000_000, "parameter bytes (gathered and reduced once per unit per iteration)")
        let units = try p.int("units", 8, "FSDP units (wrapped layers): one all-gather forward, one backward, one reduce-scatter each", in: 1...10_000)
        let compute = try p.time("compute", 40_000_000_000, "forward plus backward time per iteration (forward 1/3)")
        let iterations = try p.int("iterations", 2, "training iterations", in: 1...100_000)
        let chunk = try p.size("chunk", 512 << 10, chunkHelp, min: 4096)
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        let group = Array(0..<c.ranks)
        let unit = GraphBuilder.split(model, units)
        let fwd = compute / 3 / Int64(units), bwd = (compute - compute / 3) / Int64(units)
        var last: [Int?] = Array(repeating: nil, count: c.ranks)    // compute stream
        var comm: [Int?] = Array(repeating: nil, count: c.ranks)    // communication stream
        for it in 0..<iterations {
            b.iteration = Int32(it)
            for u in 0..<units {
                b.beginPhase("iter \(it + 1) forward all-gather unit \(u + 1)")
                let start = group.map { r in b.mark(r, after: GraphBuilder.deps(comm, r) + (u == 0 ? GraphBuilder.deps(last, r) : [])) }
                comm = b.allGather(group: group, bytes: unit[u], chunk: chunk, after: start)
                b.endPhase()
                last = group.map { r in b.compute(r, fwd, after: GraphBuilder.deps(last, r) + [comm[r]!]) }
            }
            for u in (0..<units).reversed() {
                b.beginPhase("iter \(it + 1) backward all-gather unit \(u + 1)")
                comm = b.allGather(group: group, bytes: unit[u], chunk: chunk, after: comm)
                b.endPhase()
                last = group.map { r in b.compute(r, bwd, after: GraphBuilder.deps(last, r) + [comm[r]!]) }
                b.beginPhase("iter \(it + 1) reduce-scatter unit \(u + 1)")
                let ready = group.map { r in b.mark(r, after: [last[r]!, comm[r]!]) }
                comm = b.reduceScatter(group: group, bytes: unit[u], chunk: chunk, after: ready)
                b.endPhase()
            }
            last = group.map { r in b.mark(r, after: [last[r]!, comm[r]!]) }
            comm = last
        }
        return b.finish(iterations: iterations)
    }

    // MARK: pipeline and tensor parallel

    struct PipelineShape {
        var microbatches: Int
        var activation: Int
        var forward: Int64
        /// Allreduce inside each stage's forward and backward of a microbatch (tensor
        /// parallel stages), bytes; 0: none.
        var tensorParallelBytes = 0
        var chunk: Int
    }

    /// 1F1B over `stages` (each a group of tensor-parallel ranks of the same size; stage s
    /// member t sends to stage s + 1 member t). Returns per rank the mark of its last backward.
    static func onePipeline(_ b: GraphBuilder, stages: [[Int]], shape: PipelineShape, label: String, start: [Int: Int]) -> [Int: Int] {
        let p = stages.count, m = shape.microbatches, width = stages[0].count
        // Each stage's program: warm-up forwards, then one forward one backward, then the rest.
        var program: [[(forward: Bool, mb: Int)]] = []
        for s in 0..<p {
            let warm = min(p - s - 1, m)
            var ops = (0..<warm).map { (true, $0) }
            for j in 0..<(m - warm) { ops.append((true, warm + j)); ops.append((false, j)) }
            for j in (m - warm)..<m { ops.append((false, j)) }
            program.append(ops)
        }
        var next = [Int](repeating: 0, count: p)
        var last = [[Int?]](repeating: [], count: p)
        for s in 0..<p { last[s] = stages[s].map { start[$0] } }
        var activationIn = [[Int: [Int]]](repeating: [:], count: p)   // [stage][mb] -> per member the arrival mark
        var gradientIn = [[Int: [Int]]](repeating: [:], count: p)
        var progress = true
        while progress {
            progress = false
            for s in 0..<p where next[s] < program[s].count {
                let (isForward, j) = program[s][next[s]]
                var inputs: [Int]? = nil
                if isForward && s > 0 { inputs = activationIn[s][j]; if inputs == nil { continue } }
                if !isForward && s < p - 1 { inputs = gradientIn[s][j]; if inputs == nil { continue } }
                let time = isForward ? shape.forward : 2 * shape.forward
                let group = stages[s]
                var ends: [Int] = []
                if shape.tensorParallelBytes > 0 && width > 1 {
                    let half = group.indices.map { t -> Int? in
                        b.compute(group[t], time / 2, after: GraphBuilder.deps(last[s], t) + (inputs.map { [$0[t]] } ?? []))
                    }
                    b.beginPhase("\(label) stage \(s + 1) mb \(j + 1) \(isForward ? "forward" : "backward") tp allreduce")
                    let ar = b.allReduce(.ring, group: group, bytes: shape.tensorParallelBytes, chunk: shape.chunk, after: half)
                    b.endPhase()
                    ends = group.indices.map { t in b.compute(group[t], time - time / 2, after: [ar[t]]) }
                } else {
                    ends = group.indices.map { t in
                        b.compute(group[t], time, after: GraphBuilder.deps(last[s], t) + (inputs.map { [$0[t]] } ?? []))
                    }
                }
                last[s] = ends
                let to = isForward ? s + 1 : s - 1
                if to >= 0 && to < p {
                    b.beginPhase("\(label) mb \(j + 1) \(isForward ? "activation" : "gradient") stage \(s + 1)->\(to + 1)")
                    let arrived = group.indices.map { t in
                        b.pointToPoint(from: group[t], to: stages[to][t], bytes: shape.activation / width, chunk: shape.chunk, after: [ends[t]])
                    }
                    b.endPhase()
                    if isForward { activationIn[to][j] = arrived } else { gradientIn[to][j] = arrived }
                }
                next[s] += 1
                progress = true
            }
        }
        precondition(next.indices.allSatisfy { next[$0] == program[$0].count }, "1F1B schedule did not complete")
        var end: [Int: Int] = [:]
        for s in 0..<p { for (t, r) in stages[s].enumerated() { end[r] = b.mark(r, after: [last[s][t]!]) } }
        return end
    }

    static func pipeline(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let microbatches = try p.int("microbatches", 8, "micro-batches per iteration", in: 1...10_000)
        let activation = try p.size("activation", 8_000_000, "activation (and its gradient) bytes per micro-batch between stages")
        let forward = try p.time("compute", 1_000_000_000, "forward time of one micro-batch on one stage (backward: twice)")
        let iterations = try p.int("iterations", 2, "training iterations", in: 1...100_000)
        let chunk = try p.size("chunk", 128 << 10, "message size of point-to-point transfers (NCCL: 128 KiB)", min: 4096)
        guard c.ranks >= 2 else { throw WorkloadError("pipeline: \(c.ranks) rank (valid: 2 or more stages, one rank each)") }
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        var start: [Int: Int] = [:]
        for it in 0..<iterations {
            b.iteration = Int32(it)
            start = onePipeline(b, stages: (0..<c.ranks).map { [$0] },
                                shape: PipelineShape(microbatches: microbatches, activation: activation, forward: forward, chunk: chunk),
                                label: "iter \(it + 1)", start: start)
        }
        return b.finish(iterations: iterations)
    }

    static func tensorParallel(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let layers = try p.int("layers", 8, "transformer layers", in: 1...10_000)
        let activation = try p.size("activation", 8_000_000, "bytes of each allreduce (batch x sequence x hidden x 2)")
        let compute = try p.time("compute", 1_000_000_000, "forward time per layer (backward: twice)")
        let iterations = try p.int("iterations", 3, "training iterations", in: 1...100_000)
        let chunk = try p.size("chunk", 512 << 10, chunkHelp, min: 4096)
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        let group = Array(0..<c.ranks)
        var last: [Int?] = Array(repeating: nil, count: c.ranks)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            for (pass, time) in [("forward", compute), ("backward", 2 * compute)] {
                for l in 0..<layers {
                    for half in 1...2 {
                        let work = group.map { r in b.compute(r, time / 2, after: GraphBuilder.deps(last, r)) } as [Int?]
                        b.beginPhase("iter \(it + 1) \(pass) layer \(l + 1) allreduce \(half)")
                        last = b.allReduce(.ring, group: group, bytes: activation, chunk: chunk, after: work)
                        b.endPhase()
                    }
                }
            }
        }
        return b.finish(iterations: iterations)
    }

    static func threeD(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let tp = try p.int("tp", 2, "tensor-parallel degree", in: 1...4096)
        let pp = try p.int("pp", 2, "pipeline stages", in: 1...4096)
        let dp = try p.int("dp", c.ranks / max(1, tp * pp), "data-parallel replicas (default: the ranks left)", in: 1...65536)
        let mapping = p.string("mapping", "rank order, innermost first: tp,pp,dp (TP neighbours on adjacent hosts) or any order of the three")
        let model = try p.size("model", 1_000_000_000, "gradient bytes of the whole model (each rank allreduces model / (tp x pp))")
        let microbatches = try p.int("microbatches", 4, "micro-batches per iteration", in: 1...10_000)
        let activation = try p.size("activation", 8_000_000, "activation bytes per micro-batch between stages (split over the TP ranks)")
        let forward = try p.time("compute", 1_000_000_000, "forward time of one micro-batch on one stage (backward: twice)")
        let iterations = try p.int("iterations", 2, "training iterations", in: 1...100_000)
        let algorithm = try algorithm(p, ranks: dp)
        let chunk = try p.size("chunk", 512 << 10, chunkHelp, min: 4096)
        guard tp * pp * dp == c.ranks else {
            throw WorkloadError("3d: tp \(tp) x pp \(pp) x dp \(dp) = \(tp * pp * dp) ranks, the job has \(c.ranks) hosts (valid: a product equal to the number of hosts)")
        }
        var order = ["tp", "pp", "dp"]
        if let m = mapping {
            let parts = m.text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.sorted() == ["dp", "pp", "tp"] else {
                throw WorkloadError("3d mapping '\(m.text)' (valid: tp, pp and dp once each, innermost first, e.g. tp,pp,dp)", origin: m.origin)
            }
            order = parts
        }
        let degree = ["tp": tp, "pp": pp, "dp": dp]
        func rank(_ t: Int, _ s: Int, _ d: Int) -> Int {
            let index = ["tp": t, "pp": s, "dp": d]
            var r = 0, stride = 1
            for dim in order { r += index[dim]! * stride; stride *= degree[dim]! }
            return r
        }
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        var start: [Int: Int] = [:]
        let shard = model / (tp * pp)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            var end: [Int: Int] = [:]
            for d in 0..<dp {
                let stages = (0..<pp).map { s in (0..<tp).map { t in rank(t, s, d) } }
                if pp > 1 {
                    end.merge(onePipeline(b, stages: stages,
                                          shape: PipelineShape(microbatches: microbatches, activation: activation, forward: forward,
                                                               tensorParallelBytes: activation, chunk: chunk),
                                          label: "iter \(it + 1) dp \(d + 1)", start: start)) { a, _ in a }
                } else {
                    for t in 0..<tp {
                        let r = rank(t, 0, d)
                        end[r] = b.compute(r, 3 * forward * Int64(microbatches), after: start[r].map { [$0] } ?? [])
                    }
                }
            }
            for s in 0..<pp {
                for t in 0..<tp {
                    let group = (0..<dp).map { rank(t, s, $0) }
                    b.beginPhase("iter \(it + 1) dp allreduce stage \(s + 1) tp \(t + 1)")
                    let ar = b.allReduce(algorithm, group: group, bytes: shard, chunk: chunk, after: group.map { end[$0] })
                    b.endPhase()
                    for (k, r) in group.enumerated() { start[r] = ar[k] }
                }
            }
        }
        return b.finish(iterations: iterations)
    }

    // MARK: mixture of experts

    static func moe(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let layers = try p.int("layers", 4, "MoE layers", in: 1...10_000)
        let tokens = try p.size("tokens", 16_000_000, "bytes of tokens each rank dispatches per layer (and gets back combined)")
        let skew = try p.double("skew", 1.0, "Zipf exponent of expert popularity (0: uniform)", in: 0...10)
        let compute = try p.time("compute", 1_000_000_000, "expert time per layer at uniform load (a hot expert takes longer)")
        let iterations = try p.int("iterations", 2, "training iterations", in: 1...100_000)
        let chunk = try p.size("chunk", 512 << 10, chunkHelp, min: 4096)
        let n = c.ranks
        guard n >= 2 else { throw WorkloadError("moe: \(n) rank (valid: 2 or more, one expert each)") }
        // Popularity: Zipf over a seeded shuffle of the experts (the seed is the run's).
        var order = Array(0..<n)
        var rng = SplitMix64(seed: c.seed ^ 0x3E_0E)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var weight = [Double](repeating: 0, count: n)
        for (position, expert) in order.enumerated() { weight[expert] = 1 / pow(Double(position + 1), skew) }
        let total = weight.reduce(0, +)
        weight = weight.map { $0 / total }
        let dispatch = (0..<n).map { i in (0..<n).map { j in i == j ? 0 : Int(Double(tokens) * weight[j]) } }
        let combine = (0..<n).map { i in (0..<n).map { j in dispatch[j][i] } }
        let b = GraphBuilder(ranks: n, limit: c.maxOperations)
        let group = Array(0..<n)
        var last: [Int?] = Array(repeating: nil, count: n)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            for (pass, factor) in [("forward", Int64(1)), ("backward", 2)] {
                for l in 0..<layers {
                    b.beginPhase("iter \(it + 1) \(pass) layer \(l + 1) dispatch")
                    let arrived = b.allToAll(group: group, matrix: pass == "forward" ? dispatch : combine, chunk: chunk, after: last)
                    b.endPhase()
                    let work = group.map { r in
                        b.compute(r, Int64(Double(compute * factor) * weight[r] * Double(n)), after: [arrived[r]])
                    } as [Int?]
                    b.beginPhase("iter \(it + 1) \(pass) layer \(l + 1) combine")
                    last = b.allToAll(group: group, matrix: pass == "forward" ? combine : dispatch, chunk: chunk, after: work)
                    b.endPhase()
                }
            }
        }
        return b.finish(iterations: iterations)
    }

    // MARK: parameter server

    static func parameterServer(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let servers = try p.int("servers", 1, "server ranks (the last ones); each holds model / servers", in: 1...4096)
        let model = try p.size("model", 100_000_000, "gradient bytes each worker pushes (and parameters it pulls) per iteration")
        let compute = try p.time("compute", 10_000_000_000, "worker compute per iteration")
        let iterations = try p.int("iterations", 3, "training iterations", in: 1...100_000)
        let chunk = try p.size("chunk", 512 << 10, "message size of pushes and pulls", min: 4096)
        guard servers < c.ranks else {
            throw WorkloadError("ps: \(servers) servers of \(c.ranks) ranks leave no worker (valid: servers below the number of hosts)")
        }
        let workers = c.ranks - servers
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        let shards = GraphBuilder.split(model, servers)
        var done: [Int?] = Array(repeating: nil, count: workers)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            let work = (0..<workers).map { w in b.compute(w, compute, after: GraphBuilder.deps(done, w)) }
            var pulled = [[Int]](repeating: [], count: workers)
            for s in 0..<servers {
                let server = workers + s
                b.beginPhase("iter \(it + 1) push and pull shard \(s + 1)")
                for size in GraphBuilder.chunks(shards[s], chunk) {
                    let pushes = (0..<workers).map { w in b.send(w, to: server, bytes: size, after: [work[w]]) }
                    let summed = b.mark(server, after: pushes)
                    for w in 0..<workers { pulled[w].append(b.send(server, to: w, bytes: size, after: [summed])) }
                }
                b.endPhase()
            }
            done = (0..<workers).map { w in b.mark(w, after: [work[w]] + pulled[w]) }
        }
        return b.finish(iterations: iterations)
    }

    // MARK: microbenchmarks

    static func permutation(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let bytes = try p.size("bytes", 64_000_000, "bytes each rank sends per iteration")
        let iterations = try p.int("iterations", 1, "rounds, each with a new permutation (seeded)", in: 1...100_000)
        guard c.ranks >= 2 else { throw WorkloadError("permutation: \(c.ranks) rank (valid: 2 or more)") }
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        var done: [Int?] = Array(repeating: nil, count: c.ranks)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            let to = derangement(c.ranks, seed: c.seed &+ UInt64(it) &* 0x9E37_79B9_7F4A_7C15)
            var sends: [Int] = []
            for r in 0..<c.ranks {
                b.beginPhase("iter \(it + 1) flow \(r)->\(to[r])", .flow)
                sends.append(b.send(r, to: to[r], bytes: bytes, after: GraphBuilder.deps(done, r)))
                b.endPhase()
            }
            done = (0..<c.ranks).map { r in
                let from = to.firstIndex(of: r)!
                return b.mark(r, after: [sends[r], sends[from]])
            }
        }
        return b.finish(iterations: iterations)
    }

    /// A uniformly random permutation without fixed points (shuffle and retry).
    static func derangement(_ n: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed)
        while true {
            var p = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next().multipliedFullWidth(by: UInt64(i + 1)).high)) }
            if !p.enumerated().contains(where: { $0.offset == $0.element }) { return p }
        }
    }

    static func incast(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let bytes = try p.size("bytes", 16_000_000, "bytes each sender sends per iteration")
        let receiver = try p.int("to", 0, "the receiving rank", in: 0...max(0, c.ranks - 1))
        let iterations = try p.int("iterations", 1, "rounds", in: 1...100_000)
        guard c.ranks >= 2 else { throw WorkloadError("incast: \(c.ranks) rank (valid: 2 or more)") }
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        var done: [Int?] = Array(repeating: nil, count: c.ranks)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            var sends: [Int: Int] = [:]
            for r in 0..<c.ranks where r != receiver {
                b.beginPhase("iter \(it + 1) flow \(r)->\(receiver)", .flow)
                sends[r] = b.send(r, to: receiver, bytes: bytes, after: GraphBuilder.deps(done, r))
                b.endPhase()
            }
            let all = b.mark(receiver, after: GraphBuilder.deps(done, receiver) + sends.keys.sorted().map { sends[$0]! })
            done = (0..<c.ranks).map { r in r == receiver ? all : b.mark(r, after: [sends[r]!]) }
        }
        return b.finish(iterations: iterations)
    }

    static func alltoall(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let bytes = try p.size("bytes", 4_000_000, "bytes each rank sends to each other rank per iteration")
        let iterations = try p.int("iterations", 1, "rounds", in: 1...100_000)
        let chunk = try p.size("chunk", 512 << 10, chunkHelp, min: 4096)
        guard c.ranks >= 2 else { throw WorkloadError("alltoall: \(c.ranks) rank (valid: 2 or more)") }
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        let matrix = (0..<c.ranks).map { i in (0..<c.ranks).map { j in i == j ? 0 : bytes } }
        var done: [Int?] = Array(repeating: nil, count: c.ranks)
        for it in 0..<iterations {
            b.iteration = Int32(it)
            b.beginPhase("iter \(it + 1) all-to-all")
            done = b.allToAll(group: Array(0..<c.ranks), matrix: matrix, chunk: chunk, after: done)
            b.endPhase()
        }
        return b.finish(iterations: iterations)
    }

    // MARK: background flows

    public enum SizeDistribution: String, CaseIterable, Sendable {
        /// Web search (DCTCP paper; the CDF HPCC's generator ships): 15% below 10 KB, 30 MB at most.
        case websearch
        /// Data mining (VL2; pFabric's CDF, sizes in 1460-byte packets): half are one packet,
        /// 1% above 97 MB, 973 MB at most.
        case datamining

        /// (bytes, cumulative probability) points, linear in between.
        public var cdf: [(Int, Double)] {
            switch self {
            case .websearch:
                [(0, 0), (10_000, 0.15), (20_000, 0.2), (30_000, 0.3), (50_000, 0.4), (80_000, 0.53), (200_000, 0.6),
                 (1_000_000, 0.7), (2_000_000, 0.8), (5_000_000, 0.9), (10_000_000, 0.97), (30_000_000, 1)]
            case .datamining:
                [(1460, 0), (1460, 0.5), (2 * 1460, 0.6), (3 * 1460, 0.7), (7 * 1460, 0.8), (267 * 1460, 0.9),
                 (2107 * 1460, 0.95), (66_667 * 1460, 0.99), (666_667 * 1460, 1)]
            }
        }

        /// The size at cumulative probability `u` (inverse transform).
        public func size(at u: Double) -> Int {
            let points = cdf
            for k in 1..<points.count where u <= points[k].1 {
                let (x0, p0) = points[k - 1], (x1, p1) = points[k]
                guard p1 > p0 else { return max(1, x1) }
                return max(1, Int((Double(x0) + (u - p0) / (p1 - p0) * Double(x1 - x0)).rounded()))
            }
            return points.last!.0
        }

        /// Mean flow size, bytes (the CDF's piecewise-linear mean).
        public var mean: Double {
            let p = cdf
            return (1..<p.count).reduce(0.0) { $0 + (p[$1].1 - p[$1 - 1].1) * Double(p[$1].0 + p[$1 - 1].0) / 2 }
        }
    }

    static func background(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let dist = try p.choice("distribution", SizeDistribution.websearch, "flow size distribution")
        let load = try p.double("load", 0.3, "offered load as a fraction of the hosts' link rate", in: 0.001...1)
        let flows = try p.int("flows", 200, "number of flows", in: 1...1_000_000)
        let start = try p.time("start", 0, "when the first arrivals may come")
        guard c.ranks >= 2 else { throw WorkloadError("background: \(c.ranks) rank (valid: 2 or more)") }
        // Poisson arrivals over all hosts: rate = load x hosts x link rate / mean size.
        let perSecond = load * Double(c.ranks) * Double(c.linkRate) / 8 / dist.mean
        var rng = SplitMix64(seed: c.seed ^ 0xBAC6_0000)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        var t = Double(start) / 1e12
        var clock = [Int64](repeating: 0, count: c.ranks)
        var chain: [Int?] = Array(repeating: nil, count: c.ranks)
        for k in 0..<flows {
            t += -log(1 - uniform()) / perSecond
            let src = Int(rng.next() % UInt64(c.ranks))
            var dst = Int(rng.next() % UInt64(c.ranks - 1))
            if dst >= src { dst += 1 }
            let size = dist.size(at: uniform())
            let at = Int64(t * 1e12)
            let wait = b.compute(src, at - clock[src], after: GraphBuilder.deps(chain, src))
            clock[src] = at
            chain[src] = wait
            b.beginPhase("flow \(k + 1) \(src)->\(dst)", .flow)
            _ = b.send(src, to: dst, bytes: size, after: [wait])
            b.endPhase()
        }
        return b.finish()
    }
}

import Foundation

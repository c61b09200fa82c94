import SluiceSupport
import Foundation
import SluiceRuntime

/// Reads a SimAI workload file (what Alibaba's AICB generates for SimAI, the ASTRA-sim text
/// format), and builds it as a graph:
///
///     HYBRID_TRANSFORMER_FWD_IN_BCKWD model_parallel_NPU_group: 2 ep: 1 pp: 1 vpp: 8 ga: 1 all_gpus: 8 checkpoints: 0 checkpoint_initiates: 0
///     3
///     embedding  -1 556000 ALLREDUCE 16777216 1 NONE 0 1 NONE 0 100
///     attention  -1 ...
///
/// Line 1: the policy and `key: value` pairs (`model_parallel_NPU_group` is the TP size,
/// `ep`, `pp`, `all_gpus`); line 2: the number of layers; then one line per layer: name,
/// dependency, then forward, input-gradient and weight-gradient (compute time, collective,
/// bytes), then the weight update time. Times are nanoseconds (SimAI's unit). Collectives:
/// NONE, ALLREDUCE, ALLGATHER, REDUCESCATTER, ALLTOALL, optionally suffixed _DP, _EP or
/// _DP_EP. Forward and input-gradient collectives default to the TP group (consecutive
/// ranks), weight-gradient ones to the DP group (ranks with the same TP index).
///
/// A rank runs forward layer by layer (compute, then its collective), then backward in
/// reverse (input gradient and its collective; weight gradient, whose collective goes on a
/// separate stream and overlaps what follows); the iteration ends when every weight-gradient
/// collective is done and the updates ran. `pp` above 1 is not supported (an error says so).
enum SimAIWorkload {
    enum Collective: String, CaseIterable { case none = "NONE", allreduce = "ALLREDUCE", allgather = "ALLGATHER", reducescatter = "REDUCESCATTER", alltoall = "ALLTOALL" }
    enum Group { case tp, dp, ep }

    struct Comm { var kind: Collective; var group: Group?; var bytes: Int }
    struct Layer {
        var name: String
        var forward: Int64, forwardComm: Comm
        var inputGradient: Int64, inputGradientComm: Comm
        var weightGradient: Int64, weightGradientComm: Comm
        var update: Int64
    }
    struct File { var tp = 1, ep = 1, pp = 1, gpus = 0; var layers: [Layer] = [] }

    static func parse(_ text: String, path: String) throws -> File {
        var f = File()
        let lines = FileIO.lines(text).map { $0.trimmingCharacters(in: .whitespaces) }
        func fail(_ line: Int, _ problem: String, valid: String) -> WorkloadError {
            WorkloadError("\(problem) (valid: \(valid))", origin: "\(path):\(line)")
        }
        guard let header = lines.first, !header.isEmpty else {
            throw fail(1, "empty file", valid: "a policy line such as 'HYBRID_TRANSFORMER_FWD_IN_BCKWD model_parallel_NPU_group: 2 ep: 1 pp: 1 all_gpus: 8', the layer count, then one line per layer")
        }
        let words = header.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var k = 1
        while k < words.count {
            guard words[k].hasSuffix(":"), k + 1 < words.count else {
                // SimAI tolerates trailing words such as "pp_comm 4096": skip them.
                k += 1; continue
            }
            let key = String(words[k].dropLast()), value = words[k + 1]
            func int(_ v: String) throws -> Int {
                guard let n = Int(v), n >= 1 else { throw fail(1, "\(key): '\(v)' is not a positive whole number", valid: "1, 2, 4 ...") }
                return n
            }
            switch key {
            case "model_parallel_NPU_group": f.tp = try int(value)
            case "ep": f.ep = try int(value)
            case "pp": f.pp = try int(value)
            case "all_gpus": f.gpus = try int(value)
            default: break
            }
            k += 2
        }
        guard lines.count > 1, let count = Int(lines[1]), count >= 1 else {
            throw fail(2, "'\(lines.count > 1 ? lines[1] : "")' is not the number of layers", valid: "a whole number of layer lines that follow")
        }
        for i in 0..<count {
            let n = i + 3
            guard n - 1 < lines.count, !lines[n - 1].isEmpty else {
                throw fail(n, "line 2 announces \(count) layers, the file has \(i)", valid: "\(count) layer lines, or fix the count")
            }
            let w = lines[n - 1].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard w.count >= 12 else {
                throw fail(n, "\(w.count) fields", valid: "12: name dependency fwd_time fwd_comm fwd_bytes ig_time ig_comm ig_bytes wg_time wg_comm wg_bytes update_time")
            }
            func time(_ j: Int, _ what: String) throws -> Int64 {
                guard let v = Double(w[j]), v >= 0, v.isFinite else { throw fail(n, "\(what) '\(w[j])' is not a time in nanoseconds", valid: "a number ≥ 0") }
                return Int64(v * 1000)
            }
            func comm(_ j: Int, _ what: String) throws -> Comm {
                var name = w[j]
                var group: Group? = nil
                for (suffix, g) in [("_DP_EP", Group.dp), ("_DP", .dp), ("_EP", .ep)] where name.hasSuffix(suffix) {
                    name = String(name.dropLast(suffix.count)); group = g; break
                }
                guard let kind = Collective(rawValue: name) else {
                    throw fail(n, "\(what) collective '\(w[j])'", valid: Collective.allCases.map(\.rawValue).joined(separator: ", ") + ", with _DP, _EP or _DP_EP")
                }
                guard let bytes = Int(w[j + 1]), bytes >= 0 else {
                    throw fail(n, "\(what) size '\(w[j + 1])'", valid: "bytes, a whole number ≥ 0")
                }
                return Comm(kind: kind, group: group, bytes: bytes)
            }
            f.layers.append(Layer(name: w[0], forward: try time(2, "forward time"), forwardComm: try comm(3, "forward"),
                                  inputGradient: try time(5, "input-gradient time"), inputGradientComm: try comm(6, "input-gradient"),
                                  weightGradient: try time(8, "weight-gradient time"), weightGradientComm: try comm(9, "weight-gradient"),
                                  update: try time(11, "update time")))
        }
        return f
    }

    static func build(_ p: ParameterReader, _ c: WorkloadContext) throws -> WorkloadGraph {
        let fileArg = p.string("file", "the SimAI workload file (relative to the topology file or the current folder)")
        let iterations = try p.int("iterations", 1, "iterations of the file's layers", in: 1...100_000)
        let chunk = try p.size("chunk", 512 << 10, WorkloadCatalog.chunkHelp, min: 4096)
        guard let arg = fileArg else {
            if p.describing { return WorkloadGraph(ranks: c.ranks) }
            throw WorkloadError("simai: no file= given (valid: file=PATH to a SimAI workload file)")
        }
        let path = arg.text.hasPrefix("/") ? arg.text : (c.baseDirectory as NSString).appendingPathComponent(arg.text)
        let text: String
        do { text = try FileIO.readText(path) } catch {
            throw WorkloadError("the SimAI workload file: \(error) (valid: a readable UTF-8 text file)", origin: arg.origin)
        }
        let f = try parse(text, path: path)
        if f.gpus != 0 && f.gpus != c.ranks {
            throw WorkloadError("all_gpus: \(f.gpus), the job has \(c.ranks) hosts (valid: as many hosts as all_gpus)", origin: "\(path):1")
        }
        guard f.pp == 1 else {
            throw WorkloadError("pp: \(f.pp): pipeline stages are not imported (valid: pp: 1; use the pipeline or 3d workload for pipelines)", origin: "\(path):1")
        }
        guard c.ranks % f.tp == 0 else {
            throw WorkloadError("model_parallel_NPU_group: \(f.tp) does not divide \(c.ranks) ranks (valid: a divisor of the number of hosts)", origin: "\(path):1")
        }
        let dp = c.ranks / f.tp
        guard dp % f.ep == 0 else {
            throw WorkloadError("ep: \(f.ep) does not divide the \(dp) data-parallel ranks (valid: a divisor of \(dp))", origin: "\(path):1")
        }
        func group(of r: Int, _ g: Group) -> [Int] {
            let t = r % f.tp, d = r / f.tp
            switch g {
            case .tp: return (0..<f.tp).map { d * f.tp + $0 }
            case .dp: return (0..<dp).map { $0 * f.tp + t }
            case .ep: let base = d / f.ep * f.ep; return (0..<f.ep).map { (base + $0) * f.tp + t }
            }
        }
        let b = GraphBuilder(ranks: c.ranks, limit: c.maxOperations)
        var last: [Int?] = Array(repeating: nil, count: c.ranks)
        var stream: [Int?] = Array(repeating: nil, count: c.ranks)

        /// Run `comm` over every group of kind `g` (each rank in one group), after `after`.
        func collective(_ comm: Comm, default g: Group, after: [Int?], label: String) -> [Int?] {
            guard comm.kind != .none, comm.bytes > 0 else { return after }
            var out = after
            var seen = Set<Int>()
            for r in 0..<c.ranks where !seen.contains(r) {
                let members = group(of: r, comm.group ?? g)
                members.forEach { seen.insert($0) }
                guard members.count > 1 else { continue }
                b.beginPhase("\(label) \(comm.kind.rawValue.lowercased()) group of rank \(r)")
                let start = members.map { after[$0] }
                let done: [Int]
                switch comm.kind {
                case .allreduce: done = b.allReduce(.ring, group: members, bytes: comm.bytes, chunk: chunk, after: start)
                case .allgather: done = b.allGather(group: members, bytes: comm.bytes, chunk: chunk, after: start)
                case .reducescatter: done = b.reduceScatter(group: members, bytes: comm.bytes, chunk: chunk, after: start)
                case .alltoall:
                    let each = comm.bytes / members.count
                    done = b.allToAll(group: members, matrix: members.indices.map { i in members.indices.map { $0 == i ? 0 : each } },
                                      chunk: chunk, after: start)
                case .none: done = []
                }
                b.endPhase()
                for (k, m) in members.enumerated() { out[m] = done[k] }
            }
            return out
        }

        for it in 0..<iterations {
            b.iteration = Int32(it)
            for (l, layer) in f.layers.enumerated() {
                last = (0..<c.ranks).map { r in b.compute(r, layer.forward, after: GraphBuilder.deps(last, r)) }
                last = collective(layer.forwardComm, default: .tp, after: last, label: "iter \(it + 1) layer \(l + 1) \(layer.name) forward")
            }
            var updates: [Int64] = []
            for (l, layer) in f.layers.enumerated().reversed() {
                last = (0..<c.ranks).map { r in b.compute(r, layer.inputGradient, after: GraphBuilder.deps(last, r)) }
                last = collective(layer.inputGradientComm, default: .tp, after: last, label: "iter \(it + 1) layer \(l + 1) \(layer.name) input-gradient")
                last = (0..<c.ranks).map { r in b.compute(r, layer.weightGradient, after: GraphBuilder.deps(last, r)) }
                let ready = (0..<c.ranks).map { r in b.mark(r, after: GraphBuilder.deps(last, r) + GraphBuilder.deps(stream, r)) } as [Int?]
                stream = collective(layer.weightGradientComm, default: .dp, after: ready, label: "iter \(it + 1) layer \(l + 1) \(layer.name) weight-gradient")
                updates.append(layer.update)
            }
            let total = updates.reduce(0, +)
            last = (0..<c.ranks).map { r in b.compute(r, total, after: GraphBuilder.deps(last, r) + GraphBuilder.deps(stream, r)) }
            stream = last
        }
        return b.finish(iterations: iterations)
    }
}

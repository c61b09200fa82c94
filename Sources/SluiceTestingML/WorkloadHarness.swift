import SluiceTesting
import SluiceControlPlane
import Foundation
import SluiceEmulator
import SluiceIR
import SluiceML
import SluicePcapFiles
import SluiceRuntime

/// Runs workloads (a topology file's `jobs`, or one workload on a topology) and traces through
/// the emulator, and checks what tests assert on: every message delivered exactly once,
/// queues below a bound, iteration times against a bound. Each check throws a
/// `HarnessError` naming what went wrong and where, so `try` in a Swift Testing test fails it
/// with that message.
public final class WorkloadHarness {
    public let emulator: Emulator
    public let runs: [WorkloadRun]
    public private(set) var stats: RunStats?
    public private(set) var report: RunReport?

    /// `topology`: YAML text with its `jobs` (and optionally traffic). `options` as for a run
    /// (its seed seeds the jobs too).
    public init(topology yaml: String, file: String = "harness.yaml", baseDirectory: String = ".", options: EmulatorOptions = EmulatorOptions()) throws {
        let spec = try TopologyFile.parse(yaml, file: file, baseDirectory: baseDirectory, seed: options.seed, programs: .builtIn)
        emulator = try Emulator(spec, options: options, programs: .builtIn)
        runs = try Jobs.attach(spec.jobs, to: emulator, seed: options.seed)
    }

    /// One workload (`sluice traffic` parameters) on the first `hosts` hosts of `topology`.
    public convenience init(workload: String, _ parameters: [String] = [], hosts: Int? = nil, topology yaml: String,
                            aggregator: String? = nil, options: EmulatorOptions = EmulatorOptions()) throws {
        let spec = try TopologyFile.parse(yaml, file: "harness.yaml", baseDirectory: ".", seed: options.seed, programs: .builtIn)
        let names = spec.hosts.map { spec.nodes[$0].name }
        let params = parameters.map { p -> String in
            let kv = p.split(separator: "=", maxSplits: 1)
            return "\(kv[0]): \"\(kv.count > 1 ? String(kv[1]) : "")\""
        }
        let chosen = Array(names.prefix(hosts ?? names.count))
        let job = "jobs:\n  - {name: \(workload), workload: \(workload), hosts: [\(chosen.joined(separator: ", "))]"
            + (aggregator.map { ", switch: \($0)" } ?? "") + (params.isEmpty ? "" : ", " + params.joined(separator: ", ")) + "}\n"
        try self.init(topology: yaml + "\n" + job, options: options)
    }

    /// Feed a pcap's frames in at `node:port` (before `run`), with their original spacing / `speed`.
    public func replay(pcap path: String, at node: String, port: UInt16, speed: Double = 1) throws {
        let reader = try PcapFileReader(path: path)
        var trace = InjectedTrace(node: node, port: port)
        while let p = try reader.next() { trace.append(timestampNanoseconds: p.timestamp, bytes: p.bytes) }
        try emulator.inject(trace, speed: speed)
    }

    /// Run to the end (or `until` picoseconds); returns each job's result.
    @discardableResult
    public func run(until: Int64? = nil) -> [WorkloadResult] {
        let s = emulator.run(until: until)
        stats = s
        report = RunReport(emulator, stats: s)
        return runs.map(\.result)
    }

    public var results: [WorkloadResult] { runs.map(\.result) }

    // MARK: checks

    /// Every job finished every operation.
    public func expectComplete() throws {
        for r in results where !r.complete {
            throw HarnessError(message: "job \(r.name): \(r.operationsDone) of \(r.operations) operations done; the run ended first")
        }
    }

    /// Every message of every job arrived exactly once, and every transport connection
    /// delivered all it was given, in order, with no byte given twice to the application.
    public func expectEveryMessageDeliveredExactlyOnce() throws {
        for run in runs {
            if let p = run.deliveryProblems.first {
                throw HarnessError(message: "job \(run.name): \(run.deliveryProblems.count) messages not delivered exactly once; first: operation \(p.operation), rank \(p.from) -> \(p.to), \(p.bytes) bytes, arrived \(p.arrivals) times")
            }
        }
        let names = emulator.hostNames
        for c in emulator.connectionStats where c.bytesDelivered != c.bytesQueued || c.messagesDelivered != c.messagesQueued {
            throw HarnessError(message: "connection \(names[c.source]) -> \(names[c.destination]): delivered \(c.bytesDelivered) of \(c.bytesQueued) bytes, \(c.messagesDelivered) of \(c.messagesQueued) messages")
        }
    }

    /// The deepest queue anywhere and where.
    public var deepestQueue: (port: String, bytes: Int) {
        guard let r = report, let p = r.ports.max(by: { $0.maxQueueBytes < $1.maxQueueBytes }) else { return ("-", 0) }
        return ("\(p.node):\(p.port) -> \(p.peer)", p.maxQueueBytes)
    }

    /// No switch or NIC queue ever held more than `bytes`.
    public func expectNoQueue(above bytes: Int) throws {
        let q = deepestQueue
        if q.bytes > bytes { throw HarnessError(message: "queue at \(q.port) reached \(q.bytes) bytes, above \(bytes)") }
    }

    /// No packet was dropped by a queue, lost on a wire, or refused for its size.
    public func expectNoDrops() throws {
        guard let r = report else { throw HarnessError(message: "run() first") }
        for p in r.ports where p.queueDrops + p.lost + p.mtuDrops + p.egressDrops > 0 {
            throw HarnessError(message: "\(p.node):\(p.port): \(p.queueDrops) queue drops, \(p.lost) lost, \(p.mtuDrops) too large, \(p.egressDrops) egress drops")
        }
    }

    /// Every complete iteration of job `job` took between `bound` and `bound x (1 + within)`
    /// seconds (a lower bound such as compute plus the exposed communication at line rate).
    public func expectIterationTime(job: Int = 0, within: Double, of bound: Double) throws {
        let r = results[job]
        guard !r.iterations.isEmpty else { throw HarnessError(message: "job \(r.name): no complete iteration") }
        for (i, t) in r.iterations.enumerated() where t < bound * (1 - 1e-9) || t > bound * (1 + within) {
            throw HarnessError(message: "job \(r.name): iteration \(i + 1) took \(t * 1e3) ms, bound \(bound * 1e3) ms (valid: up to \(within * 100)% above it)")
        }
    }
}

/// Every frame of `pcap` through `program` (entries applied) on `port`: what came out, per
/// output port in order, and how many frames went in.
public func replayTrace(_ pcap: String, through program: VerifiedProgram, entries: String? = nil, port: UInt16 = 0,
                        controller: (any ProgramController)? = nil) throws -> (frames: Int, outputs: [UInt16: [[UInt8]]]) {
    let h = try SwitchHarness(program, entries: entries, controller: controller)
    let reader = try PcapFileReader(path: pcap)
    var frames = 0
    var out: [UInt16: [[UInt8]]] = [:]
    while let p = try reader.next() {
        try h.send(Array(p.bytes), port: port, timestamp: UInt64(clamping: p.timestamp))
        frames += 1
        for (o, bytes) in h.drain() { out[o, default: []].append(bytes) }
    }
    return (frames, out)
}

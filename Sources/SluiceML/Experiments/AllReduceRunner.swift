import SluiceControlPlane
import SluiceEmulator
import SluicePrograms
import Sluice
import Foundation
import SluiceRuntime
import SluiceSupport

/// How a tensor gets summed over the workers.
public enum AllReduceScheme: Hashable, Sendable, CustomStringConvertible {
    /// The `switchml` program and the SwitchML worker protocol, k values per packet.
    case inNetwork(k: Int)
    /// A host-based collective (`BaselineRun`).
    case baseline(BaselineScheme)

    public var description: String {
        switch self {
        case .inNetwork(let k): "switchml-k\(k)"
        case .baseline(let b): b.rawValue
        }
    }
}

/// One emulated star: n workers (and a server for `ps`) under one switch running `switchml`
/// (which routes everything that is not aggregation, so the baselines cross the same switch).
public struct StarSetup: Sendable {
    public var workers: Int
    public var rateGbps: Double
    public var delay: Int64 = 1_000_000              // 1 us
    /// Link loss probability (every link, both directions).
    public var loss: Double = 0
    public var mtu = 1500
    public var poolSlots = 256
    public var timeout: Int64?
    public var seed: UInt64 = 1
    public var progress = false
    public var shadow = true
    /// What runs the switch's program (`SLUICE_ENGINE`, else native code).
    public var engine: PipelineEngine = .default

    public init(workers: Int, rateGbps: Double) { self.workers = workers; self.rateGbps = rateGbps }

    /// The star: DCTCP-style ECN marking at 64 KB on every queue (the baselines' transport
    /// cuts its window on marks, so ring, whose links run at exactly 100% with its acks, keeps
    /// short queues instead of filling buffers and waiting out retransmission timeouts).
    ///
    /// Emulator options of every experiment: Ethernet's 24 bytes a frame on the wire, and a
    /// 200 us RTO floor for the baselines' transport (a data-center setting).
    var options: EmulatorOptions {
        var o = EmulatorOptions()
        o.seed = seed
        o.wireOverhead = 24
        o.progress = progress
        o.minRTO = 200_000_000
        o.hostQueueLimit = 131_072
        o.engine = engine
        return o
    }

    func yaml(hosts: Int, program: String) -> String {
        """
        name: allreduce
        topology:
          generator: {star: {hosts: \(hosts)}}
          defaults:
            link: {rate: \(rateGbps)Gbps, delay: \(Double(delay) / 1e6)us, mtu: \(mtu), loss: \(loss),
                   queue: {limit: 4MB, ecn: {kmin: 64KB, kmax: 64KB, pmax: 1}}}
            switch: {program: \(program)}
        """
    }
}

/// What one allreduce run measured.
public struct AllReduceMeasurement: Sendable {
    public var scheme: AllReduceScheme
    /// Virtual completion time (ps); nil if it did not finish.
    public var time: Int64?
    public var wallSeconds: Double
    public var retransmissions: Int
    public var packetHops: UInt64
    /// What the run did, exactly: the same for the same setup and seed on any machine.
    public var work: AllReduceWork
    /// What ran the switch's pipeline (`Emulator.engineSummary`).
    public var engine: String
}

/// The work of one allreduce run, counted (not timed): tests pin these so that a change that
/// makes the emulator or the protocols do more work fails deterministically.
public struct AllReduceWork: Sendable, Equatable, Encodable, CustomStringConvertible {
    public var events: EventCounts
    public var packetHops: UInt64
    public var packetsDelivered: UInt64
    /// Packets the collective's senders sent, retransmissions included: the workers' updates
    /// (in-network) or the transport's data packets (baselines).
    public var packetsSent: UInt64
    /// Packets the workers sent again (in-network), or the transport's timeouts plus fast
    /// retransmits (baselines).
    public var retransmissions: UInt64
    /// Retransmission timers that fired: the workers' wake-ups (in-network), the transport's
    /// retransmission timeouts (baselines).
    public var timerFirings: UInt64

    public var description: String {
        "\(events); packet-hops \(packetHops), delivered \(packetsDelivered), sent \(packetsSent), "
            + "retransmissions \(retransmissions), timer firings \(timerFirings)"
    }
}

public enum AllReduceRunner {
    /// Sum `inputs` (one tensor per worker) with `scheme` on `setup`'s star; the results are
    /// left in `buffers` (made from `inputs`). `limit`: stop virtual time there (a run that
    /// cannot finish, such as a broken variant under loss, ends instead of hanging).
    public static func run<T: AllReduceScalar>(_ scheme: AllReduceScheme, setup: StarSetup, buffers: [TensorBuffer<T>],
                                               limit: Int64? = nil) throws -> AllReduceMeasurement {
        let n = setup.workers
        let k: Int
        if case .inNetwork(let kk) = scheme { k = kk } else { k = 64 }
        let servers = scheme == .baseline(.ps) ? 1 : 0
        let text = setup.yaml(hosts: n + servers, program: SwitchML.name)
        let spec = try TopologyFile.parse(text, file: "allreduce.yaml", baseDirectory: ".", seed: setup.seed, programs: .builtIn)
        var options = setup.options
        let shadow = setup.shadow, slots = max(4096, setup.poolSlots)
        let programs = ProgramResolver.builtIn.replacing(SwitchML.name) { try SwitchML.program(k: k, slots: slots, shadow: shadow).verified() }
        let emulator = try Emulator(spec, options: options, programs: programs)
        let workers = (1...n).map { "h\($0)" }
        let clock = MonotonicClock.nanoseconds
        switch scheme {
        case .inNetwork(let k):
            let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: setup.poolSlots, timeout: setup.timeout)
            let run = try InNetworkRun(emulator: emulator, switchName: "sw", workers: workers, buffers: buffers, config: config)
            _ = emulator.run(until: limit)
            let stats = run.stats
            let retransmissions = stats.reduce(0) { $0 + $1.retransmissions }
            let work = AllReduceWork(events: emulator.eventCounts, packetHops: emulator.packetHops,
                                     packetsDelivered: emulator.packetsDelivered,
                                     packetsSent: UInt64(stats.reduce(0) { $0 + $1.packetsSent }),
                                     retransmissions: UInt64(retransmissions),
                                     timerFirings: UInt64(stats.reduce(0) { $0 + $1.timerFirings }))
            return AllReduceMeasurement(scheme: scheme, time: run.outcome.time, wallSeconds: MonotonicClock.seconds(since: clock),
                                        retransmissions: retransmissions, packetHops: emulator.packetHops, work: work,
                                        engine: emulator.engineSummary.engine)
        case .baseline(let b):
            let run = try BaselineRun(b, emulator: emulator, workers: workers, servers: servers == 1 ? ["h\(n + 1)"] : [],
                                      buffers: buffers)
            _ = emulator.run(until: limit)
            let c = emulator.connectionStats
            let retransmissions = c.reduce(0) { $0 + $1.timeouts + $1.fastRetransmits }
            let work = AllReduceWork(events: emulator.eventCounts, packetHops: emulator.packetHops,
                                     packetsDelivered: emulator.packetsDelivered,
                                     packetsSent: c.reduce(0) { $0 + $1.packetsSent }, retransmissions: retransmissions,
                                     timerFirings: c.reduce(0) { $0 + $1.timeouts })
            return AllReduceMeasurement(scheme: scheme, time: run.outcome.time, wallSeconds: MonotonicClock.seconds(since: clock),
                                        retransmissions: Int(retransmissions), packetHops: emulator.packetHops, work: work,
                                        engine: emulator.engineSummary.engine)
        }
    }
}

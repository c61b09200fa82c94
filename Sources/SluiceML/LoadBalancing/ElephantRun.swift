import SluiceEmulator
import SluicePrograms

/// Synchronized elephants on a two-tier fabric under one load-balancing scheme: each pair
/// (source, destination) sends `chunks` messages of `chunkBytes` over the reliable transport,
/// the next one `gap` picoseconds after the previous one is acknowledged (a collective's steps
/// with a little compute or synchronization between them, as NCCL's chunks and DDP's buckets
/// come). All pairs start at time 0. The figure that matters is the last pair's finish: a
/// collective waits for its slowest flow.
public enum ElephantRun {
    public struct Result: Sendable {
        /// Per pair, when its last chunk was acknowledged (picoseconds).
        public var finish: [Int64]
        /// The run's counters (per-port bytes and drops, per-switch drops).
        public var report: RunReport
        public var slowest: Int64 { finish.max() ?? 0 }
    }

    /// Runs `spec` with every switch running `program` (its setup applied for `conga` and
    /// `hula`), `seed` for the emulator and the transport's source ports. `until` bounds the
    /// run (HULA's probes stop there); unfinished pairs report `Int64.max`. With
    /// `pcapDirectory`, the links marked `capture` in `spec` (every link when none is) are
    /// written there, one pcap each.
    public static func run(_ spec: TopologySpec, program: String, pairs: [(String, String)], chunks: Int, chunkBytes: Int,
                           gap: Int64, seed: UInt64, until: Int64, pcapDirectory: String? = nil) throws -> Result {
        var spec = spec
        for s in spec.switches {
            guard case .switch(var sw) = spec.nodes[s].kind else { continue }
            sw.program = program
            spec.nodes[s].kind = .switch(sw)
        }
        spec.until = until
        var o = EmulatorOptions()
        o.seed = seed
        o.sourcePortSeed = seed
        o.pcapDirectory = pcapDirectory
        let emu = try Emulator(spec, options: o, programs: .builtIn)
        switch program {
        case CONGA.name: try CONGASetup.prepare(emu, spec)
        case HULA.name: try HULASetup.prepare(emu, spec)
        default: break
        }
        for (_, dst) in pairs where !(spec.node(named: dst).map { spec.nodes[$0].isHost } ?? false) {
            throw WorkloadError("elephants: no host named '\(dst)'")
        }
        let senders = try pairs.map { (src, dst) -> ChunkSender in
            let s = ChunkSender(to: dst, chunks: chunks, bytes: chunkBytes, gap: gap)
            try emu.attach(s, host: src)
            return s
        }
        let stats = emu.run(until: until)
        return Result(finish: senders.map { $0.finished ?? .max }, report: RunReport(emu, stats: stats))
    }
}

/// Sends `chunks` messages of `bytes` to host `to`, each `gap` after the last one's
/// acknowledgement; records when the last is acknowledged.
final class ChunkSender: Application {
    let to: String, chunks: Int, bytes: Int, gap: Int64
    var sent = 0
    var finished: Int64?
    var peer = -1

    init(to: String, chunks: Int, bytes: Int, gap: Int64) { self.to = to; self.chunks = chunks; self.bytes = bytes; self.gap = gap }

    func start(_ host: HostAPI) {
        peer = host.host(named: to) ?? -1
        timer(0, host)
    }
    func received(_ message: ReceivedMessage, _ host: HostAPI) {}
    func acknowledged(tag: UInt64, _ host: HostAPI) {
        if sent == chunks { finished = host.now } else { host.setTimer(after: gap, token: 0) }
    }
    func timer(_ token: Int, _ host: HostAPI) {
        guard peer >= 0, sent < chunks else { return }
        sent += 1
        host.send(to: peer, bytes: bytes, tag: UInt64(sent))
    }
}

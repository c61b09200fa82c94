import SluiceControlPlane
import ArgumentParser
import Foundation
import SluiceEmulator
import SluiceIR
import SluicePcap
import SluicePcapFiles
import SluicePrograms
import SluiceRuntime
import SluiceSupport

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the packets of a pcap or pcapng file through a program, offline; outputs go to a pcap per port.",
        discussion: """
            Like BMv2's pcap-file mode: every packet of FILE enters the compiled program on --port, \
            stamped with its capture time (standard.ingressTimestamp, nanoseconds), in file order. \
            What leaves port K is appended to OUT/port-K.pcap with the input packet's timestamp \
            (nanosecond pcap, one file per port that sent anything; the port-K.pcap files of an \
            earlier replay in OUT are removed first). Prints a table of outputs per \
            port and of drops by stage (parser, ingress, egress, recirculation limit, ...); --json \
            prints one object instead. A damaged file is processed up to the damage, then the error \
            names the file and the byte offset. Examples:
              sluice replay in.pcap --program ipv4-router --entries routes.txt --pcap-dir out
              sluice replay in.pcapng --program l2-switch --port 3 --pcap-dir out --json
            --trace prints a pipeline trace of each packet (--trace-filter: only the packets it accepts):
              sluice replay in.pcap --program ipv4-router --entries routes.txt --pcap-dir out --trace --trace-filter 'ipv4.dst == 10.0.2.2'
            With --topology T.yaml --at NODE:PORT the capture is injected into an emulated network \
            instead: each frame enters switch NODE on PORT (or leaves host NODE's NIC) at its \
            capture time relative to the first frame, divided by --speed, and the run prints the \
            emulator's summary (--report, --pcap-dir and --json as for `sluice emulate`):
              sluice replay trace.pcap --topology Topologies/leafspine-16.yaml --at leaf1:1 --pcap-dir pcaps
              sluice replay trace.pcap --topology Topologies/dumbbell.yaml --at h1:0 --speed 10 --report out
            """)

    @Argument(help: "The pcap or pcapng file.")
    var file: String

    @Option(help: "A built-in program (see `sluice programs`) or a program file (.json); offline mode.")
    var program: String?

    @Option(help: "An entries file (BMv2 runtime CLI commands) to apply first.")
    var entries: String?

    @Option(help: "The ingress port every packet enters on (0...511).")
    var port: Int = 0

    @Option(help: "Offline: the folder for the port-K.pcap files (created if missing; earlier port-K.pcap files in it are removed); with --topology: a pcap per link.")
    var pcapDir: String?

    /// The old spelling of --pcap-dir, refused with the new one.
    @Option(help: .hidden)
    var out: String?

    @Option(help: "Inject into this emulated topology (YAML) instead of running one program offline.")
    var topology: String?

    @Option(help: "With --topology: NODE:PORT where the frames enter (a switch port, or a host's NIC).")
    var at: OptionValue<NodePort>?

    @Option(help: "With --topology: replay this many times faster than captured (0.5: half speed).")
    var speed: Double = 1

    @Option(help: "With --topology: stop at this simulated time (e.g. 10ms).")
    var until: OptionValue<SimulatedTime>?

    @Option(help: "With --topology: write a report folder (index.html, report.json, CSVs, plots).")
    var report: String?

    @Option(help: "Seed for the program's random values.")
    var seed: UInt64 = 1

    @Flag(help: "Print one JSON object instead of the summary table.")
    var json = false

    @OptionGroup var engineOption: EngineOption

    @OptionGroup var tracing: TraceOptions

    func validate() throws {
        if out != nil { throw ValidationError(renamed("--out", "--pcap-dir")) }
        if topology != nil {
            guard let at else { throw ValidationError("--topology needs --at NODE:PORT (where the frames enter), e.g. --at leaf1:1") }
            _ = try at.value("--at")
            _ = try until?.value("--until")
            guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number (got \(speed))") }
            if tracing.trace {
                throw ValidationError("--trace is for offline replay; with --topology use `sluice emulate T.yaml --trace SWITCH` (the emulator traces the switches named)")
            }
            if program != nil || entries != nil || port != 0 {
                throw ValidationError("--program, --entries and --port are for offline replay; with --topology the topology's switches run their programs, frames enter at --at, and --report or --pcap-dir give the output")
            }
            return
        }
        if at != nil || report != nil || until != nil || speed != 1 {
            throw ValidationError("--at, --speed, --until and --report need --topology")
        }
        guard program != nil else { throw ValidationError("give --program P (offline replay) or --topology T.yaml --at NODE:PORT") }
        guard pcapDir != nil else { throw ValidationError("give --pcap-dir DIR: the folder for the port-K.pcap files") }
        guard (0...511).contains(port) else {
            throw ValidationError("--port \(port) is outside 0...511 (ports are 9 bits)")
        }
    }

    /// The offline --json object (`sluice bench pcap` reads it back).
    struct Summary: Codable {
        struct Output: Codable { var port: Int; var packets: Int; var bytes: Int; var file: String }
        var file: String; var program: String; var port: Int; var packets: Int; var bytes: Int
        var elapsed_s: Double; var mpps: Double; var sent: UInt64; var outputs: [Output]; var drops: [String: UInt64]
        var dropped: UInt64; var digests_dropped: UInt64; var truncated_in_file: Int; var error: Nullable<String>
        var engine: String
    }

    /// The port K whose output file OUT/port-K.pcap is `input` itself (the same file by device
    /// and inode: through `..`, a symbolic link or a hard link too), or nil: the replay writes
    /// outputs as it reads, so it would destroy the packets it has not read yet.
    static func outputPort(overwriting input: String, in out: String) -> Int? {
        var target = stat()
        guard stat(input, &target) == 0 else { return nil }
        var candidate = stat()
        return (0..<ports).first { k in
            stat(outputFile(in: out, port: k), &candidate) == 0
                && candidate.st_dev == target.st_dev && candidate.st_ino == target.st_ino
        }
    }

    /// Egress ports are 9 bits: the port-K.pcap files a replay can write are K in 0..<512.
    static let ports = 512

    /// OUT/port-K.pcap: where what leaves port `port` is written.
    static func outputFile(in out: String, port: Int) -> String {
        (out as NSString).appendingPathComponent("port-\(port).pcap")
    }

    /// Removes the port-K.pcap files an earlier replay left in `out`, before the clock starts:
    /// the folder then holds this run's outputs only (a port that sends nothing this time keeps
    /// no stale file), and freeing an old file's pages is not counted as replay time (truncating
    /// an 80 MB output at its first packet took 20 ms, a fifth of a million-packet replay).
    static func removeEarlierOutputs(in out: String) throws {
        for k in 0..<ports {
            let path = outputFile(in: out, port: k)
            if unlink(path) != 0 && errno != ENOENT {
                throw CLIError("--pcap-dir: cannot remove the earlier output \(path): \(String(cString: strerror(errno))); give another folder or remove it")
            }
        }
    }

    /// NODE:PORT of --at.
    enum NodePort: OptionSyntax {
        static func parse(_ text: String) throws(OptionProblem) -> (node: String, port: UInt16) {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port < Replay.ports,
                  colon != text.startIndex else {
                throw OptionProblem("expected NODE:PORT with PORT in 0...511, e.g. leaf1:1 or h1:0", valid: nil)
            }
            return (String(text[..<colon]), port)
        }
    }

    func run() throws {
        if let topology, let at { return try replayIntoTopology(topology, at: at.parsed) }
        guard let program, let out = pcapDir else { return }
        if let k = Self.outputPort(overwriting: file, in: out) {
            let output = Self.outputFile(in: out, port: k)
            let other = (out.hasSuffix("/") ? String(out.dropLast()) : out) + "-replayed"
            throw CLIError("--pcap-dir \(out): the output \(output) is the input file \(file); replaying would overwrite it. Give --pcap-dir another folder, e.g. --pcap-dir \(other)")
        }
        let info = try resolveProgram(program)
        let ir = info.program
        let pipeline: Pipeline
        // With --json the summary object owns standard output: the trace goes to standard error.
        pipeline = try makePipeline(ir, name: program, seed: seed, trace: try tracing.tracer(sink: traceSink(toStandardError: json)),
                                    engine: engineOption.chosen)
        let inPort = UInt16(port)
        let controller = info.controller?(Array(Set((0..<8).map { UInt16($0) } + [inPort])).sorted())
        do { try controller?.setup(pipeline) } catch { throw CLIError("\(program): controller: \(error)") }
        if let entries {
            do { try EntriesFile(path: entries).apply(to: pipeline) } catch { throw CLIError("\(error)") }
        }
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw CLIError("--pcap-dir: cannot create '\(out)': \(error.localizedDescription)")
        }
        try Self.removeEarlierOutputs(in: out)
        let reader: PcapFileReader
        do { reader = try PcapFileReader(path: file) } catch { throw CLIError("\(error)") }
        if reader.linkType != 1 {
            stderr("warning: \(file): link type \(reader.linkType) is not Ethernet (1); \(program) parses every frame as Ethernet")
        }

        let run = OfflineReplay(pipeline: pipeline, port: inPort, directory: out,
                                controller: ir.digests.isEmpty ? nil : controller, progress: !json, file: file, fileSize: reader.fileSize)
        let damage = try run.replay(reader)
        let s = pipeline.stats
        let drops: [(String, UInt64)] = [
            ("parser", s.parserDrops), ("ingress", s.ingressDrops), ("egress", s.egressDrops),
            ("recirculation limit", s.passLimitDrops), ("no headroom", s.headroomDrops),
            ("too large", s.oversizeDrops + UInt64(run.oversize)), ("empty multicast group", s.emptyGroupDrops),
        ]
        let ports = run.outputs
        if json {
            try printJSON(Summary(file: file, program: program, port: port, packets: run.packets, bytes: run.bytes,
                                  elapsed_s: run.seconds, mpps: run.mpps, sent: s.sent,
                                  outputs: ports.map { Summary.Output(port: $0.port, packets: $0.packets, bytes: $0.bytes, file: $0.path) },
                                  drops: Dictionary(uniqueKeysWithValues: drops.map { ($0.0.replacingOccurrences(of: " ", with: "_"), $0.1) }),
                                  dropped: drops.reduce(0) { $0 + $1.1 }, digests_dropped: s.digestsDropped,
                                  truncated_in_file: run.truncated, error: Nullable(damage.map { "\($0)" }), engine: pipeline.engine.rawValue))
        } else {
            print("replayed \(run.packets) packets (\(run.bytes) bytes) from \(file) through \(program) on port \(port) in \(fmt(run.seconds)) s (\(fmt(run.mpps)) Mpps); \(s.sent) sent; \(engineLine(pipeline))")
            print("  out port    packets        bytes  file")
            for o in ports {
                print("  " + rightAligned(o.port, 8) + rightAligned(o.packets, 11) + rightAligned(o.bytes, 13) + "  " + o.path)
            }
            if ports.isEmpty { print("  (no packet came out)") }
            print("  drops       packets")
            for (name, n) in drops where n > 0 || ["parser", "ingress", "egress"].contains(name) {
                print("  " + name.padding(22) + rightAligned(n, 0))
            }
            if let t = pipeline.tracer { print("traced \(t.shown) of \(t.packets) packets\(t.filter.map { " (filter: \($0))" } ?? "")") }
            if run.truncated > 0 { print("note: \(run.truncated) packets were cut by the capture (snaplen) and entered the program cut") }
        }
        if let damage { throw CLIError("\(damage) (the \(run.packets) packets before it were processed)") }
    }
}

extension Replay {
    /// Read the whole capture (up to any damage), inject it at --at and run the topology.
    func replayIntoTopology(_ topology: String, at: (node: String, port: UInt16)) throws {
        let reader: PcapFileReader
        do { reader = try PcapFileReader(path: file) } catch { throw CLIError("\(error)") }
        if reader.linkType != 1 {
            stderr("warning: \(file): link type \(reader.linkType) is not Ethernet (1); the switches parse every frame as Ethernet")
        }
        var trace = InjectedTrace(node: at.node, port: at.port)
        var damage: PcapError?
        do throws(PcapError) {
            while let p = try reader.next() { trace.append(timestampNanoseconds: p.timestamp, bytes: p.bytes) }
        } catch {
            damage = error
        }
        try runEmulation(EmulationSettings(topology: topology, seed: seed, until: until?.parsed, pcapDir: pcapDir, report: report,
                                           sampleInterval: nil, json: json)) { emu in
            do { try emu.inject(trace, speed: speed) } catch { throw CLIError("--at: \(error)") }
        }
        if let damage { throw CLIError("\(damage) (the \(trace.count) packets before it were injected)") }
    }
}

/// The replay loop: one reusable packet buffer, one writer per output port (created on the
/// port's first packet), nothing allocated per packet.
final class OfflineReplay {
    let pipeline: Pipeline
    let port: UInt16
    let directory: String
    let controller: (any ProgramController)?
    let progress: Bool
    let file: String
    let fileSize: Int?
    /// One writer per port that sent something (they own the writers), and the same writers
    /// unretained by port for the loop (`Replay.ports` slots), so that finding a port's
    /// writer costs no reference counting.
    @exclusivity(unchecked) private var writers = [PcapWriter?](repeating: nil, count: Replay.ports)
    private let byPort: UnsafeMutablePointer<Unmanaged<PcapWriter>?> = {
        let p = UnsafeMutablePointer<Unmanaged<PcapWriter>?>.allocate(capacity: Replay.ports)
        p.initialize(repeating: nil, count: Replay.ports)
        return p
    }()
    deinit { byPort.deallocate() }
    @exclusivity(unchecked) private(set) var packets = 0
    @exclusivity(unchecked) private(set) var bytes = 0
    /// Packets larger than a packet buffer (not counted by the pipeline on this path).
    @exclusivity(unchecked) private(set) var oversize = 0
    /// Packets the capture cut (caplen < length).
    @exclusivity(unchecked) private(set) var truncated = 0
    @exclusivity(unchecked) private(set) var seconds = 0.0

    init(pipeline: Pipeline, port: UInt16, directory: String, controller: (any ProgramController)?, progress: Bool,
         file: String, fileSize: Int?) {
        self.pipeline = pipeline
        self.port = port
        self.directory = directory
        self.controller = controller
        self.progress = progress
        self.file = file
        self.fileSize = fileSize
    }

    var mpps: Double { seconds > 0 ? Double(packets) / seconds / 1e6 : 0 }

    struct Output { var port: Int; var packets: Int; var bytes: Int; var path: String }
    var outputs: [Output] {
        writers.enumerated().compactMap { i, w in w.map { Output(port: i, packets: $0.packetsWritten, bytes: $0.bytesWritten, path: $0.path) } }
    }

    /// Runs every packet; returns the file's damage (after processing all packets before it).
    func replay(_ reader: PcapFileReader) throws -> PcapError? {
        let buffer = PacketBuffer()
        let p = pipeline
        let start = MonotonicClock.nanoseconds
        var nextCheck = 1 << 16
        var lastShown: Int64 = 0
        var damage: PcapError?
        do {
            while let packet = try reader.next() {
                packets += 1
                bytes += packet.bytes.count
                if packet.originalLength > packet.bytes.count { truncated += 1 }
                guard buffer.load(packet.bytes) else { oversize += 1; continue }
                p.process(buffer, port: port, timestamp: UInt64(clamping: packet.timestamp))
                for i in 0..<p.outputCount {
                    let port = Int(p.outputPort(i)) & 511  // egress ports are 9 bits
                    let w = try byPort[port] ?? openWriter(port)
                    w._withUnsafeGuaranteedRef { $0.write(timestampNanoseconds: packet.timestamp, bytes: p.outputBytes(i)) }
                }
                if let c = controller {
                    let d = p.drainDigests()
                    if !d.isEmpty { try c.handle(d, p) }
                }
                if packets == nextCheck {
                    nextCheck += 1 << 16
                    if progress {
                        let now = MonotonicClock.nanoseconds
                        if now - start > 1_000_000_000 && now - lastShown > 500_000_000 {
                            lastShown = now
                            let rate = Double(packets) / (Double(now - start) / 1e9) / 1e6
                            let share = fileSize.map { " (\(Int(Double(reader.offset) * 100 / Double(max($0, 1))))% of the file)" } ?? ""
                            progressLine("replay: \(packets) packets\(share), \(fmt(rate)) Mpps")
                        }
                    }
                }
            }
        } catch let e as PcapError {
            damage = e
        }
        seconds = Double(MonotonicClock.nanoseconds - start) / 1e9
        if lastShown != 0 { progressLine("") }
        for w in writers { w?.close() }
        for w in writers { if let e = w?.error { throw CLIError("\(e)") } }
        return damage
    }

    private func openWriter(_ port: Int) throws -> Unmanaged<PcapWriter> {
        let path = Replay.outputFile(in: directory, port: port)
        do {
            let w = try PcapWriter(path: path, snaplen: PcapFileReader.maxCaptureLength)
            writers[port] = w
            byPort[port] = Unmanaged.passUnretained(w)
            return Unmanaged.passUnretained(w)
        } catch {
            throw CLIError("--pcap-dir: \(error)")
        }
    }
}

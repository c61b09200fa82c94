import ArgumentParser
import Foundation
import SluiceRuntime
import SluicePcap
import SluicePcapFiles
import SluiceTesting
#if canImport(Glibc)
import Glibc
#endif

/// `sluice bench pcap`: libpcap paths on a veth setup the command builds itself (and removes):
/// `sluice send --topspeed` against tcpreplay on the same file and interface, `sluice attach`
/// forwarding with ipv4-router, and offline `sluice replay`.
struct PcapBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcap",
        abstract: "Mpps of send (vs tcpreplay), attach and offline replay on veth pairs (needs root; build with -c release).",
        discussion: """
            Creates three network namespaces of its own (source, switch, sink) joined by two veth \
            pairs, writes a file of --packets 64-byte IPv4/UDP frames, and measures, each --repeat \
            times (the median is reported): \
            (a) `sluice send --topspeed` and `tcpreplay --topspeed` (Debian's tcpreplay) sending the \
            file into the source's veth, send_ratio = send_mpps / tcpreplay_mpps; \
            (b) `sluice attach --program ipv4-router` in the switch namespace forwarding what the \
            source sends at top speed to the sink: attach_mpps = packets forwarded / seconds the \
            sender ran (the kernel drops what the switch cannot take); \
            (c) `sluice replay` of the file through ipv4-router, offline (replay_mpps). \
            The namespaces are removed at the end, also on failure. Traffic stays inside them.
            """)

    @Option(help: "Frames in the file.")
    var packets: Int = 1_000_000

    @Option(help: "Runs of each measurement (the median is reported).")
    var `repeat`: Int = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard (1000...50_000_000).contains(packets) else { throw ValidationError("--packets must be within 1000...50000000 (got \(packets))") }
        guard (1...20).contains(`repeat`) else { throw ValidationError("--repeat must be within 1...20 (got \(`repeat`))") }
    }

    func run() throws {
        guard getuid() == 0 else {
            throw CLIError("bench pcap needs root: it creates network namespaces and veth pairs and sends with libpcap (run it with sudo)")
        }
        let tcpreplay = ["/usr/bin/tcpreplay", "/usr/sbin/tcpreplay"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let me = try selfPath()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-pcap-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lab = try BenchLab()
        defer { lab.remove() }
        // Ctrl-C or SIGTERM ends the run between measurements, so that the namespaces and the
        // file are removed (the defers above run).
        StopSignal.install()
        func checkStop() throws { if StopSignal.requested != nil { throw CLIError("interrupted; the namespaces and files it made are removed") } }

        let (file, entries) = try writeBenchFrames(packets, into: dir)

        func progress(_ s: String) { if !json { progressLine(s) } }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

        // (a) send and tcpreplay, alternating, into the source's veth.
        var send: [Double] = [], replayTool: [Double] = []
        for r in 1...`repeat` {
            try checkStop()
            progress("send: run \(r)/\(`repeat`)")
            let s = try lab.network.exec(in: lab.source, [me, "send", file, "-i", lab.sourceIf, "--topspeed", "--json"])
            guard s.status == 0, let sent = decodeJSON(Send.Summary.self, s.out) else { throw CLIError("sluice send failed: \(s.err)\(s.out)") }
            send.append(sent.mpps)
            if let tcpreplay {
                progress("tcpreplay: run \(r)/\(`repeat`)")
                let t = try lab.network.exec(in: lab.source, [tcpreplay, "--topspeed", "-q", "-i", lab.sourceIf, file])
                guard let pps = tcpreplayPPS(t.out + t.err) else { throw CLIError("tcpreplay failed or printed no rate: \(t.err)\(t.out)") }
                replayTool.append(pps / 1e6)
            }
        }

        // (b) attach forwarding source -> switch -> sink.
        var attach: [Double] = []
        var forwardedShare: [Double] = []
        var engines = Set<String>()
        for r in 1...`repeat` {
            try checkStop()
            progress("attach: run \(r)/\(`repeat`)")
            let sw = try lab.network.start(in: lab.switchNS, [me, "attach", "--program", "ipv4-router", "--entries", entries]
                                                             + lab.around.portArguments + ["--json"])
            defer { sw.terminate() }
            guard sw.waitForError(containing: "Ctrl-C to stop", seconds: 20) else {
                throw CLIError("sluice attach did not start: \(sw.errorText)")
            }
            let s = try lab.network.exec(in: lab.source, [me, "send", file, "-i", lab.sourceIf, "--topspeed", "--json"])
            guard s.status == 0, let seconds = decodeJSON(Send.Summary.self, s.out)?.elapsed_s else { throw CLIError("sluice send failed: \(s.err)") }
            usleep(300_000)
            sw.signal(SIGINT)
            sw.wait(seconds: 30)
            let out = sw.outputText
            guard let counters = decodeJSON(Attach.Counters.self, out), counters.ports.count > 1 else {
                throw CLIError("sluice attach printed no counters: \(sw.errorText)\(out)")
            }
            if let e = counters.engine { engines.insert(e) }
            let forwarded = Double(counters.ports[1].tx_packets)
            attach.append(forwarded / seconds / 1e6)
            forwardedShare.append(forwarded / Double(packets))
        }

        // (c) offline replay.
        var offline: [Double] = []
        for r in 1...`repeat` {
            try checkStop()
            progress("replay: run \(r)/\(`repeat`)")
            let o = try runTool(me, ["replay", file, "--program", "ipv4-router", "--entries", entries, "--pcap-dir", dir + "/replay-out", "--json"])
            guard o.status == 0, let replayed = decodeJSON(Replay.Summary.self, o.out) else { throw CLIError("sluice replay failed: \(o.err)") }
            offline.append(replayed.mpps)
            engines.insert(replayed.engine)
        }
        progress("")

        let sendMpps = median(send), tcpMpps = replayTool.isEmpty ? nil : median(replayTool)
        let engine = engines.sorted().joined(separator: ", ")
        if json {
            struct Result: Encodable {
                var packets: Int, frame_bytes: Int, `repeat`: Int
                var send_mpps: Rounded, tcpreplay_mpps: Rounded, send_ratio: Rounded
                var attach_mpps: Rounded, attach_forwarded_share: Rounded, replay_mpps: Rounded
                var engine: String
            }
            try printJSON(Result(packets: packets, frame_bytes: 64, repeat: `repeat`, send_mpps: Rounded(sendMpps),
                                 tcpreplay_mpps: Rounded(tcpMpps), send_ratio: Rounded(tcpMpps.map { sendMpps / $0 }),
                                 attach_mpps: Rounded(median(attach)), attach_forwarded_share: Rounded(median(forwardedShare)),
                                 replay_mpps: Rounded(median(offline)), engine: engine))
        } else {
            print("sluice send --topspeed    \(fixed3(sendMpps)) Mpps" + (tcpMpps.map { "   tcpreplay --topspeed \(fixed3($0)) Mpps   ratio \(fixed3(sendMpps / $0))" } ?? "   (tcpreplay not installed: apt-get install tcpreplay)"))
            print("sluice attach ipv4-router \(fixed3(median(attach))) Mpps forwarded (\(Int(median(forwardedShare) * 100))% of what the sender offered)")
            print("sluice replay ipv4-router \(fixed3(median(offline))) Mpps offline")
            print("\(packets) frames of 64 bytes, median of \(`repeat`) runs; pipelines: \(engine) engine")
        }
    }
}

/// The veth benchmarks' input: `packets` 64-byte frames to the switch (MAC 02:53:4c:00:00:01),
/// spread over 256 destinations of 10.0.2.0/24, in `dir`/frames.pcap, and a route for them to
/// port 2 in `dir`/routes.txt.
func writeBenchFrames(_ packets: Int, into dir: String) throws -> (file: String, entries: String) {
    let file = dir + "/frames.pcap"
    let writer = try PcapWriter(path: file)
    var frame = [UInt8](repeating: 0, count: 64)
    let switchMAC: [UInt8] = [0x02, 0x53, 0x4C, 0, 0, 0x01], sourceMAC: [UInt8] = [0x02, 0x53, 0x4C, 0, 0, 0x0A]
    for i in 0..<packets {
        buildFrame(&frame, dst: switchMAC, src: sourceMAC, destination: 0x0A00_0200 | UInt32(i & 0xFF), id: UInt16(truncatingIfNeeded: i))
        frame.withUnsafeBytes { writer.write(timestampNanoseconds: 1_700_000_000_000_000_000 + Int64(i) * 1000, bytes: $0) }
    }
    writer.close()
    if let e = writer.error { throw CLIError("\(e)") }
    let entries = dir + "/routes.txt"
    try "table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 02:53:4c:00:00:0b 2\n".write(toFile: entries, atomically: true, encoding: .utf8)
    return (file, entries)
}

/// An Ethernet/IPv4/UDP frame of `frame.count` bytes with a valid header checksum.
func buildFrame(_ f: inout [UInt8], dst: [UInt8], src: [UInt8], destination: UInt32, id: UInt16) {
    for i in 0..<6 { f[i] = dst[i]; f[6 + i] = src[i] }
    f[12] = 0x08; f[13] = 0x00
    let ipLen = f.count - 14
    let ip: [UInt8] = [0x45, 0, UInt8(ipLen >> 8), UInt8(ipLen & 0xFF), UInt8(id >> 8), UInt8(id & 0xFF), 0x40, 0, 64, 17, 0, 0,
                       10, 0, 1, 2, UInt8(destination >> 24), UInt8((destination >> 16) & 0xFF), UInt8((destination >> 8) & 0xFF), UInt8(destination & 0xFF)]
    let c = ~ip.withUnsafeBytes { InternetChecksum.fold(InternetChecksum.sum($0)) }
    for i in 0..<20 { f[14 + i] = ip[i] }
    f[24] = UInt8(c >> 8); f[25] = UInt8(c & 0xFF)
    let udpLen = ipLen - 20
    let udp: [UInt8] = [0x0F, 0xA0, 0x13, 0x88, UInt8(udpLen >> 8), UInt8(udpLen & 0xFF), 0, 0]
    for i in 0..<8 { f[34 + i] = udp[i] }
    for i in 42..<f.count { f[i] = 0 }
}

/// This executable's path.
func selfPath() throws -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { throw CLIError("cannot find this program's own path (/proc/self/exe)") }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// tcpreplay's "Rated: ... Mbps, N pps" figure.
func tcpreplayPPS(_ text: String) -> Double? {
    for line in text.split(separator: "\n") where line.contains("Rated:") {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
        if let i = words.firstIndex(of: "pps"), i > 0 { return Double(words[i - 1]) }
    }
    return nil
}

/// Source, switch and sink namespaces: source --veth-- switch port 1, switch port 2 --veth-- sink.
struct BenchLab {
    let network = NetworkLab(prefix: "sb")
    let switchNS: String
    let around: HostsAroundSwitch
    var source: String { around.hosts[0] }
    var sink: String { around.hosts[1] }
    var sourceIf: String { around.hostInterfaces[0] }
    var sinkIf: String { around.hostInterfaces[1] }
    var switchIf: [String] { around.switchPorts }

    init() throws {
        do {
            switchNS = try network.addNamespace("sw")
            around = try network.addHosts(2, aroundSwitchIn: switchNS)
        } catch {
            network.remove()
            throw error
        }
    }

    func remove() { network.remove() }
}

/// Runs a program to completion (10 minutes at most) and returns its status and output.
func runTool(_ tool: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let r: ChildProcess.Result
    do { r = try ChildProcess.run(tool, args) } catch { throw CLIError("cannot run \(tool): \(error.localizedDescription)") }
    return (r.status, r.out, r.err)
}

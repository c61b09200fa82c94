import ArgumentParser
import Foundation
import SluicePcap
import SluicePcapFiles
import SluiceReports

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send the packets of a pcap or pcapng file out of an interface (libpcap; needs root or CAP_NET_RAW).",
        discussion: """
            Replays FILE on IFACE in the manner of tcpreplay: with the file's own timing by default \
            (each packet at its absolute deadline from the start, so delays never add up), scaled by \
            --multiplier, at a fixed --pps or --mbps, or at --topspeed. The file is read into memory \
            once before the first packet goes out. --loop repeats it. Ctrl-C stops early. Prints \
            packets, bytes, elapsed time, rate (packets/s and Mbps) and failures. Frames are sent as \
            captured: frames cut by the capture's snaplen go out cut. --topspeed hands the kernel up \
            to 64 frames a system call (sendmmsg); a frame it refuses counts as one failure and the \
            rest still go. Examples:
              sluice send trace.pcap -i veth0
              sluice send trace.pcapng -i veth0 --multiplier 10
              sluice send trace.pcap -i veth0 --pps 100000 --loop 5
              sluice send trace.pcap -i veth0 --topspeed --json
            """)

    @Argument(help: "The pcap or pcapng file.")
    var file: String

    @Option(name: .shortAndLong, help: "The interface to send on (see `ip link`).")
    var interface: String

    @Flag(help: "Try frames longer than the interface's MTU anyway (the kernel refuses each; they count as failures).")
    var allowOversize = false

    @Flag(help: "Send as fast as the interface takes packets.")
    var topspeed = false

    @Option(help: "Play the file's timing this many times faster (0.5: half speed).")
    var multiplier: Double?

    @Option(help: "Send this many packets per second.")
    var pps: Double?

    @Option(help: "Send at this many megabits per second (frame bytes).")
    var mbps: Double?

    @Option(help: "Send the file this many times.")
    var loop: Int = 1

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func validate() throws {
        let chosen = [topspeed ? "--topspeed" : nil, multiplier.map { _ in "--multiplier" }, pps.map { _ in "--pps" }, mbps.map { _ in "--mbps" }].compactMap { $0 }
        guard chosen.count <= 1 else {
            throw ValidationError("\(chosen.joined(separator: " and ")) exclude each other; choose one of --topspeed, --multiplier, --pps, --mbps (none: the file's own timing)")
        }
        if let m = multiplier { try requireWithin(0.001...1e6, m, option: "--multiplier", valid: "0.001 ... 1e6 times the file's speed") }
        if let r = pps { try requireWithin(0.001...1e9, r, option: "--pps", valid: "0.001 ... 1e9 packets per second") }
        if let r = mbps { try requireWithin(0.001...1e7, r, option: "--mbps", valid: "0.001 ... 1e7 megabits per second") }
        try requireWithin(1...1_000_000_000, loop, option: "--loop", valid: "1 ... 1000000000 passes over the file")
    }

    /// The --json object (`sluice bench pcap` and `bench xdp` read it back).
    struct Summary: Codable {
        var file: String; var interface: String; var pacing: String; var loops: Int; var packets: Int; var bytes: Int
        var elapsed_s: Double; var pps: Double; var mpps: Double; var mbps: Double; var failures: Int; var retries: Int
        var truncated_in_file: Int; var stopped: String?
    }

    var pacing: SendPacing {
        if topspeed { return .topspeed }
        if let r = pps { return .packetsPerSecond(r) }
        if let r = mbps { return .megabitsPerSecond(r) }
        return .original(multiplier: multiplier ?? 1)
    }

    func run() throws {
        let trace: PacketTrace
        do { trace = try PacketTrace(path: file) } catch { throw CLIError("\(error)") }
        if trace.count == 0, let damage = trace.damage { throw CLIError("\(damage)") }
        if !allowOversize { try checkMTU(trace) }
        let injector: Injector
        do { injector = try Injector(interface: interface) } catch { throw CLIError("\(error)") }
        StopSignal.install()
        if !json {
            stderr("sending \(trace.count) packets (\(trace.totalBytes) bytes) from \(file) on \(interface), \(pacing)\(loop > 1 ? ", \(loop) times" : "")")
        }
        var shown = false
        let report = Sender.send(trace, through: injector, pacing: pacing, loops: loop, progress: json ? nil : { r in
            shown = true
            progressLine("sent \(r.packets) packets, \(fmt(r.seconds)) s, \(fmt(r.packetsPerSecond / 1e6)) Mpps")
        })
        if shown { progressLine("") }
        let stopped = report.stoppedBySignal.map { $0 == SIGINT ? "interrupted (SIGINT)" : "stopped by signal \($0)" }
        if json {
            try printJSON(Summary(file: file, interface: interface, pacing: "\(pacing)", loops: report.loopsCompleted, packets: report.packets,
                                  bytes: report.bytes, elapsed_s: report.seconds, pps: report.packetsPerSecond, mpps: report.packetsPerSecond / 1e6,
                                  mbps: report.megabitsPerSecond, failures: report.failures, retries: report.retries,
                                  truncated_in_file: trace.truncatedPackets, stopped: stopped))
        } else {
            print("sent \(report.packets) packets (\(report.bytes) bytes) in \(fmt(report.seconds)) s: \(fmt(report.packetsPerSecond)) packets/s, \(formatRate(bitsPerSecond: report.megabitsPerSecond * 1e6)); \(report.failures) failures\(report.retries > 0 ? ", \(report.retries) retries (queue full)" : "")\(stopped.map { "; \($0)" } ?? "")")
            if let f = report.firstFailure { print("first failure: \(f)") }
            if trace.truncatedPackets > 0 { print("note: \(trace.truncatedPackets) packets were cut by the capture (snaplen) and went out cut") }
        }
        if let damage = trace.damage {
            throw CLIError("\(damage) (the \(trace.count) packets before it were sent)")
        }
        if report.packets == 0 && report.failures > 0 { throw ExitCode(1) }
    }
}

extension Send {
    /// Refuses a trace with a frame the interface cannot send: more bytes after its Ethernet
    /// header (and VLAN tag) than the interface's MTU. The kernel would refuse each such frame
    /// (EMSGSIZE) and the run would end as failures; before anything is sent, it names the
    /// frame, the MTU and how to raise it.
    func checkMTU(_ trace: PacketTrace) throws {
        guard trace.linkType == 1,
              let text = try? String(contentsOfFile: "/sys/class/net/\(interface)/mtu", encoding: .utf8),
              let mtu = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return }
        for i in 0..<trace.count {
            let o = trace.offsets[i], n = trace.lengths[i]
            let tagged = n >= 16 && trace.bytes[o + 12] == 0x81 && trace.bytes[o + 13] == 0x00
            let payload = n - (tagged ? 18 : 14)
            if payload > mtu {
                throw CLIError("\(file): frame \(i + 1) carries \(payload) bytes after its Ethernet header, more than \(interface)'s MTU of \(mtu); "
                               + "raise the MTU (ip link set dev \(interface) mtu \(payload)), send a trace of smaller frames, or try them anyway with --allow-oversize; nothing was sent")
            }
        }
    }
}

/// Seconds with nanosecond digits.

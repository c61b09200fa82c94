import ArgumentParser
import Foundation
import SluiceEmulator
import SluicePcap
import SluicePcapFiles
import SluiceSupport

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture packets from a live interface into a pcap file (libpcap; needs root or CAP_NET_RAW).",
        discussion: """
            Captures the packets IFACE receives (not the ones sent through it, unless \
            --both-directions) in promiscuous mode, and writes them to FILE as pcap with nanosecond \
            timestamps. The kernel fills a --buffer-size ring of blocks that reach the file at least \
            every 100 ms (--immediate: each packet at once, with a ring of fixed-size frames that \
            holds fewer packets); they reach FILE within a second (-U, --packet-buffered: each \
            packet at once, as tcpdump -U), so a capture killed hard keeps what it had. Stops after \
            --count packets, after --duration, or on Ctrl-C \
            (SIGINT) or SIGTERM; then it writes out the packets still in the kernel's ring, closes the \
            file and prints a summary: packets and bytes written, and what the kernel received and \
            dropped (pcap_stats). Examples:
              sluice capture -i eth0 -w eth0.pcap
              sluice capture -i veth1 -c 1000 -f 'udp port 4791' -w roce.pcap
              sluice capture -i veth1 --duration 10s --snaplen 128 -w heads.pcap
            """)

    @Option(name: .shortAndLong, help: "The interface to capture on (see `ip link`).")
    var interface: String

    @Option(name: .shortAndLong, help: "Stop after this many packets.")
    var count: Int?

    @Option(name: .shortAndLong, help: "A capture filter in tcpdump's syntax (man 7 pcap-filter), e.g. 'udp port 4791'.")
    var filter: String?

    @Option(help: "Stop after this long: 10s, 500ms, 2.5s (a plain number is seconds).")
    var duration: OptionValue<WallDuration>?

    @Option(help: "Bytes kept of each packet (longer frames are cut; the file keeps their length).")
    var snaplen: Int = 262_144

    @Option(name: [.customShort("w"), .customLong("write")], help: "The pcap file to write.")
    var file: String

    @Option(help: "Kernel ring size in MiB, 1 ... 2047 (drops counted as 'dropped (buffer full)' mean it was too small).")
    var bufferSize: Int = 32

    @Flag(help: "Deliver each packet at once instead of in blocks (lower latency, smaller ring).")
    var immediate = false

    @Flag(name: [.customShort("U"), .customLong("packet-buffered")],
          help: "Write each packet to the file as it arrives (tcpdump -U) instead of at least once a second.")
    var packetBuffered = false

    @Flag(help: "Leave the interface out of promiscuous mode.")
    var noPromiscuous = false

    @Flag(help: "Also capture the packets sent through the interface.")
    var bothDirections = false

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    /// How long a captured packet may wait in the writer's buffer (nanoseconds): a capture
    /// killed hard (SIGKILL, power loss) loses at most this much, not a megabyte of packets.
    static let flushInterval: Int64 = 1_000_000_000

    func validate() throws {
        if let c = count, c < 1 { throw ValidationError("--count must be at least 1 (got \(c))") }
        try requireWithin(1...PcapFileReader.maxCaptureLength, snaplen, option: "--snaplen", valid: "1 ... \(PcapFileReader.maxCaptureLength) bytes")
        _ = try duration?.value("--duration")
        // libpcap takes the ring size as a C int: 2 GiB and more would be cut to 2 GiB - 1 byte.
        try requireWithin(1...2047, bufferSize, option: "--buffer-size", valid: "1 ... 2047 MiB")
    }

    func run() throws {
        var options = CaptureOptions()
        options.snaplen = snaplen
        options.promiscuous = !noPromiscuous
        options.inboundOnly = !bothDirections
        options.filter = filter
        options.immediate = immediate
        options.bufferSize = bufferSize << 20
        let capture: LiveCapture
        do { capture = try LiveCapture(interface: interface, options: options) } catch { throw CLIError("\(error)") }
        for w in capture.warnings { stderr("warning: \(interface): \(w)") }
        let writer: PcapWriter
        do { writer = try PcapWriter(path: file, snaplen: snaplen, linkType: capture.linkType) } catch { throw CLIError("-w: \(error)") }
        StopSignal.install()
        capture.stopOnSignal()
        stderr("capturing on \(interface) (link type \(capture.linkType), snaplen \(snaplen), \(bothDirections ? "both directions" : "inbound only")\(filter.map { ", filter '\($0)'" } ?? "")) into \(file); Ctrl-C to stop")

        var packets = 0, bytes = 0
        let started = MonotonicClock.nanoseconds
        let deadline = duration.map { started + $0.parsed }
        let packetBuffered = packetBuffered
        let write: (PcapPacket) -> Void = { p in
            writer.write(timestampNanoseconds: p.timestamp, bytes: p.bytes, originalLength: p.originalLength)
            if packetBuffered { writer.flush() }
            packets += 1
            bytes += p.originalLength
        }
        var flushed = started
        let flushWhenDue = {
            let now = MonotonicClock.nanoseconds
            if now - flushed >= Self.flushInterval { writer.flush(); flushed = now }
        }
        var failure: Error?
        var stop = LiveCapture.Stop.count
        do { stop = try capture.capture(count: count, deadline: deadline, between: flushWhenDue, write) } catch { failure = error }
        let elapsed = Double(MonotonicClock.nanoseconds - started) / 1e9
        let stats = capture.statistics()
        writer.close()
        let why: String
        if failure != nil || writer.error != nil { why = "error" }
        else {
            switch stop {
            case .count: why = "count reached"
            case .deadline: why = "duration reached"
            case .signal: why = StopSignal.requested == SIGINT ? "interrupted (SIGINT)" : "stopped by signal \(StopSignal.requested ?? 0)"
            }
        }
        if json {
            struct Summary: Encodable {
                var interface: String; var file: String; var packets: Int; var bytes: Int; var elapsed_s: Double
                var kernel_received: Nullable<UInt64>; var kernel_dropped: Nullable<UInt64>; var interface_dropped: Nullable<UInt64>; var stopped: String
            }
            try printJSON(Summary(interface: interface, file: file, packets: packets, bytes: bytes, elapsed_s: elapsed,
                                  kernel_received: Nullable(stats.map { UInt64($0.received) }), kernel_dropped: Nullable(stats.map { UInt64($0.dropped) }),
                                  interface_dropped: Nullable(stats.map { UInt64($0.interfaceDropped) }), stopped: why))
        } else {
            print("captured \(packets) packets (\(bytes) bytes) on \(interface) in \(fmt(elapsed)) s into \(file); \(why)")
            if let s = stats {
                print("kernel: \(s.received) received, \(s.dropped) dropped (buffer full), \(s.interfaceDropped) dropped by the interface")
            }
        }
        if let e = writer.error { throw CLIError("-w: \(e)") }
        if let failure { throw CLIError("\(failure)") }
    }
}

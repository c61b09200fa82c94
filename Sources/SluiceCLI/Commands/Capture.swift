import ArgumentParser
import Foundation
import SluiceEmulator
import SluicePcap
import SluicePcapFiles
import SluiceSupport

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture packets from a live interface, as tcpdump does (libpcap; needs root or CAP_NET_RAW).",
        discussion: """
            Captures the packets IFACE receives and sends (-Q in: received only, -Q out: sent \
            only) in promiscuous mode. With -w FILE they are written as pcap with nanosecond \
            timestamps (-w -: to standard output, for a pipe into tshark or tcpdump -r -); \
            without -w, one line a packet is printed (addresses, protocol, ports, length). A \
            filter is tcpdump's expression, as trailing words or with -f. The kernel fills a --buffer-size ring of blocks that reach the file at least \
            every 100 ms (--immediate: each packet at once, with a ring of fixed-size frames that \
            holds fewer packets); they reach FILE within a second (-U, --packet-buffered: each \
            packet at once, as tcpdump -U), so a capture killed hard keeps what it had. Stops after \
            --count packets, after --duration, or on Ctrl-C \
            (SIGINT) or SIGTERM; then it writes out the packets still in the kernel's ring, closes the \
            file and prints a summary: packets and bytes written, and what the kernel received and \
            dropped (pcap_stats). Examples:
              sluice capture -i eth0 -w eth0.pcap
              sluice capture -i veth1 -c 10 udp port 4791
              sluice capture -i veth1 -c 1000 -f 'udp port 4791' -w roce.pcap
              sluice capture -i veth1 --duration 10s -s 128 -w - | tshark -r -
            """)

    @Option(name: .shortAndLong, help: "The interface to capture on (see `ip link`).")
    var interface: String

    @Option(name: .shortAndLong, help: "Stop after this many packets.")
    var count: Int?

    @Option(name: .shortAndLong, help: "A capture filter in tcpdump's syntax (man 7 pcap-filter), e.g. 'udp port 4791'.")
    var filter: String?

    @Argument(help: "A capture filter as trailing words, as tcpdump takes it (instead of -f).")
    var expression: [String] = []

    @Option(help: "Stop after this long: 10s, 500ms, 2.5s (a plain number is seconds).")
    var duration: OptionValue<WallDuration>?

    @Option(name: [.customShort("s"), .long], help: "Bytes kept of each packet (longer frames are cut; the file keeps their length).")
    var snaplen: Int = 262_144

    @Option(name: [.customShort("w"), .customLong("write")], help: "The pcap file to write ('-': standard output); without it, packets are printed.")
    var file: String?

    enum Direction: String, ExpressibleByArgument, CaseIterable { case `in`, out, `inout` }

    @Option(name: [.customShort("Q"), .customLong("direction")], help: "Which packets: in (received), out (sent) or inout (both, the default).")
    var direction: Direction = .`inout`

    @Option(help: "Kernel ring size in MiB, 1 ... 2047 (drops counted as 'dropped (buffer full)' mean it was too small).")
    var bufferSize: Int = 32

    @Flag(help: "Deliver each packet at once instead of in blocks (lower latency, smaller ring).")
    var immediate = false

    @Flag(name: [.customShort("U"), .customLong("packet-buffered")],
          help: "Write each packet to the file as it arrives (tcpdump -U) instead of at least once a second.")
    var packetBuffered = false

    @Flag(help: "Leave the interface out of promiscuous mode.")
    var noPromiscuous = false


    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    /// How long a captured packet may wait in the writer's buffer (nanoseconds): a capture
    /// killed hard (SIGKILL, power loss) loses at most this much, not a megabyte of packets.
    static let flushInterval: Int64 = 1_000_000_000

    /// The filter from -f or the trailing words.
    var filterText: String? { filter ?? (expression.isEmpty ? nil : expression.joined(separator: " ")) }

    func validate() throws {
        if let c = count, c < 1 { throw ValidationError("--count must be at least 1 (got \(c))") }
        if filter != nil && !expression.isEmpty {
            throw ValidationError("a filter both with -f ('\(filter!)') and as words ('\(expression.joined(separator: " "))'): give one")
        }
        try requireWithin(1...PcapFileReader.maxCaptureLength, snaplen, option: "--snaplen", valid: "1 ... \(PcapFileReader.maxCaptureLength) bytes")
        _ = try duration?.value("--duration")
        // libpcap takes the ring size as a C int: 2 GiB and more would be cut to 2 GiB - 1 byte.
        try requireWithin(1...2047, bufferSize, option: "--buffer-size", valid: "1 ... 2047 MiB")
    }

    func run() throws {
        var options = CaptureOptions()
        options.snaplen = snaplen
        options.promiscuous = !noPromiscuous
        options.direction = direction == .in ? .inbound : direction == .out ? .outbound : .both
        options.filter = filterText
        options.immediate = immediate
        options.bufferSize = bufferSize << 20
        let capture: LiveCapture
        do { capture = try LiveCapture(interface: interface, options: options) } catch { throw CLIError("\(error)") }
        for w in capture.warnings { stderr("warning: \(interface): \(w)") }
        // Packets printed go to standard output; so do the packets of `-w -`, and then the summary
        // goes to standard error.
        let target = file == "-" ? "/dev/stdout" : file
        let writer: PcapWriter?
        do { writer = try target.map { try PcapWriter(path: $0, snaplen: snaplen, linkType: capture.linkType) } } catch { throw CLIError("-w: \(error)") }
        StopSignal.install()
        capture.stopOnSignal()
        let directionText = ["in": "received only", "out": "sent only", "inout": "both directions"][direction.rawValue]!
        stderr("capturing on \(interface) (link type \(capture.linkType), snaplen \(snaplen), \(directionText)\(filterText.map { ", filter '\($0)'" } ?? "")) \(file.map { "into \($0 == "-" ? "standard output" : $0)" } ?? "printing packets"); Ctrl-C to stop")
        let ethernet = capture.linkType == 1

        var packets = 0, bytes = 0
        let started = MonotonicClock.nanoseconds
        let deadline = duration.map { started + $0.parsed }
        let packetBuffered = packetBuffered
        let write: (PcapPacket) -> Void = { p in
            if let writer {
                writer.write(timestampNanoseconds: p.timestamp, bytes: p.bytes, originalLength: p.originalLength)
                if packetBuffered { writer.flush() }
            } else {
                let t = p.timestamp
                let stamp = "\(t / 1_000_000_000).\(String(repeating: "0", count: 9 - String(t % 1_000_000_000).count))\(t % 1_000_000_000)"
                print("\(stamp) " + (ethernet ? FrameSummary.line(p.bytes, originalLength: p.originalLength) : "link type \(capture.linkType), length \(p.originalLength)"))
            }
            packets += 1
            bytes += p.originalLength
        }
        var flushed = started
        let flushWhenDue = {
            let now = MonotonicClock.nanoseconds
            if now - flushed >= Self.flushInterval { writer?.flush(); flushed = now }
        }
        var failure: Error?
        var stop = LiveCapture.Stop.count
        do { stop = try capture.capture(count: count, deadline: deadline, between: flushWhenDue, write) } catch { failure = error }
        let elapsed = Double(MonotonicClock.nanoseconds - started) / 1e9
        let stats = capture.statistics()
        writer?.close()
        let why: String
        if failure != nil || writer?.error != nil { why = "error" }
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
            try printJSON(Summary(interface: interface, file: file ?? "", packets: packets, bytes: bytes, elapsed_s: elapsed,
                                  kernel_received: Nullable(stats.map { UInt64($0.received) }), kernel_dropped: Nullable(stats.map { UInt64($0.dropped) }),
                                  interface_dropped: Nullable(stats.map { UInt64($0.interfaceDropped) }), stopped: why))
        } else {
            // Standard output carries the packets themselves unless they went to a file.
            let say: (String) -> Void = file == nil || file == "-" ? { stderr($0) } : { print($0) }
            say("captured \(packets) packets (\(bytes) bytes) on \(interface) in \(fmt(elapsed)) s\(file.map { " into \($0 == "-" ? "standard output" : $0)" } ?? ""); \(why)")
            if let s = stats {
                say("kernel: \(s.received) received, \(s.dropped) dropped (buffer full), \(s.interfaceDropped) dropped by the interface")
            }
        }
        if let e = writer?.error { throw CLIError("-w: \(e)") }
        if let failure { throw CLIError("\(failure)") }
    }
}

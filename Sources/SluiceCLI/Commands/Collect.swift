import SluiceControlPlane
import ArgumentParser
import Foundation
import SluiceEmulator
import SluiceReports
import SluicePcap
import SluicePcapFiles
import SluiceTelemetry
import SluiceRuntime

struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect INT telemetry reports (Telemetry Report v2.0 carrying INT-MD v2.1) on a UDP port.",
        discussion: """
            Listens on UDP PORT for the reports INT sinks send (the `int-md` program's sink, or any \
            Telemetry Report v2.0 sender), decodes each one (group header, individual reports, the \
            reporting node's metadata, the original packet's 5-tuple and its INT-MD stack), counts \
            lost reports by sequence number per source, and builds per-flow paths, per-path latency \
            and per-hop queue occupancy. Malformed reports are counted by kind, never fatal. \
            A progress line on standard error every second; stops at --duration, --count or Ctrl-C \
            (SIGINT) or SIGTERM, then prints a summary (with --json, one JSON object) and, with \
            --report, writes index.html, report.json, hop-samples.csv, path-latency.csv and SVG \
            plots (queue occupancy per hop over time, latency distribution per path). Examples:
              sluice collect --listen 32766 --report out/int
              sluice collect --listen 32766 --duration 10s --json
            Open captures of the same traffic in Wireshark with `sluice wireshark-dissector`.
            """)

    @Option(help: "The UDP port to receive reports on (0: any free port, printed).")
    var listen: UInt16

    @Option(help: "The IPv4 address to bind (default: every address).")
    var address: OptionValue<IPv4Address> = "0.0.0.0"

    @Option(help: "Write the report folder (plots, CSV, JSON, index.html) here when it stops.")
    var report: String?

    @Option(help: "Stop after this long: 10s, 500ms, 2.5s (a plain number is seconds).")
    var duration: OptionValue<WallDuration>?

    @Option(name: .shortAndLong, help: "Stop after this many report packets.")
    var count: Int?

    @Option(help: "The UDP destination port that marks INT in the reported packets (0: none).")
    var intPort: UInt16 = INTFormat.defaultINTPort

    @Option(help: "The DSCP value that marks INT (23 = 0x17, what int-md uses).")
    var intDscp: UInt8 = INTFormat.defaultINTDSCP

    @Flag(help: "Do not detect INT by DSCP (only by --int-port).")
    var noDscp = false

    @Flag(help: "Print the summary as one JSON object on standard output.")
    var json = false

    func validate() throws {
        _ = try duration?.value("--duration")
        if let c = count, c < 1 { throw ValidationError("--count must be at least 1 (got \(c))") }
        if intDscp > 63 { throw ValidationError("--int-dscp \(intDscp): a DSCP is 0 ... 63") }
        if intPort == 0 && noDscp { throw ValidationError("--int-port 0 with --no-dscp: INT could not be detected at all (give a port or allow DSCP)") }
        _ = try address.value("--address")
    }

    func run() throws {
        let seconds = duration.map { Double($0.parsed) / 1e9 }
        if let dir = report { try prepareReportFolder(dir) }
        let collector = TelemetryCollector(detection: INTDetection(udpPort: intPort == 0 ? nil : intPort, dscp: noDscp ? nil : intDscp))
        let udp: UDPTelemetryCollector
        do { udp = try UDPTelemetryCollector(port: listen, ip: address.parsed, collector: collector) } catch { throw CLIError("--listen: \(error)") }
        StopSignal.install()
        let tty = isatty(2) != 0
        stderr("collecting telemetry reports on UDP \(address.text):\(udp.localPort) (INT detected by \([intPort == 0 ? nil : "UDP port \(intPort)", noDscp ? nil : "DSCP \(intDscp)"].compactMap { $0 }.joined(separator: " or "))); Ctrl-C to stop")
        let stop = udp.run(seconds: seconds, packets: count) { t in
            let line = String(format: "%.0fs: %d packets, %d reports (%d INT-MD), %d lost, %d malformed, %d flows",
                              t, collector.packets, collector.reports, collector.intReports, collector.lostReports,
                              collector.malformedTotal, collector.flows.count)
            if tty { progressLine(line) } else { stderr(line) }
        }
        if tty { progressLine("") }
        let why: String
        switch stop {
        case .duration: why = "duration reached"
        case .packets: why = "count reached"
        case .signal: why = StopSignal.requested == SIGINT ? "interrupted (SIGINT)" : "stopped by signal \(StopSignal.requested ?? 0)"
        }
        if json { print(try ReportJSON.string(collector.summary()), terminator: "") } else {
            print("stopped: \(why)")
            print(collector.summaryText(), terminator: "")
        }
        if let dir = report {
            do { stderr("report: \(try collector.writeReport(to: dir))") } catch { throw CLIError("--report: \(error)") }
        }
    }
}

struct WiresharkDissectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wireshark-dissector",
        abstract: "Write the Wireshark Lua dissector for INT-MD over UDP, Telemetry Report v2.0 and SwitchML.",
        discussion: """
            Writes sluice.lua (to standard output, or to FILE with -o). Use it with
              wireshark -X lua_script:sluice.lua -r capture.pcap
              tshark -X lua_script:sluice.lua -r capture.pcap -Y int_report -T fields -e int_report.seq -e int_md.hop.queue_occupancy
            or copy it to ~/.local/lib/wireshark/plugins/. INT-MD is recognized on UDP port 0x4568 \
            (17768) or by DSCP 0x17 (as int-md marks it; a heuristic, tried after port dissectors: \
            add -o udp.try_heuristic_first:TRUE if a flow's port belongs to another protocol), \
            reports on UDP port 32766 and SwitchML on UDP ports 0xBEE0 ... 0xBEEF; the INT port, \
            the DSCP and the report port are preferences (Edit > Preferences > Protocols).
            """)

    @Option(name: .shortAndLong, help: "Write the dissector to this file instead of standard output.")
    var output: String?

    func run() throws {
        let text = WiresharkDissector.lua
        guard let path = output else { print(text, terminator: ""); return }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw CLIError("-o \(path): \((error as NSError).localizedDescription)")
        }
        stderr("wrote \(path); load it with: tshark -X lua_script:\(path) -r FILE")
    }
}

import ArgumentParser
import Foundation
import SluicePcap
import SluicePcapFiles
import SluiceTelemetry
import SluiceSupport

struct CollectorBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collector",
        abstract: "Telemetry reports per second through the collector vs the decoder alone.",
        discussion: """
            Reads report packets (UDP payloads) from a pcap, by default the collector link of an \
            int-incast run (720 reports, three hops each, made first in a temporary folder), and \
            hands them --repeat times to the decoder alone (group header, individual reports, \
            INT-MD stack) and to a whole TelemetryCollector (the same decoding plus sequence \
            accounting, flows, paths and samples; a fresh collector every 50 passes). \
            ratio = collector_mrps / decoder_mrps.
            """)

    @Option(help: "A pcap of Telemetry Report packets (Ethernet, IPv4, UDP).")
    var pcap: String?

    @Option(help: "Passes over the reports (1 ... 100000).")
    var `repeat`: Int = 2000

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        // Unbounded, a huge count ran for days (and reports x passes overflowed).
        try requireWithin(1...100_000, `repeat`, option: "--repeat", valid: "1 ... 100000 passes")
    }

    func run() throws {
        var path = pcap
        var temporary: String?
        if path == nil {
            let dir = NSTemporaryDirectory() + "sluice-bench-collector-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            temporary = dir
            var s = INTIncast.Settings()
            s.pcapDirectory = dir
            do { _ = try INTIncast.run(s) } catch { throw CLIError("int-incast: \(error)") }
            path = dir + "/leaf2-10--h20-0.pcapng"
        }
        defer { if let t = temporary { try? FileManager.default.removeItem(atPath: t) } }
        var payloads: [[UInt8]] = []
        do {
            for p in try PcapFileReader.readAll(path: path!) {
                // Ethernet, IPv4 (IHL words), UDP.
                guard p.bytes.count >= 42, p.bytes[12] == 0x08, p.bytes[13] == 0x00 else { continue }
                let start = 14 + Int(p.bytes[14] & 0xF) * 4 + 8
                if start < p.bytes.count { payloads.append(Array(p.bytes[start...])) }
            }
        } catch { throw CLIError("--pcap \(path!): \(error)") }
        guard !payloads.isEmpty else { throw CLIError("--pcap \(path!): no IPv4/UDP frames") }
        let flat = payloads.flatMap { $0 }
        var offsets = [0]
        for p in payloads { offsets.append(offsets.last! + p.count) }

        let decoder = TelemetryDecoder()
        var decoded = 0
        let t0 = MonotonicClock.nanoseconds
        flat.withUnsafeBytes { all in
            for _ in 0..<`repeat` {
                for i in 0..<payloads.count {
                    let p = UnsafeRawBufferPointer(rebasing: all[offsets[i]..<offsets[i + 1]])
                    var r = TelemetryReport()
                    guard decoder.group(p, into: &r) == nil else { continue }
                    var offset = 8, next = 0
                    while offset + 4 <= p.count {
                        if decoder.individual(p, at: offset, into: &r, next: &next) == nil { decoded += r.int.hopCount > 0 ? 1 : 0 }
                        guard next > offset else { break }
                        offset = next
                    }
                }
            }
        }
        let decodeS = MonotonicClock.seconds(since: t0)
        var collected = 0
        let t1 = MonotonicClock.nanoseconds
        flat.withUnsafeBytes { all in
            var c = TelemetryCollector()
            for pass in 0..<`repeat` {
                if pass % 50 == 0 { collected += c.intReports; c = TelemetryCollector() }
                for i in 0..<payloads.count {
                    c.receive(UnsafeRawBufferPointer(rebasing: all[offsets[i]..<offsets[i + 1]]), at: Int64(i))
                }
            }
            collected += c.intReports
        }
        let collectS = MonotonicClock.seconds(since: t1)
        guard decoded == collected else { throw CLIError("the decoder read \(decoded) INT reports, the collector \(collected)") }
        let n = Double(payloads.count * `repeat`)
        let dm = n / decodeS / 1e6, cm = n / collectS / 1e6
        if json {
            struct Result: Encodable {
                var reports: Int; var `repeat`: Int; var decoder_mrps: Double; var collector_mrps: Double
                var decoder_ns_per_report: Double; var collector_ns_per_report: Double; var ratio: Double
            }
            try printJSON(Result(reports: payloads.count, repeat: `repeat`, decoder_mrps: dm, collector_mrps: cm,
                                 decoder_ns_per_report: 1000 / dm, collector_ns_per_report: 1000 / cm, ratio: cm / dm))
        } else {
            print("\(payloads.count) report packets from \(pcap ?? "an int-incast run"), \(`repeat`) passes")
            print("  decoder:   \(fmt(dm)) M reports/s (\(fmt(1000 / dm)) ns/report)")
            print("  collector: \(fmt(cm)) M reports/s (\(fmt(1000 / cm)) ns/report); ratio \(fmt(cm / dm))")
        }
    }
}

import Foundation
import SluiceReports

extension RunReport {
    /// The end-of-run summary for the terminal: totals, flows, and the ports that dropped,
    /// marked or queued the most.
    public func summaryText(maxPorts: Int = 12) -> String { summaryReport(maxPorts: maxPorts).text }

    /// The summary as lines and tables (the report's index.html shows the tables as tables).
    public func summaryReport(maxPorts: Int = 12) -> ReportSummary {
        var out = ReportSummary()
        out.add(line: """
            \(topology): simulated \(formatTime(picoseconds: simulatedPs)) in \(String(format: "%.3f", wallSeconds)) s wall, \
            \(events) events (\(String(format: "%.2f", eventsPerSecond / 1e6)) M/s), \(packetHops) packet-hops \
            (\(String(format: "%.2f", hopsPerSecond / 1e6)) M/s), \(packetsDelivered) packets delivered, seed \(seed), \
            engine \(engine)
            """)
        for note in engineNotes { out.add(line: "native engine not used for \(note)") }
        for i in injections {
            var line = "trace at \(i.node):\(i.port): \(i.injected) of \(i.frames) frames injected"
            if let a = i.first, let b = i.last { line += " from \(formatTime(picoseconds: a)) to \(formatTime(picoseconds: b))" }
            if i.oversize > 0 { line += "; \(i.oversize) larger than the largest link MTU allows, not injected" }
            out.add(line: line)
        }
        if !networkEvents.isEmpty {
            var t = TextTable(header: ["time", "network event", "result"])
            for e in networkEvents {
                t.append([formatTime(picoseconds: e.time), e.what, (e.failed ? "failed: " : "") + e.result])
            }
            out.add(table: t)
        }
        if !flows.isEmpty {
            var t = TextTable(header: ["flow", "kind", "from", "to", "bytes", "received", "FCT", "goodput", "retransmitted"])
            for f in flows {
                t.append(["\(f.index)", f.kind, f.from, f.to, formatBytes(f.bytes), formatBytes(f.bytesReceived),
                          f.fctPs.map { formatTime(picoseconds: $0) } ?? "-",
                          f.goodputBps.map { formatRate(bitsPerSecond: $0) } ?? "-",
                          f.kind == "bulk" ? formatBytes(f.retransmittedBytes) : "-"])
            }
            out.add(table: t)
        }
        let down = { (p: PortStats) in p.droppedAtFailure + p.droppedWhileDown }
        let busy = ports.filter { $0.txPackets > 0 || $0.queueDrops > 0 || down($0) > 0 }
            .sorted { ($0.queueDrops + $0.lost + $0.ecnMarks + down($0), $0.maxQueueBytes) > ($1.queueDrops + $1.lost + $1.ecnMarks + down($1), $1.maxQueueBytes) }
        if !busy.isEmpty {
            // Drops of links that went down, when some did: at the failure (queued or on the
            // wire), and sent onto the link while it was down.
            let failures = ports.contains { down($0) > 0 }
            var t = TextTable(header: ["port", "to", "tx packets", "utilization", "max queue", "drops", "ECN marks", "lost"]
                                  + (failures ? ["dropped at failure", "dropped while down"] : []))
            for p in busy.prefix(maxPorts) {
                let util = simulatedPs > 0 ? Double(p.txBytes) * 8 / (Double(p.rate) * Double(simulatedPs) / 1e12) : 0
                t.append(["\(p.node):\(p.port)", "\(p.peer):\(p.peerPort)", "\(p.txPackets)", String(format: "%.1f%%", util * 100),
                          formatBytes(p.maxQueueBytes), "\(p.queueDrops + p.mtuDrops + p.egressDrops)", "\(p.ecnMarks)", "\(p.lost)"]
                         + (failures ? ["\(p.droppedAtFailure)", "\(p.droppedWhileDown)"] : []))
            }
            out.add(table: t)
            if busy.count > maxPorts { out.add(line: "(\(busy.count - maxPorts) more ports in the report's ports.csv)") }
        }
        let dropping = switches.filter { $0.parserDrops + $0.ingressDrops + $0.egressDrops + $0.noPortDrops > 0 }
        if !dropping.isEmpty {
            var t = TextTable(header: ["switch", "program", "received", "parser drops", "ingress drops", "egress drops", "no such port"])
            for s in dropping {
                t.append([s.name, s.program, "\(s.received)", "\(s.parserDrops)", "\(s.ingressDrops)", "\(s.egressDrops)", "\(s.noPortDrops)"])
            }
            out.add(table: t)
        }
        return out
    }
}

extension Emulator {
    /// Write a report folder: `index.html` (open it in a browser), `report.json`, `flows.csv`,
    /// `ports.csv`, `timeseries.csv` and SVG plots of queue depth and link utilization.
    /// Returns the path of `index.html`.
    @discardableResult
    public func writeReport(_ report: RunReport, to directory: String) throws -> String {
        try writeReport(report, series: series, to: directory)
    }

    /// The same with `series` for the time series (a parallel run's, merged).
    func writeReport(_ report: RunReport, series: TimeSeries, to directory: String) throws -> String {
        var w = try ReportWriter(directory: directory, title: "Sluice emulation: \(spec.name)")
        w.setSummary(report.summaryReport(maxPorts: 40))

        // Plots first: they are what a reader looks at.
        let names = (0..<dirCount).map { d in "\(spec.nodes[Int(dirs[d].fromNode)].name):\(dirs[d].fromPort)" }
        if series.count > 0 {
            let peak = (0..<dirCount).map { d in (0..<series.count).reduce(UInt32(0)) { max($0, series.queue($1, d)) } }
            let interval = series.count > 1 ? series.times[1] - series.times[0] : series.times[0]
            let deepest = (0..<dirCount).filter { peak[$0] > 0 }.sorted { peak[$0] > peak[$1] }.prefix(8)
            let queuePlot = LinePlot(title: "Queue depth (largest per \(formatTime(picoseconds: interval)) interval), the \(deepest.count) deepest queues",
                                     xLabel: "simulated time", yLabel: "queue depth (bytes)",
                                     series: deepest.map { d in (name: names[d], points: (0..<series.count).map { (x: Double(series.times[$0]) / 1e12, y: Double(series.queue($0, d))) }) },
                                     step: true, xFormat: .seconds)
            try w.write(svg: queuePlot.svg(), name: "queue-depth.svg", caption: "Queue depth over time (bytes waiting behind the wire)",
                        data: ["timeseries.csv"])
            let sent = (0..<dirCount).map { d in (0..<series.count).reduce(UInt64(0)) { $0 + UInt64(series.sent($1, d)) } }
            let busiest = (0..<dirCount).filter { sent[$0] > 0 }.sorted { sent[$0] > sent[$1] }.prefix(8)
            // Utilization per sample of 1 us is a packet or none: drawn, it is noise. Bins of
            // whole samples, at most 250 over the run, each the bytes sent in it over what the
            // link could send; the title says the bin.
            let per = max(1, (series.count + 249) / 250)
            let bins = stride(from: 0, to: series.count, by: per).map { ($0, min($0 + per, series.count)) }
            let binPs = interval * Int64(per)
            let utilPlot = LinePlot(title: "Link utilization per \(formatTime(picoseconds: binPs)) interval, the \(busiest.count) busiest ports",
                                    xLabel: "simulated time", yLabel: "utilization (% of the link rate)",
                                    series: busiest.map { d in (name: names[d], points: bins.map { lo, hi in
                                        let start = lo == 0 ? 0 : series.times[lo - 1], end = series.times[hi - 1]
                                        let bytes = (lo..<hi).reduce(0.0) { $0 + Double(series.sent($1, d)) }
                                        return (x: Double(start) / 1e12, y: bytes * 8 / (Double(dirs[d].rate) * Double(max(end - start, 1)) / 1e12))
                                    }) },
                                    step: true, xFormat: .seconds, yFormat: .percent)
            try w.write(svg: utilPlot.svg(), name: "utilization-over-time.svg", caption: "Utilization of the busiest ports: bytes sent per interval over what the link could send (timeseries.csv has every sample)",
                        data: ["timeseries.csv"])
            var csv = CSVWriter(header: ["time_ps"] + names.flatMap { ["\($0) queue_bytes", "\($0) sent_bytes"] })
            for i in 0..<series.count {
                csv.append(["\(series.times[i])"] + (0..<dirCount).flatMap { ["\(series.queue(i, $0))", "\(series.sent(i, $0))"] })
            }
            try w.write(csv: csv, name: "timeseries.csv", description: "Per-port queue depth (max per interval) and bytes sent per interval")
        }
        let sim = Double(max(now, 1)) / 1e12
        let util = report.ports.map { (category: "\($0.node):\($0.port)", value: Double($0.txBytes) * 8 / (Double($0.rate) * sim)) }
        try w.write(svg: BarPlot(title: "Link utilization over the run (\(formatTime(picoseconds: now)))", valueLabel: "utilization (% of the link rate)", bars: util, valueFormat: .percent).svg(),
                    name: "link-utilization.svg", caption: "Average utilization of every port over the whole run", data: ["ports.csv"])
        if !report.flows.isEmpty {
            // Every flow: one that never completed is marked in its place, not left out.
            let fct = report.flows.map { f in (category: "\(f.index) \(f.from)→\(f.to)", value: f.fctPs.map { Double($0) / 1e12 } ?? .nan) }
            let completed = report.flows.filter { $0.fctPs != nil }.count
            try w.write(svg: BarPlot(title: "Flow completion times (\(completed) of \(report.flows.count) flows completed)", valueLabel: "flow completion time",
                                     bars: fct, valueFormat: .seconds, missingLabel: "did not complete").svg(),
                        name: "fct.svg", caption: "Flow completion time of every flow; a flow that did not complete by the end of the run is marked so",
                        data: ["flows.csv"])
        }

        try w.writeJSON(report, name: "report.json", description: "Everything measured, as JSON")
        var flows = CSVWriter(header: ["flow", "kind", "from", "to", "bytes", "start_ps", "packets_sent", "packets_received",
                                       "bytes_received", "fct_ps", "goodput_bps", "retransmitted_bytes"])
        for f in report.flows {
            flows.append(["\(f.index)", f.kind, f.from, f.to, "\(f.bytes)", "\(f.startPs)", "\(f.packetsSent)", "\(f.packetsReceived)",
                          "\(f.bytesReceived)", f.fctPs.map(String.init) ?? "", f.goodputBps.map { String(format: "%.0f", $0) } ?? "",
                          "\(f.retransmittedBytes)"])
        }
        try w.write(csv: flows, name: "flows.csv", description: "One row per flow: completion time, goodput, retransmissions")
        var ports = CSVWriter(header: ["node", "port", "peer", "peer_port", "rate_bps", "tx_packets", "tx_bytes", "queue_drops",
                                       "mtu_drops", "egress_drops", "lost", "ecn_marks", "max_queue_bytes",
                                       "dropped_at_failure", "dropped_while_down"])
        for p in report.ports {
            ports.append([p.node, "\(p.port)", p.peer, "\(p.peerPort)", "\(p.rate)", "\(p.txPackets)", "\(p.txBytes)", "\(p.queueDrops)",
                          "\(p.mtuDrops)", "\(p.egressDrops)", "\(p.lost)", "\(p.ecnMarks)", "\(p.maxQueueBytes)",
                          "\(p.droppedAtFailure)", "\(p.droppedWhileDown)"])
        }
        if !report.networkEvents.isEmpty {
            var events = CSVWriter(header: ["time_ps", "what", "origin", "result", "failed"])
            for e in report.networkEvents { events.append(["\(e.time)", e.what, e.origin, e.result, "\(e.failed)"]) }
            try w.write(csv: events, name: "network-events.csv", description: "Changes to the network during the run, and what each did")
        }
        try w.write(csv: ports, name: "ports.csv", description: "One row per port: packets, bytes, drops, ECN marks, deepest queue")
        return try w.writeIndex()
    }
}

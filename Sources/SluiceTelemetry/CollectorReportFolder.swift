import SluiceReports

extension TelemetryCollector {
    /// Writes a report folder with SluiceReports: `index.html`, `report.json`
    /// (the summary), `hop-samples.csv`, `path-latency.csv`, and SVG plots of queue occupancy
    /// per hop over time and of the latency distribution per path. `occupancyUnit` labels the
    /// occupancy axis (the unit the switches report); `extra` adds plots and files of the
    /// caller's (an experiment's) first; `latencyUnit` is the seconds of one unit of hop latency
    /// (1e-9: nanoseconds; 1: unitless, labelled as a number). Returns the path of `index.html`.
    @discardableResult
    public func writeReport(to directory: String, title: String = "INT telemetry collector",
                            occupancyUnit: String = "queue occupancy", extraSummary: ReportSummary = ReportSummary(),
                            latencyUnit: Double = 1e-9,
                            extra: (inout ReportWriter) throws -> Void = { _ in }) throws -> String {
        var w = try ReportWriter(directory: directory, title: title)
        w.setSummary(extraSummary + summaryReport(maxRows: 20))
        try extra(&w)
        let byHop = samplesByHop()
        let t0 = samples.first?.time ?? 0
        let peak = byHop.mapValues { s in s.lazy.filter { $0.occupancy != INTHop.absentOccupancy }.map(\.occupancy).max() ?? 0 }
        let deepest = byHop.keys.filter { peak[$0]! > 0 }.sorted { (peak[$0]!, $1) > (peak[$1]!, $0) }.prefix(8)
        let queuePlot = LinePlot(title: "INT queue occupancy per hop, the \(deepest.count) deepest queues",
                                 xLabel: "report arrival time", yLabel: occupancyUnit,
                                 series: deepest.map { k in (name: "\(nodeName(k.node)) port \(k.egressPort)", points: byHop[k]!.filter { $0.occupancy != INTHop.absentOccupancy }
                                     .map { (x: Double($0.time - t0) / 1e12, y: Double($0.occupancy)) }) },
                                 step: true, xFormat: .seconds)
        try w.write(svg: queuePlot.svg(), name: "queue-occupancy.svg", caption: "Queue occupancy each hop reported, over time (per node and egress port)",
                    data: ["hop-samples.csv"])
        let withLatency = paths.enumerated().filter { !$0.element.latencies.isEmpty }.prefix(8)
        // A CDF: latency across, the fraction of reports at or below it up.
        let latencyPlot = LinePlot(title: "Path latency distribution (sum of hop latencies)", xLabel: "path latency (sum of the hops' latencies)",
                                   yLabel: "fraction of reports",
                                   series: withLatency.map { i, p in
                                       let s = p.latencies.sorted()
                                       return (name: "path \(i): " + p.nodes.map(nodeName).joined(separator: " > "),
                                               points: [(x: Double(s[0]) * latencyUnit, y: 0)]
                                                   + s.enumerated().map { (x: Double($0.element) * latencyUnit, y: Double($0.offset + 1) / Double(s.count)) })
                                   }, step: true, xFormat: latencyUnit == 1 ? .number : .seconds, yFormat: .percent)
        try w.write(svg: latencyPlot.svg(), name: "path-latency.svg", caption: "Latency distribution per path (CDF: each report's sum of hop latencies)",
                    data: ["path-latency.csv"])

        try w.writeJSON(summary(), name: "report.json", description: "Counts, lost reports per source, flows, paths, per-hop figures")
        var csv = CSVWriter(header: ["time_ps", "node", "ingress_port", "egress_port", "queue_id", "occupancy", "hop_latency", "flow", "position"])
        for s in samples {
            csv.append(["\(s.time)", "\(s.node)", "\(s.ingressPort)", "\(s.egressPort)", "\(s.queueID)",
                        s.occupancy == INTHop.absentOccupancy ? "" : "\(s.occupancy)", s.hopLatency == .max ? "" : "\(s.hopLatency)",
                        flows[Int(s.flow)].key.description, "\(s.position)"])
        }
        try w.write(csv: csv, name: "hop-samples.csv", description: "One row per hop per report: occupancy and hop latency (empty: not reported)")
        var lat = CSVWriter(header: ["path", "nodes", "latency"])
        for (i, p) in paths.enumerated() {
            let nodes = p.nodes.map(String.init).joined(separator: " ")
            for l in p.latencies { lat.append(["\(i)", nodes, "\(l)"]) }
        }
        try w.write(csv: lat, name: "path-latency.csv", description: "One row per report: its path and the sum of its hop latencies")
        return try w.writeIndex()
    }
}

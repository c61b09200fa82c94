import Foundation
import SluiceEmulator
import SluiceReports

extension LoadBalancingExperiment {
    /// The table's header and one line per row (the terminal's view, also in index.html).
    public static func header() -> String {
        columns(["scenario", "scheme", "completion", "vs ecmp", "busiest", "busy/mean", "fct p50", "fct p99", "reorder", "drops"])
    }

    static let widths = [-14, -8, 11, 8, 9, 10, 10, 10, 9, 8]

    /// Cells padded to `widths` (negative: left-aligned).
    static func columns(_ cells: [String]) -> String {
        zip(cells, widths).map { c, w in
            let pad = String(repeating: " ", count: max(0, abs(w) - c.count))
            return w < 0 ? c + pad : pad + c
        }.joined(separator: " ")
    }

    public static func line(_ r: Row) -> String { columns(cells(r)) }

    static func cells(_ r: Row) -> [String] {
        func t(_ s: Double?) -> String { s.map(ExperimentReport.time) ?? "-" }
        var loads = "-"
        if let b = r.busiestLinkLoad, let m = r.meanLinkLoad { loads = String(format: "%.0f/%.0f%%", b * 100, m * 100) }
        return [r.scenario, r.scheme, t(r.completionS), r.ratioVsECMP.map { String(format: "%.3f", $0) } ?? "-",
                r.busiestLinkFlows.map { String(format: "%.2f fl", $0) } ?? "-", loads, t(r.fctP50S), t(r.fctP99S),
                String(format: "%.0f", r.outOfOrderPackets), String(format: "%.0f", r.queueDrops)]
    }

    /// The table's cells, for index.html.
    public static func textTable(_ rows: [Row]) -> TextTable {
        TextTable(header: ["scenario", "scheme", "completion", "vs ecmp", "busiest", "busy/mean", "fct p50", "fct p99", "reorder", "drops"],
                  rows: rows.map(cells))
    }

    public static func table(_ rows: [Row]) -> String { ([header()] + rows.map(line)).joined(separator: "\n") }

    /// report.json, rows.csv, one completion-time plot per scenario (and the busiest link's
    /// flows for (a) and (b)), index.html; returns index.html.
    @discardableResult
    public static func writeReport(_ rows: [Row], settings: Settings, to directory: String) throws -> String {
        let runText = (settings.seeds == 1 ? "1 seed" : "\(settings.seeds) seeds") + (settings.scale == 1 ? "" : String(format: ", sizes x %g", settings.scale))
        var w = try ReportWriter(directory: directory, title: "Sluice lb: load balancing on a 100 Gb/s leaf-spine (\(runText))")
        let scenarios = settings.scenarios.map { "\($0.rawValue): \($0.summary)" }
        // The table as an HTML table, the notes as paragraphs under it.
        var text = ReportSummary()
        text.add(table: textTable(rows))
        text.add(line: "seeds \(settings.firstSeed) ... \(settings.firstSeed &+ UInt64(settings.seeds - 1)), sizes x \(settings.scale); completion is the mean over the seeds")
        for l in scenarios { text.add(line: l) }
        w.setSummary(text)
        try w.writeJSON(rows, name: "report.json", description: "every row (the same JSON as --json)")
        var csv = CSVWriter(header: ["scenario", "scheme", "seeds", "completion_s", "completion_min_s", "completion_max_s", "ratio_vs_ecmp",
                                     "busiest_link_flows", "busiest_link_load", "mean_link_load", "fct_p50_s", "fct_p99_s",
                                     "out_of_order_packets", "queue_drops"])
        func o(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
        for r in rows {
            csv.append([r.scenario, r.scheme, "\(r.seeds)", "\(r.completionS)", "\(r.completionMinS)", "\(r.completionMaxS)", o(r.ratioVsECMP),
                        o(r.busiestLinkFlows), o(r.busiestLinkLoad), o(r.meanLinkLoad), o(r.fctP50S), o(r.fctP99S),
                        "\(r.outOfOrderPackets)", "\(r.queueDrops)"])
        }
        try w.write(csv: csv, name: "rows.csv", description: "the table as CSV")
        let seedText = settings.seeds == 1 ? "1 seed" : "\(settings.seeds) seeds"
        let sizeText = settings.scale == 1 ? "" : String(format: ", sizes x %g", settings.scale)
        for s in settings.scenarios {
            let at = rows.filter { $0.scenario == s.rawValue }
            guard !at.isEmpty else { continue }
            let what = s == .mlBackground ? "iteration time" : "allreduce completion time"
            try w.write(svg: BarPlot(title: "\(s.rawValue): \(what), mean of \(seedText)\(sizeText)", valueLabel: "\(what) (ms)",
                                     bars: at.map { ($0.scheme, $0.completionS * 1e3) },
                                     ranges: at.map { $0.seeds > 1 ? ($0.completionMinS * 1e3)...($0.completionMaxS * 1e3) : nil }).svg(),
                        name: "\(s.rawValue)-completion.svg",
                        caption: "\(s.summary): \(what) per scheme, mean over \(seedText) with the smallest and largest as whiskers (lower is better)",
                        data: ["rows.csv", "report.json"])
            if s == .mlBackground {
                try w.write(svg: BarPlot(title: "ml-background: background flow completion p99, \(seedText)\(sizeText)", valueLabel: "p99 flow completion time (ms)",
                                         bars: at.map { ($0.scheme, ($0.fctP99S ?? .nan) * 1e3) }, missingLabel: "no flow completed").svg(),
                            name: "\(s.rawValue)-fct-p99.svg", caption: "99th percentile of the web-search flows' completion times per scheme, over the flows of all \(seedText)",
                            data: ["rows.csv", "report.json"])
            } else {
                try w.write(svg: BarPlot(title: "\(s.rawValue): flows on leaf1's busiest uplink, mean of \(seedText)", valueLabel: "flows on the busiest uplink (flow-sized shares)",
                                         bars: at.map { ($0.scheme, $0.busiestLinkFlows ?? .nan) },
                                         ranges: at.map { r in r.seeds > 1 ? r.busiestLinkFlowsMin.flatMap { lo in r.busiestLinkFlowsMax.map { lo...$0 } } : nil },
                                         missingLabel: "not measured").svg(),
                            name: "\(s.rawValue)-busiest.svg", caption: "Bytes on leaf1's busiest uplink in flow-sized shares (8 flows over 8 uplinks: 1 is perfect balance), mean over \(seedText) with the smallest and largest as whiskers",
                            data: ["rows.csv", "report.json"])
            }
        }
        return try w.writeIndex()
    }
}

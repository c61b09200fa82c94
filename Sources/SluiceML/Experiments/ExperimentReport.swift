import Foundation
import SluiceReports

/// Tables and report folders for experiment rows.
public enum ExperimentReport {
    public static let tableHeader = ["scheme", "n", "Gb/s", "size", "k", "slots", "loss", "timeout", "time", "elements/s", "x bound", "result", "wall", "events"]

    /// One table line for `r` (columns of `tableHeader`).
    public static func cells(_ r: ExperimentRow) -> [String] {
        func num(_ x: Double?, _ f: String) -> String { x.map { String(format: f, $0) } ?? "-" }
        let result: String
        if let e = r.maxAbsError {
            result = (r.withinBound.map { $0 ? "in bound" : "OUT OF BOUND" } ?? "err") + String(format: " %.2g", e)
        } else {
            result = r.timeS == nil && r.elementsPerPacket != nil ? "UNFINISHED" : (r.exact ? "exact" : "WRONG")
        }
        return [r.scheme, "\(r.workers)", num(r.rateGbps, "%g"), bytes(r.sizeBytes), r.elementsPerPacket.map(String.init) ?? "-",
                r.poolSlots.map(String.init) ?? "-", r.loss == 0 ? "0" : String(format: "%g%%", r.loss * 100),
                r.timeoutS.map { time($0) } ?? "-", r.timeS.map { time($0) } ?? "-", num(r.elementsPerS, "%.3g"),
                num(r.timeOverBound, "%.3f"), result, String(format: "%.1fs", r.wallS),
                r.events.map { String(format: "%.2fM", Double($0) / 1e6) } ?? "-"]
    }

    public static func table(_ rows: [ExperimentRow]) -> String {
        let lines = [tableHeader] + rows.map(cells)
        let widths = tableHeader.indices.map { c in lines.map { $0[c].count }.max()! }
        return lines.map { l in l.indices.map { l[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            .joined(separator: "\n")
    }

    /// A line of the table as it is measured, aligned to the widths of a typical table.
    public static func line(_ r: ExperimentRow) -> String {
        let widths = [16, 3, 5, 8, 4, 5, 6, 8, 10, 10, 8, 22, 6, 7]
        let line = cells(r).enumerated().map { $1.padding(toLength: max(widths[$0], $1.count), withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
        // What tells rows of one experiment apart beyond the columns (E4's inflation, E6's jobs).
        var extra: [String] = []
        if let j = r.job, let n = r.jobs { extra.append("job \(j) of \(n)") }
        if let note = r.note { extra.append(note) }
        return extra.isEmpty ? line : line + "  " + extra.joined(separator: "; ")
    }

    public static func header() -> String {
        let widths = [16, 3, 5, 8, 4, 5, 6, 8, 10, 10, 8, 22, 6, 7]
        return tableHeader.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }

    static func bytes(_ b: Int) -> String {
        b >= 1_000_000 ? String(format: "%gMB", (Double(b) / 1e6 * 100).rounded() / 100)
            : (b >= 1000 ? String(format: "%gkB", (Double(b) / 1e3 * 100).rounded() / 100) : "\(b)B")
    }

    static func time(_ s: Double) -> String {
        s >= 1 ? String(format: "%.3gs", s) : (s >= 1e-3 ? String(format: "%.4gms", s * 1e3) : String(format: "%.4gus", s * 1e6))
    }

    /// Write report.json, rows.csv, plots and index.html into `directory`; returns index.html.
    @discardableResult
    public static func write(_ name: String, rows: [ExperimentRow], summary: [String], to directory: String) throws -> String {
        var w = try ReportWriter(directory: directory, title: "Sluice \(name): \(Experiments.all.first { $0.name == name }?.summary ?? name)")
        // Plain text: the index escapes it and sets it in a <pre> once.
        w.setSummary(([table(rows)] + (summary.isEmpty ? [] : [""] + summary)).joined(separator: "\n"))
        try w.writeJSON(rows, name: "report.json", description: "every row (the same JSON as --json)")
        var csv = CSVWriter(header: ["scheme", "workers", "rate_gbps", "size_bytes", "elements_per_packet", "pool_slots", "loss",
                                     "timeout_s", "time_s", "elements_per_s", "bound_s", "exact", "max_abs_error", "note"])
        for r in rows {
            csv.append([r.scheme, "\(r.workers)", "\(r.rateGbps)", "\(r.sizeBytes)", r.elementsPerPacket.map(String.init) ?? "",
                        r.poolSlots.map(String.init) ?? "", "\(r.loss)", r.timeoutS.map { "\($0)" } ?? "", r.timeS.map { "\($0)" } ?? "",
                        r.elementsPerS.map { "\($0)" } ?? "", r.boundS.map { "\($0)" } ?? "", "\(r.exact)",
                        r.maxAbsError.map { "\($0)" } ?? "", r.note ?? ""])
        }
        try w.write(csv: csv, name: "rows.csv", description: "the table as CSV")
        for (file, caption, svg) in plots(name, rows) {
            try w.write(svg: svg, name: file, caption: caption)
        }
        return try w.writeIndex()
    }

    static func plots(_ name: String, _ rows: [ExperimentRow]) -> [(String, String, String)] {
        var out: [(String, String, String)] = []
        switch name {
        case "ina-e1":
            for rate in Set(rows.map(\.rateGbps)).sorted() {
                let at = rows.filter { $0.rateGbps == rate && $0.timeS != nil }
                let bars = at.map { (category: $0.scheme, value: $0.timeS! * 1e3) }
                out.append(("time-\(Int(rate))g.svg", "Completion time at \(Int(rate)) Gb/s (8 workers, 100 MB): lower is better",
                            BarPlot(title: "allreduce completion time, \(Int(rate)) Gb/s", valueLabel: "ms", bars: bars).svg()))
                let speed = at.map { (category: $0.scheme, value: ($0.elementsPerS ?? 0) / 1e9) }
                out.append(("elements-\(Int(rate))g.svg", "Aggregated elements per second at \(Int(rate)) Gb/s (billions): higher is better",
                            BarPlot(title: "aggregated elements per second, \(Int(rate)) Gb/s", valueLabel: "1e9 elements/s", bars: speed).svg()))
            }
        case "ina-e2":
            let series = Set(rows.map(\.scheme)).sorted().map { s in
                (name: s, points: rows.filter { $0.scheme == s && $0.timeS != nil }.map { (x: Double($0.workers), y: $0.timeS! * 1e3) })
            }
            out.append(("time-vs-workers.svg", "Completion time against the number of workers (10 MB): in-network stays flat, ring grows as 2(n-1)/n",
                        LinePlot(title: "completion time vs workers", xLabel: "workers", yLabel: "ms", series: series).svg()))
        case "ina-e3":
            let measured = rows.compactMap { r in r.elementsPerS.map { (x: Double(r.poolSlots ?? 0), y: $0 / 1e9) } }
            let bound = rows.compactMap { r in r.boundS.map { (x: Double(r.poolSlots ?? 0), y: Double(r.sizeBytes / 4) / $0 / 1e9) } }
            out.append(("throughput-vs-pool.svg", "Throughput against pool size: measured and min(line rate, s x packet / RTT)",
                        LinePlot(title: "throughput vs pool slots", xLabel: "slots per worker", yLabel: "1e9 elements/s",
                                 series: [("measured", measured), ("bound", bound)]).svg()))
        case "ina-e4":
            let base = rows.first { $0.loss == 0 }?.timeS
            let series = Set(rows.filter { $0.loss > 0 }.compactMap(\.timeoutS)).sorted().map { t in
                (name: "timeout " + time(t), points: rows.filter { $0.loss > 0 && $0.timeoutS == t && $0.timeS != nil }
                    .map { (x: $0.loss * 100, y: $0.timeS! / (base ?? $0.timeS!)) })
            }
            out.append(("inflation.svg", "Completion-time inflation over the loss-free run, by loss (%) and retransmission timeout",
                        LinePlot(title: "completion-time inflation", xLabel: "loss (%)", yLabel: "x loss-free", series: series).svg()))
        case "ina-e5":
            let bars = rows.compactMap { r in r.maxAbsError.map { (category: r.scheme, value: $0) } }
            out.append(("error.svg", "Largest absolute error against the exact sum",
                        BarPlot(title: "max |error|", valueLabel: "absolute error", bars: bars).svg()))
        case "ina-e6":
            let bars = rows.compactMap { r in r.timeS.map { (category: "\(r.scheme) \(r.note ?? "") job \(r.job ?? 1)", value: $0 * 1e3) } }
            out.append(("jobs.svg", "Completion time per job: alone and sharing the switch",
                        BarPlot(title: "completion time per job", valueLabel: "ms", bars: bars, horizontal: true).svg()))
        default: break
        }
        return out
    }
}

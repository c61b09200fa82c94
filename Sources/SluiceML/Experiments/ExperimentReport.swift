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

    /// The table with a notes column (job, aggregator supply...) when a row has one.
    public static func textTable(_ rows: [ExperimentRow]) -> TextTable {
        let notes = rows.map { r -> String in
            var extra: [String] = []
            if let j = r.job, let n = r.jobs { extra.append("job \(j) of \(n)") }
            if let note = r.note { extra.append(note) }
            return extra.joined(separator: "; ")
        }
        let withNotes = notes.contains { !$0.isEmpty }
        return TextTable(header: tableHeader + (withNotes ? ["notes"] : []),
                         rows: zip(rows, notes).map { cells($0) + (withNotes ? [$1] : []) })
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
        // The title says what ran: the tensor size after --scale, the rates (the demo runs 100 Gb/s only).
        let rates = name == "ina-e1" ? Set(rows.map(\.rateGbps)).sorted() : nil
        let title = Experiments.summary(name, sizeBytes: rows.map(\.sizeBytes).max(), rates: rates)
        var w = try ReportWriter(directory: directory, title: "Sluice \(name): \(title)")
        // The table as an HTML table, the summary lines as paragraphs under it.
        var text = ReportSummary()
        text.add(table: textTable(rows))
        for l in summary { text.add(line: l) }
        w.setSummary(text)
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
            try w.write(svg: svg, name: file, caption: caption, data: ["rows.csv", "report.json"])
        }
        return try w.writeIndex()
    }

    static func plots(_ name: String, _ rows: [ExperimentRow]) -> [(String, String, String)] {
        var out: [(String, String, String)] = []
        let size = sizeText(rows.first?.sizeBytes ?? 0)
        let workers = Set(rows.map(\.workers)).sorted().map(String.init).joined(separator: ", ")
        switch name {
        case "ina-e1":
            for rate in Set(rows.map(\.rateGbps)).sorted() {
                let at = rows.filter { $0.rateGbps == rate }
                let g = String(format: "%g", rate)
                let boundLabel = "bandwidth bound: S/(eta B) for switchml, 2(n-1)/n x S/(eta B) for ring, tree and sharded PS, n x S/(eta B) for one PS"
                out.append(("time-\(g)g.svg", "Completion time at \(g) Gb/s (\(workers) workers, \(size) each), the dashed mark is each scheme's bandwidth bound: lower is better",
                            BarPlot(title: "allreduce completion time, \(workers) workers, \(size), \(g) Gb/s", valueLabel: "completion time (ms)",
                                    bars: at.map { (category: $0.scheme, value: $0.timeS.map { $0 * 1e3 } ?? .nan) },
                                    bounds: at.map { $0.boundS.map { $0 * 1e3 } }, boundLabel: boundLabel, missingLabel: "did not finish").svg()))
                out.append(("elements-\(g)g.svg", "Aggregated elements per second at \(g) Gb/s (billions), the dashed mark is the bound: higher is better",
                            BarPlot(title: "aggregated elements per second, \(workers) workers, \(size), \(g) Gb/s", valueLabel: "elements per second (billions)",
                                    bars: at.map { (category: $0.scheme, value: ($0.elementsPerS ?? .nan) / 1e9) },
                                    bounds: at.map { r in r.boundS.map { Double(r.sizeBytes / 4) / $0 / 1e9 } }, boundLabel: boundLabel,
                                    missingLabel: "did not finish").svg()))
            }
        case "ina-e2":
            let schemes = Set(rows.map(\.scheme)).sorted()
            let series = schemes.map { s in
                (name: s + " (measured)", points: rows.filter { $0.scheme == s && $0.timeS != nil }.map { (x: Double($0.workers), y: $0.timeS! * 1e3) })
            }
            // Each scheme's bound as a curve over n: S/(eta B) flat for switchml, 2(n-1)/n x
            // S/(eta B) for ring (scaled from one measured row's bound).
            let ns = rows.map(\.workers)
            var references: [LinePlot.Reference] = []
            if let lo = ns.min(), let hi = ns.max(), lo < hi {
                let grid = (0...64).map { Double(lo) * pow(Double(hi) / Double(lo), Double($0) / 64) }
                for (i, s) in schemes.enumerated() {
                    guard let r = rows.first(where: { $0.scheme == s && $0.boundS != nil }), let b = r.boundS else { continue }
                    if s.hasPrefix("switchml") {
                        references.append((name: "\(s) bound S/(eta B)", points: grid.map { (x: $0, y: b * 1e3) }, colourOf: i))
                    } else {
                        let n0 = Double(r.workers)
                        references.append((name: "\(s) bound 2(n-1)/n x S/(eta B)",
                                           points: grid.map { n in (x: n, y: b * 1e3 * ((n - 1) / n) / ((n0 - 1) / n0)) }, colourOf: i))
                    }
                }
            }
            out.append(("time-vs-workers.svg", "Completion time against the number of workers (\(size) each, 100 Gb/s): in-network stays flat, ring grows as 2(n-1)/n (dashed: the bounds)",
                        LinePlot(title: "completion time vs workers, \(size)", xLabel: "workers", yLabel: "completion time (ms)",
                                 series: series, references: references, xScale: .log2).svg()))
        case "ina-e3":
            let measured = rows.compactMap { r in r.elementsPerS.map { (x: Double(r.poolSlots ?? 0), y: $0 / 1e9) } }
            var references: [LinePlot.Reference] = []
            if let r = rows.first, let k = r.elementsPerPacket, let lo = rows.compactMap(\.poolSlots).min(), let hi = rows.compactMap(\.poolSlots).max() {
                let setup = StarSetup(workers: r.workers, rateGbps: r.rateGbps)
                let grid = (0...96).map { Double(lo) * pow(Double(hi) / Double(lo), Double($0) / 96) }
                references.append((name: "bound min(line rate, s x k / RTT)", points: grid.map { s in
                    let b = Experiments.e3Bound(slots: s, k: k, setup: setup)
                    return (x: s, y: min(b.lineRate, b.windowRate) / 1e9)
                }, colourOf: nil))
            }
            out.append(("throughput-vs-pool.svg", "Throughput against pool size (\(size), \(workers) workers): measured, and the bound min(line rate, s x packet / RTT) dashed",
                        LinePlot(title: "throughput vs pool slots, \(size)", xLabel: "pool slots per worker",
                                 yLabel: "throughput (billion elements/s)",
                                 series: [("measured", measured)], references: references, xScale: .log2).svg()))
        case "ina-e4":
            let base = rows.first { $0.loss == 0 }?.timeS
            let series = Set(rows.filter { $0.loss > 0 }.compactMap(\.timeoutS)).sorted().map { t in
                (name: "timeout " + time(t), points: rows.filter { $0.loss > 0 && $0.timeoutS == t && $0.timeS != nil }
                    .map { (x: $0.loss * 100, y: $0.timeS! / (base ?? $0.timeS!)) })
            }
            let losses = rows.filter { $0.loss > 0 }.map { $0.loss * 100 }
            let references: [LinePlot.Reference] = losses.isEmpty ? [] : [(name: "loss-free (1x)", points: [(x: losses.min()!, y: 1), (x: losses.max()!, y: 1)], colourOf: nil)]
            out.append(("inflation.svg", "Completion-time inflation over the loss-free run (\(size)), by loss (%) and retransmission timeout",
                        LinePlot(title: "completion-time inflation, \(size)", xLabel: "loss (%)", yLabel: "completion time / loss-free (x)",
                                 series: series, references: references, xScale: .log10).svg()))
        case "ina-e5":
            let bars = rows.compactMap { r in r.maxAbsError.map { (category: r.scheme, value: $0) } }
            out.append(("error.svg", "Largest absolute error against the exact sum (\(size) of synthetic gradients, \(workers) workers)",
                        BarPlot(title: "largest absolute error, \(size)", valueLabel: "max |error| (absolute, in gradient units)", bars: bars).svg()))
        case "ina-e6":
            let bars = rows.map { r in (category: "\(r.scheme) \(r.note ?? "") job \(r.job ?? 1)", value: r.timeS.map { $0 * 1e3 } ?? .nan) }
            out.append(("jobs.svg", "Completion time per job (\(size) each): alone and sharing the switch",
                        BarPlot(title: "completion time per job, \(size)", valueLabel: "completion time (ms)", bars: bars, horizontal: true,
                                missingLabel: "did not finish").svg()))
        default: break
        }
        return out
    }

    /// "100 MB", "5 MB", "400 kB": decimal units, three significant digits.
    static func sizeText(_ b: Int) -> String {
        let v = Double(b)
        if v >= 1e9 { return String(format: "%.3g GB", v / 1e9) }
        if v >= 1e6 { return String(format: "%.3g MB", v / 1e6) }
        if v >= 1e3 { return String(format: "%.3g kB", v / 1e3) }
        return "\(b) B"
    }
}

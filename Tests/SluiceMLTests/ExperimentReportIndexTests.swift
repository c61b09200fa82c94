import Foundation
import Testing
@testable import SluiceML
import SluiceReports

/// The experiments' report folders: the table is an HTML table (one cell a value, escaped
/// once), the summary lines are paragraphs, the plots are inline SVG; a browser shows the table,
/// not `<pre>` and `&lt;` written out.
@Suite struct ExperimentReportIndexTests {
    /// A fresh folder under the temporary directory, removed by the caller.
    func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-experiment-report-\(UUID().uuidString)").path
    }

    func expectTableOnce(_ html: String, table: TextTable, plots: Int) throws {
        #expect(!html.contains("&lt;pre") && !html.contains("&lt;br") && !html.contains("&amp;lt;") && !html.contains("<pre>"))
        #expect(html.components(separatedBy: "<table>").count == 2, "expected one table")
        #expect(html.components(separatedBy: "<tr>").count - 1 == table.rows.count + 1)
        // Every cell of every row, escaped once, in its own <td>.
        for r in table.rows {
            for c in r { #expect(html.contains(">\(xmlEscape(c))</td>"), "cell \(c)") }
        }
        #expect(html.components(separatedBy: "<svg xmlns").count - 1 == plots)
    }

    @Test func anAggregationExperimentsIndexShowsItsTableOnce() throws {
        var s = ExperimentSettings()
        s.scale = 0.01
        let rows = try Experiments.run("ina-e3", s)
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try ExperimentReport.write("ina-e3", rows: rows, summary: ["switchml < ring & tree"], to: dir)
        let html = try String(contentsOfFile: index, encoding: .utf8)
        try expectTableOnce(html, table: ExperimentReport.textTable(rows), plots: 1)
        // A summary line is escaped, once; the title names the size run, not the published one.
        #expect(html.contains("<p class=\"summary\">switchml &lt; ring &amp; tree</p>"))
        #expect(html.contains("<h1>Sluice ina-e3: pool size 4 ... 256 slots at 100 kB, 8 workers"))
    }

    @Test func theLoadBalancingIndexShowsItsTableOnce() throws {
        var s = LoadBalancingExperiment.Settings()
        s.seeds = 1
        s.scale = 1.0 / 64
        s.scenarios = [.elephants]
        s.schemes = LoadBalancingExperiment.schemes.filter { $0.name == "ecmp" }
        let rows = try LoadBalancingExperiment.run(s)
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try LoadBalancingExperiment.writeReport(rows, settings: s, to: dir)
        let html = try String(contentsOfFile: index, encoding: .utf8)
        try expectTableOnce(html, table: LoadBalancingExperiment.textTable(rows), plots: 2)
        #expect(html.contains("completion is the mean over the seeds</p>\n<p class=\"summary\">elephants: "))
    }
}

import Foundation
import Testing
@testable import SluiceML

/// The experiments' report folders: the summary (the table and the lines under it) is plain
/// text that index.html escapes and sets in a `<pre>` once, so a browser shows the table, not
/// `<pre>` and `&lt;` written out.
@Suite struct ExperimentReportIndexTests {
    /// A fresh folder under the temporary directory, removed by the caller.
    func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-experiment-report-\(UUID().uuidString)").path
    }

    /// The one `<pre>` of `html` and what it holds; records an issue when there is not exactly one.
    func preformatted(_ html: String) -> String? {
        let parts = html.components(separatedBy: "<pre>")
        #expect(parts.count == 2, "expected one <pre> in index.html, found \(parts.count - 1)")
        guard parts.count == 2, let end = parts[1].range(of: "</pre>") else { return nil }
        return String(parts[1][..<end.lowerBound])
    }

    func expectMarkupWrittenOnce(_ html: String, table: String) throws {
        #expect(!html.contains("&lt;pre") && !html.contains("&lt;br") && !html.contains("&amp;lt;"))
        let pre = try #require(preformatted(html))
        #expect(!pre.contains("<pre>") && !pre.contains("<br>"))
        #expect(pre.hasPrefix(table + "\n"), "the table should open the summary: \(pre.prefix(300))")
    }

    @Test func anAggregationExperimentsIndexShowsItsTableOnce() throws {
        var s = ExperimentSettings()
        s.scale = 0.01
        let rows = try Experiments.run("ina-e3", s)
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try ExperimentReport.write("ina-e3", rows: rows, summary: ["switchml < ring & tree"], to: dir)
        let html = try String(contentsOfFile: index, encoding: .utf8)
        try expectMarkupWrittenOnce(html, table: ExperimentReport.table(rows))
        // A summary line is escaped, once.
        #expect(html.contains("switchml &lt; ring &amp; tree</pre>"))
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
        try expectMarkupWrittenOnce(html, table: LoadBalancingExperiment.table(rows))
        #expect(html.contains("completion is the mean over the seeds\nelephants: "))
    }
}

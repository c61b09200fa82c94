import Foundation
import Testing
import SluiceReports

private func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-report-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct ReportWriterTests {
    @Test func csvQuotesOnlyWhatNeedsIt() {
        var csv = CSVWriter(header: ["name", "value"])
        csv.append(["plain", "1"])
        csv.append(["a,b", "say \"hi\""])
        csv.append(["line\nbreak", ""])
        #expect(csv.text == "name,value\nplain,1\n\"a,b\",\"say \"\"hi\"\"\"\n\"line\nbreak\",\n")
        #expect(csv.rowCount == 3)
    }

    @Test func textTableAlignsNumbersRight() {
        var t = TextTable(header: ["link", "packets", "rate"])
        t.append(["s1:1-h1", "12", "45.0 Gb/s"])
        t.append(["s1:2-h2", "1234", "1.5 Gb/s"])
        #expect(t.render() == """
        link     packets       rate
        -------  -------  ---------
        s1:1-h1       12  45.0 Gb/s
        s1:2-h2     1234   1.5 Gb/s

        """)
    }

    @Test func formatters() {
        #expect(formatRate(bitsPerSecond: 45e9) == "45.0 Gb/s")
        #expect(formatRate(bitsPerSecond: 1500) == "1.5 kb/s")
        #expect(formatRate(bitsPerSecond: 999.96e6) == "1.0 Gb/s")
        #expect(formatRate(bitsPerSecond: 0) == "0.0 b/s")
        #expect(formatBytes(4 * 1_048_576) == "4.0 MiB")
        #expect(formatBytes(512) == "512 B")
        #expect(formatBytes(1536) == "1.5 KiB")
        #expect(formatBytes(UInt64(3) << 40) == "3.0 TiB")
        #expect(formatTime(picoseconds: 1_234_000_000) == "1.234 ms")
        #expect(formatTime(picoseconds: 1_234_567_890) == "1.235 ms")
        #expect(formatTime(picoseconds: 320_000) == "320 ns")
        #expect(formatTime(picoseconds: 1_500_000) == "1.5 us")
        #expect(formatTime(picoseconds: 2_000_000_000_000) == "2 s")
        #expect(formatTime(picoseconds: 999_999_600) == "1 ms")
        #expect(formatTime(picoseconds: 5) == "5 ps")
        #expect(formatTime(picoseconds: 0) == "0 s")
        #expect(formatTime(picoseconds: -320_500) == "-320.5 ns")
    }

    @Test func jsonHasSortedKeysAndIsPretty() throws {
        struct Summary: Encodable { let zeta: Int; let alpha: String }
        let s = try ReportJSON.string(Summary(zeta: 1, alpha: "a/b"))
        #expect(s.hasSuffix("}\n"))
        #expect(s.contains("\n"))
        let a = try #require(s.range(of: "alpha")), z = try #require(s.range(of: "zeta"))
        #expect(a.lowerBound < z.lowerBound)
        #expect(s.contains("\"a/b\""))
    }

    @Test func reportFolderWritesAnIndexThatShowsPlotsAndLinksData() throws {
        let dir = try temporaryDirectory() + "/report"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        var report = try ReportWriter(directory: dir, title: "Run <1>")
        let plot = LinePlot(title: "q", xLabel: "t", yLabel: "B", series: [(name: "q", points: [(x: 0, y: 1), (x: 1, y: 2)])])
        try report.write(svg: plot.svg(), name: "queue depth.svg", caption: "Queue depth")
        var csv = CSVWriter(header: ["a"])
        csv.append(["1"])
        try report.write(csv: csv, name: "flows.csv", description: "per flow")
        try report.writeJSON(["k": 1], name: "summary.json", description: "")
        var summary = ReportSummary(text: "a & b\n")
        summary.add(table: TextTable(header: ["link", "packets"], rows: [["s1:1", "12"], ["<h1>", "3"]]))
        report.setSummary(summary)
        let index = try report.writeIndex()

        let html = try String(contentsOfFile: index, encoding: .utf8)
        #expect(html.contains("<title>Run &lt;1&gt;</title>"))
        // The plot inline (saveable from its link), its clip path renamed to be unique on the page.
        #expect(html.contains("<figure id=\"plot-1\">\n<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(html.contains("id=\"plot-area-1\"") && html.contains("url(#plot-area-1)") && !html.contains("<?xml"))
        #expect(html.contains("<figcaption>Queue depth <span class=\"files\">(<a href=\"queue%20depth.svg\">SVG</a>)</span></figcaption>"))
        #expect(html.contains("<a href=\"flows.csv\">flows.csv</a> &mdash; per flow"))
        #expect(html.contains("<a href=\"summary.json\">summary.json</a></li>"))
        #expect(html.contains("<p class=\"summary\">a &amp; b</p>"))
        #expect(html.contains("<thead><tr><th>link</th><th class=\"num\">packets</th></tr></thead>\n<tbody>\n<tr><td>s1:1</td><td class=\"num\">12</td></tr>\n<tr><td>&lt;h1&gt;</td><td class=\"num\">3</td></tr>"))
        #expect(!html.contains("<pre>"))
        // Offline: no address but the SVG namespace.
        #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"))
        #expect(summary.text == "a & b\nlink  packets\n----  -------\ns1:1       12\n<h1>        3\n\n")
        for f in ["queue depth.svg", "flows.csv", "summary.json", "index.html"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f))
        }
        #expect(try String(contentsOfFile: dir + "/flows.csv", encoding: .utf8) == "a\n1\n")
    }
}

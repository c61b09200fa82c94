import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import SluiceEmulator
import SluicePcapFiles
import SluiceTesting

private func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-output-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
private func le16(_ v: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }

private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// "1.234567890" -> (1, 234567890), whatever the number of decimals.
private func secondsAndNanos(_ s: Substring) -> (Int, Int)? {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 2, let sec = Int(parts[0]) else { return nil }
    let digits = String(parts[1].prefix(9))
    guard let frac = Int(digits.padding(toLength: 9, withPad: "0", startingAt: 0)) else { return nil }
    return (sec, frac)
}

@Suite struct PcapWriterTests {
    @Test func globalAndRecordHeadersAreByteExact() throws {
        try #require(UInt32(1).littleEndian == 1, "expected bytes below are little-endian")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/two.pcap"
        let first = (0..<60).map { UInt8($0) }
        let second = (0..<100).map { UInt8(255 - $0) }
        let w = try PcapWriter(path: path, snaplen: 64)
        first.withUnsafeBytes { w.write(timestampPicoseconds: 1_234_567_890_123, bytes: $0) }
        second.withUnsafeBytes { w.write(timestampPicoseconds: 5_000_000_999_999, bytes: $0) }
        #expect(w.packetsWritten == 2)
        #expect(w.bytesWritten == 160)
        w.close()
        #expect(w.error == nil)

        var expected: [UInt8] = [0x4d, 0x3c, 0xb2, 0xa1] + le16(2) + le16(4) + le32(0) + le32(0) + le32(64) + le32(1)
        expected += le32(1) + le32(234_567_890) + le32(60) + le32(60) + first
        expected += le32(5) + le32(999) + le32(64) + le32(100) + Array(second.prefix(64))
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written.count == expected.count)
        #expect(written == expected)

        guard let tcpdump = findTool("tcpdump") else {
            if let tshark = findTool("tshark") {
                let r = try run(tshark, ["-r", path, "-T", "fields", "-e", "frame.time_epoch"])
                #expect(r.status == 0, "tshark: \(r.err)")
                let stamps = r.out.split(separator: "\n").compactMap { secondsAndNanos($0) }
                #expect(stamps.map(\.0) == [1, 5])
                #expect(stamps.map(\.1) == [234_567_890, 999])
            } else {
                print("PcapWriterTests: neither tcpdump nor tshark found; skipping the read-back check")
            }
            return
        }
        let r = try run(tcpdump, ["-nn", "-tt", "--time-stamp-precision=nano", "-r", path])
        #expect(r.status == 0, "tcpdump: \(r.err)")
        // Unknown ethertypes come with an indented hex dump; records start at column 0.
        let lines = r.out.split(separator: "\n").filter { !($0.first?.isWhitespace ?? true) }
        #expect(lines.count == 2, "tcpdump printed: \(r.out)")
        let stamps = lines.compactMap { $0.split(separator: " ").first.flatMap(secondsAndNanos) }
        #expect(stamps.map(\.0) == [1, 5])
        #expect(stamps.map(\.1) == [234_567_890, 999])
    }

    @Test func flushesWhenTheBufferFillsAndCountsEverything() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/many.pcap"
        let frame = [UInt8](repeating: 0xab, count: 1500)
        do {
            let w = try PcapWriter(path: path, bufferSize: 4096)
            frame.withUnsafeBytes { bytes in
                for i in 0..<1000 { w.write(timestampPicoseconds: Int64(i) * 1_000_000, bytes: bytes) }
            }
            #expect(w.packetsWritten == 1000)
            #expect(w.bytesWritten == 1_500_000)
        } // deinit flushes and closes
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == 24 + 1000 * (16 + 1500))
    }

    @Test func anUnwritablePathIsNamedInTheError() {
        let path = "/nonexistent-sluice-dir/x.pcap"
        do {
            _ = try PcapWriter(path: path)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "cannot create /nonexistent-sluice-dir/x.pcap: No such file or directory")
        }
    }
}

@Suite struct SVGPlotTests {
    @Test func niceTicksUseOneTwoFiveSteps() {
        #expect(niceTicks(min: 0, max: 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(niceTicks(min: 0, max: 7) == [0, 2, 4, 6, 8])
        #expect(niceTicks(min: 3, max: 97) == [0, 20, 40, 60, 80, 100])
        #expect(niceTicks(min: -12, max: 37) == [-20, -10, 0, 10, 20, 30, 40])
        #expect(niceTicks(min: 0.013, max: 0.047, count: 4) == [0.01, 0.02, 0.03, 0.04, 0.05])
        #expect(niceTicks(min: 0, max: 1.2e-3, count: 6) == [0, 0.0002, 0.0004, 0.0006, 0.0008, 0.001, 0.0012])
        #expect(niceTicks(min: 0, max: 45e9) == [0, 10e9, 20e9, 30e9, 40e9, 50e9])
        #expect(niceTicks(min: 1500, max: 1500) == [500, 1000, 1500, 2000, 2500])
        #expect(niceTicks(min: 0, max: 0) == [-1, -0.5, 0, 0.5, 1])
    }

    @Test func tickLabelsAreReadable() {
        #expect(AxisFormat.number.label(1500, step: 500) == "1.5k")
        #expect(AxisFormat.number.label(2_000_000, step: 1_000_000) == "2M")
        #expect(AxisFormat.number.label(250, step: 50) == "250")
        #expect(AxisFormat.number.label(0.25, step: 0.05) == "0.25")
        #expect(AxisFormat.number.label(40e9, step: 10e9) == "40G")
        #expect(AxisFormat.seconds.label(5e-7, step: 5e-7) == "500 ns")
        #expect(AxisFormat.seconds.label(1.5e-6, step: 5e-7) == "1.5 us")
        #expect(AxisFormat.seconds.label(0.0012, step: 0.0002) == "1.2 ms")
        #expect(AxisFormat.seconds.label(2, step: 1) == "2 s")
        #expect(AxisFormat.seconds.label(0, step: 1e-6) == "0")
        #expect(AxisFormat.percent.label(0.25, step: 0.05) == "25%")
    }

    #if canImport(FoundationXML) || os(macOS)
    private func parse(_ svg: String) throws -> XMLDocument { try XMLDocument(xmlString: svg, options: []) }

    private func elements(_ doc: XMLDocument, _ name: String) throws -> [XMLNode] {
        try doc.nodes(forXPath: "//*[local-name()='\(name)']")
    }

    /// Attribute values by XPath: FoundationXML's `attribute(forName:)` misses them on
    /// elements in the SVG namespace.
    private func attribute(_ doc: XMLDocument, _ element: String, _ name: String) throws -> [String] {
        try doc.nodes(forXPath: "//*[local-name()='\(element)']/@\(name)").compactMap(\.stringValue)
    }

    @Test func lineChartIsValidXMLWithOneLinePerSeriesAndALegend() throws {
        let plot = LinePlot(
            title: "Queue depth <s1> & friends", xLabel: "time", yLabel: "bytes",
            series: [
                (name: "s1:1 -> h1", points: [(x: 0, y: 0), (x: 1e-6, y: 1500), (x: 2e-6, y: 0)]),
                (name: "a<b & \"c\"", points: [(x: 0, y: 3000), (x: 2e-6, y: 4500)]),
            ],
            step: true, xFormat: .seconds
        )
        let svg = plot.svg()
        let doc = try parse(svg)
        #expect(doc.rootElement()?.name == "svg")
        #expect(doc.rootElement()?.uri == "http://www.w3.org/2000/svg")
        #expect(try elements(doc, "polyline").count == 2)
        let texts = try elements(doc, "text").compactMap(\.stringValue)
        #expect(texts.contains("s1:1 -> h1"))
        #expect(texts.contains("a<b & \"c\""))
        #expect(texts.contains("Queue depth <s1> & friends"))
        #expect(texts.contains("1 us"))
        #expect(texts.contains("5k"))
    }

    @Test func emptySeriesSayNoData() throws {
        for plot in [
            LinePlot(title: "t", xLabel: "x", yLabel: "y", series: []),
            LinePlot(title: "t", xLabel: "x", yLabel: "y", series: [(name: "empty", points: [])]),
        ] {
            let doc = try parse(plot.svg())
            #expect(try elements(doc, "text").compactMap(\.stringValue).contains("no data"))
            #expect(try elements(doc, "polyline").isEmpty)
        }
        let bars = try parse(BarPlot(title: "t", valueLabel: "v", bars: []).svg())
        #expect(try elements(bars, "text").compactMap(\.stringValue).contains("no data"))
    }

    @Test func barChartsTurnHorizontalWithManyCategories() throws {
        let few = BarPlot(title: "util", valueLabel: "utilization",
                          bars: [(category: "l1", value: 0.5), (category: "l2", value: 0.9)], valueFormat: .percent)
        #expect(!few.isHorizontal)
        let fewDoc = try parse(few.svg())
        #expect(try elements(fewDoc, "rect").count == 3) // background + 2 bars
        #expect(try elements(fewDoc, "text").compactMap(\.stringValue).contains("100%"))

        let many = BarPlot(title: "util", valueLabel: "utilization",
                           bars: (0..<40).map { (category: "s\($0):1 -> s\($0 + 1):2", value: Double($0) / 40) })
        #expect(many.isHorizontal)
        let svg = many.svg(width: 800, height: 420)
        let doc = try parse(svg)
        #expect(try elements(doc, "rect").count == 41)
        let height = try attribute(doc, "svg", "height").first.flatMap { Int($0) } ?? 0
        #expect(height >= 40 * 18)
    }

    @Test func downsamplingKeepsTheSpike() throws {
        var points: [LinePlot.Point] = (0..<100_000).map { (x: Double($0), y: Double($0 % 7)) }
        points[54_321].y = 1000
        let reduced = LinePlot.downsample(points, xMin: 0, xMax: 99_999, columns: 700)
        #expect(reduced.count <= 1400)
        #expect(reduced.contains { $0.x == 54_321 && $0.y == 1000 })
        #expect(zip(reduced, reduced.dropFirst()).allSatisfy { $0.x < $1.x })

        let plot = LinePlot(title: "q", xLabel: "x", yLabel: "y", series: [(name: "q", points: points)])
        let doc = try parse(plot.svg())
        let coords = try #require(try attribute(doc, "polyline", "points").first).split(separator: " ")
        #expect(coords.count <= 1400)
        // y ticks end at 1000, so the spike touches the top of the plot area (y = 40).
        #expect(coords.contains { $0.hasSuffix(",40") })
    }
    #endif
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
        report.setSummary("a & b")
        let index = try report.writeIndex()

        let html = try String(contentsOfFile: index, encoding: .utf8)
        #expect(html.contains("<title>Run &lt;1&gt;</title>"))
        #expect(html.contains("<img src=\"queue%20depth.svg\" alt=\"Queue depth\">"))
        #expect(html.contains("<a href=\"flows.csv\">flows.csv</a> &mdash; per flow"))
        #expect(html.contains("<a href=\"summary.json\">summary.json</a></li>"))
        #expect(html.contains("<pre>a &amp; b</pre>"))
        for f in ["queue depth.svg", "flows.csv", "summary.json", "index.html"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f))
        }
        #expect(try String(contentsOfFile: dir + "/flows.csv", encoding: .utf8) == "a\n1\n")
    }
}

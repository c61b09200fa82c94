import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import SluiceReports

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
    }

    /// Samples denser than the pixels: a band from the smallest to the largest sample of each
    /// pixel column (the spike survives) and a line through their mean, not a solid zig-zag.
    @Test func denseSeriesDrawAsAnEnvelopeWithAMeanLine() throws {
        var points: [LinePlot.Point] = (0..<100_000).map { (x: Double($0), y: Double($0 % 7)) }
        points[54_321].y = 1000
        let plot = LinePlot(title: "q", xLabel: "x", yLabel: "y", series: [(name: "q", points: points)])
        let doc = try parse(plot.svg())
        let band = try #require(try attribute(doc, "polygon", "points").first).split(separator: " ")
        // 708 pixel columns wide: one upper and one lower corner per column.
        #expect(band.count == 2 * 708, "\(band.count)")
        // y ticks end at 1000, so the spike touches the top of the plot area (y = 40).
        #expect(band.contains { $0.hasSuffix(",40") })
        let line = try #require(try attribute(doc, "polyline", "points").first).split(separator: " ")
        #expect(line.count == 708)
        // Mean of 0...6 over a column is near 3, far below the spike: the line stays low.
        #expect(!line.contains { $0.hasSuffix(",40") })
        #expect(try elements(doc, "text").compactMap(\.stringValue).contains { $0.hasPrefix("shaded: smallest to largest") })
    }

    @Test func logAxesSpacePowersOfTwoEvenlyWithMarkersAndAReference() throws {
        #expect(logTicks(min: 2, max: 32, scale: .log2) == [2, 4, 8, 16, 32])
        #expect(logTicks(min: 3, max: 100, scale: .log2) == [2, 4, 8, 16, 32, 64, 128])
        #expect(logTicks(min: 0.01, max: 1, scale: .log10) == [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])
        let plot = LinePlot(title: "t", xLabel: "workers", yLabel: "time (ms)",
                            series: [(name: "ring", points: [2, 4, 8, 16, 32].map { (x: $0, y: 2 * ($0 - 1) / $0) })],
                            references: [(name: "ring bound", points: [(x: 2, y: 1), (x: 32, y: 1.9375)], colourOf: 0)],
                            xScale: .log2)
        let doc = try parse(plot.svg())
        let tickX = try doc.nodes(forXPath: "//*[local-name()='g'][@class='ticks']/*[local-name()='text'][@text-anchor='middle']/@x").compactMap { $0.stringValue.flatMap(Double.init) }
        #expect(tickX.count == 5)
        let gaps = zip(tickX, tickX.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { abs($0 - gaps[0]) < 0.2 }, "\(tickX)")
        #expect(try elements(doc, "circle").count == 5 + 1) // a marker per point, one in the legend
        #expect(try attribute(doc, "polyline", "class") == ["reference"])
        let texts = try elements(doc, "text").compactMap(\.stringValue)
        #expect(texts.contains("ring bound") && texts.contains("workers (log scale)"))
    }

    @Test func barsShowRangesBoundsAndMissingValues() throws {
        let plot = BarPlot(title: "t", valueLabel: "time (ms)",
                           bars: [(category: "a", value: 2), (category: "b", value: .nan)],
                           ranges: [1.5...3, nil], bounds: [1, nil], boundLabel: "bound S/(eta B)", missingLabel: "did not finish")
        let doc = try parse(plot.svg())
        #expect(try attribute(doc, "path", "class") == ["range"])
        #expect(try attribute(doc, "line", "class").filter { $0 == "bound" }.count == 1)
        #expect(try attribute(doc, "rect", "class") == ["missing"])
        let texts = try elements(doc, "text").compactMap(\.stringValue)
        #expect(texts.contains("did not finish") && texts.contains("bound S/(eta B)") && texts.contains("min to max over the seeds"))
        // The value axis reaches the top of the range.
        #expect(texts.contains("3"))
    }
    #endif
}

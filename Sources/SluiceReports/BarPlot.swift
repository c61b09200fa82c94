/// Horizontal or vertical bars, one per category (link utilization per link, bytes per flow).
/// Many categories or long names turn the bars horizontal, and the height then grows to fit.
///
/// A bar can carry a range (min to max over seeds, drawn as a whisker) and a bound the
/// experiment claims (drawn as a dashed mark across the bar); a bar whose value is missing (NaN:
/// a flow that never completed) is marked with `missingLabel` in its place, not left out.
public struct BarPlot {
    public var title: String
    public var valueLabel: String
    public var bars: [(category: String, value: Double)]
    public var valueFormat: AxisFormat
    /// nil: horizontal when there are more than 12 categories or a name is long.
    public var horizontal: Bool?
    /// Per bar (same order; empty: none): the range of the value over seeds.
    public var ranges: [ClosedRange<Double>?]
    public var rangeLabel: String
    /// Per bar (same order; empty: none): the bound the experiment claims for it.
    public var bounds: [Double?]
    public var boundLabel: String
    public var missingLabel: String

    public init(title: String, valueLabel: String, bars: [(category: String, value: Double)],
                valueFormat: AxisFormat = .number, horizontal: Bool? = nil,
                ranges: [ClosedRange<Double>?] = [], rangeLabel: String = "min to max over the seeds",
                bounds: [Double?] = [], boundLabel: String = "bound", missingLabel: String = "missing") {
        self.title = title; self.valueLabel = valueLabel; self.bars = bars
        self.valueFormat = valueFormat; self.horizontal = horizontal
        self.ranges = ranges; self.rangeLabel = rangeLabel
        self.bounds = bounds; self.boundLabel = boundLabel; self.missingLabel = missingLabel
    }

    var isHorizontal: Bool {
        horizontal ?? (bars.count > 12 || bars.contains { $0.category.count > 10 })
    }

    /// A standalone SVG document. `height` is a minimum for horizontal bars (14 px a bar);
    /// a legend (ranges, bounds, missing bars) adds its rows below.
    public func svg(width: Int = 800, height: Int = 420) -> String {
        guard !bars.isEmpty else { return noDataSVG(width: width, height: height, title: title) }
        let ranges = bars.indices.map { $0 < self.ranges.count ? self.ranges[$0] : nil }
        let bounds = bars.indices.map { $0 < self.bounds.count ? self.bounds[$0].flatMap { $0.isFinite ? $0 : nil } : nil }
        var extent = bars.map(\.value).filter(\.isFinite)
        extent += ranges.compactMap { $0 }.flatMap { [$0.lowerBound, $0.upperBound] }.filter(\.isFinite)
        extent += bounds.compactMap { $0 }
        let ticks = niceTicks(min: min(0, extent.min() ?? 0), max: max(0, extent.max() ?? 1), count: 5)
        let v0 = ticks.first!, v1 = ticks.last!, tickStep = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let colour = plotPalette[0]
        let horizontal = isHorizontal

        // Geometry along two axes: the value axis (pv) and the category axis (band).
        let left: Double, right: Double, top = 40.0, bottom: Double, h: Int
        if horizontal {
            let nameWidth = min(260, 12 + (bars.map { textWidth($0.category) }.max() ?? 0))
            h = max(height, Int(40 + Double(bars.count) * 18 + 52))
            left = nameWidth + 8; right = Double(width) - 70; bottom = Double(h) - 48
        } else {
            h = height
            left = 72; right = Double(width) - 16; bottom = Double(h) - 48
        }
        func pv(_ v: Double) -> Double {
            horizontal ? left + (v - v0) / (v1 - v0) * (right - left) : bottom - (v - v0) / (v1 - v0) * (bottom - top)
        }
        let span = horizontal ? bottom - top : right - left
        let band = span / Double(bars.count)
        let start = horizontal ? top : left
        /// An SVG x,y for (category coordinate, value coordinate).
        func at(_ c: Double, _ v: Double) -> String { horizontal ? "\(svgNumber(v)),\(svgNumber(c))" : "\(svgNumber(c)),\(svgNumber(v))" }
        func box(_ c0: Double, _ c1: Double, _ a: Double, _ b: Double) -> String {
            let lo = min(a, b), len = max(abs(b - a), 0)
            return horizontal
                ? "x=\"\(svgNumber(lo))\" y=\"\(svgNumber(c0))\" width=\"\(svgNumber(len))\" height=\"\(svgNumber(c1 - c0))\""
                : "x=\"\(svgNumber(c0))\" y=\"\(svgNumber(lo))\" width=\"\(svgNumber(c1 - c0))\" height=\"\(svgNumber(len))\""
        }

        var body = "<g class=\"grid\" stroke=\"#e4e4e4\">\n"
        for t in ticks {
            body += horizontal
                ? "<line x1=\"\(svgNumber(pv(t)))\" y1=\"\(svgNumber(top))\" x2=\"\(svgNumber(pv(t)))\" y2=\"\(svgNumber(bottom))\"/>\n"
                : "<line x1=\"\(svgNumber(left))\" y1=\"\(svgNumber(pv(t)))\" x2=\"\(svgNumber(right))\" y2=\"\(svgNumber(pv(t)))\"/>\n"
        }
        body += "</g>\n<g class=\"ticks\" fill=\"#333\">\n"
        for t in ticks {
            let label = xmlEscape(valueFormat.label(t, step: tickStep))
            body += horizontal
                ? "<text x=\"\(svgNumber(pv(t)))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(label)</text>\n"
                : "<text x=\"\(svgNumber(left - 6))\" y=\"\(svgNumber(pv(t) + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        body += "</g>\n<g class=\"bars\">\n"
        var marks = ""
        var anyMissing = false
        for (i, b) in bars.enumerated() {
            let c0 = start + Double(i) * band, mid = c0 + band / 2
            let name = xmlEscape(b.category)
            body += horizontal
                ? "<text x=\"\(svgNumber(left - 6))\" y=\"\(svgNumber(mid + 4))\" text-anchor=\"end\">\(name)</text>\n"
                : "<text x=\"\(svgNumber(mid))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(name)</text>\n"
            guard b.value.isFinite else {
                anyMissing = true
                // In the bar's place: a hollow dashed box on the axis and the word.
                let z = pv(0), len = horizontal ? 34.0 : -34.0
                body += "<rect class=\"missing\" \(box(c0 + band * 0.15, c0 + band * 0.85, z, z + len)) fill=\"none\" stroke=\"#B00\" stroke-dasharray=\"3,2\"><title>\(name): \(xmlEscape(missingLabel))</title></rect>\n"
                body += horizontal
                    ? "<text x=\"\(svgNumber(z + 40))\" y=\"\(svgNumber(mid + 4))\" fill=\"#B00\" font-size=\"11\">\(xmlEscape(missingLabel))</text>\n"
                    : "<text x=\"\(svgNumber(mid))\" y=\"\(svgNumber(z - 40))\" fill=\"#B00\" font-size=\"11\" text-anchor=\"middle\">\(xmlEscape(missingLabel))</text>\n"
                continue
            }
            let v = b.value
            let text = xmlEscape(valueFormat.label(v, step: tickStep / 100))
            body += "<rect \(box(c0 + band * 0.15, c0 + band * 0.85, pv(0), pv(v))) fill=\"\(colour)\"><title>\(name): \(text)</title></rect>\n"
            if horizontal {
                let end = max(pv(v), ranges[i].map { pv($0.upperBound) } ?? 0, bounds[i].map(pv) ?? 0)
                body += "<text x=\"\(svgNumber(end + 4))\" y=\"\(svgNumber(mid + 4))\" fill=\"#333\" font-size=\"11\">\(text)</text>\n"
            }
            if let r = ranges[i] {
                let a = pv(r.lowerBound), z = pv(r.upperBound), w = band * 0.12
                marks += "<path class=\"range\" d=\"M\(at(mid - w, a))L\(at(mid + w, a))M\(at(mid, a))L\(at(mid, z))M\(at(mid - w, z))L\(at(mid + w, z))\" stroke=\"#222\" stroke-width=\"1.3\" fill=\"none\"><title>\(name): \(xmlEscape(valueFormat.label(r.lowerBound, step: tickStep / 100))) to \(xmlEscape(valueFormat.label(r.upperBound, step: tickStep / 100)))</title></path>\n"
            }
            if let bound = bounds[i] {
                let p = pv(bound)
                marks += "<line class=\"bound\" x1=\"\(horizontal ? svgNumber(p) : svgNumber(c0 + band * 0.08))\" y1=\"\(horizontal ? svgNumber(c0 + band * 0.08) : svgNumber(p))\" x2=\"\(horizontal ? svgNumber(p) : svgNumber(c0 + band * 0.92))\" y2=\"\(horizontal ? svgNumber(c0 + band * 0.92) : svgNumber(p))\" stroke=\"#000\" stroke-width=\"2.5\" stroke-dasharray=\"4,2\"><title>\(name): \(xmlEscape(boundLabel)) \(xmlEscape(valueFormat.label(bound, step: tickStep / 100)))</title></line>\n"
            }
        }
        body += "</g>\n<g class=\"marks\">\n" + marks + "</g>\n"
        body += horizontal
            ? "<line x1=\"\(svgNumber(pv(0)))\" y1=\"\(svgNumber(top))\" x2=\"\(svgNumber(pv(0)))\" y2=\"\(svgNumber(bottom))\" stroke=\"#333\"/>\n"
            : "<line x1=\"\(svgNumber(left))\" y1=\"\(svgNumber(pv(0)))\" x2=\"\(svgNumber(right))\" y2=\"\(svgNumber(pv(0)))\" stroke=\"#333\"/>\n"
        body += horizontal
            ? "<text x=\"\(svgNumber((left + right) / 2))\" y=\"\(svgNumber(bottom + 36))\" text-anchor=\"middle\">\(xmlEscape(valueLabel))</text>\n"
            : "<text transform=\"translate(16 \(svgNumber((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(valueLabel))</text>\n"

        var entries: [(name: String, swatch: LegendSwatch)] = []
        if ranges.contains(where: { $0 != nil }) { entries.append((rangeLabel, .whisker)) }
        if bounds.contains(where: { $0 != nil }) { entries.append((boundLabel, .bound)) }
        if anyMissing { entries.append(("dashed box: " + missingLabel, .note)) }
        let legendTop = horizontal ? bottom + 46 : bottom + 30
        let (legendSVG, legendH) = legendBelow(entries, left: horizontal ? 12 : left, top: legendTop, width: Double(width) - 24)
        let totalH = h + Int(legendH.rounded(.up)) + (entries.isEmpty || horizontal ? 0 : 4)
        return svgOpen(width: width, height: totalH, title: title) + body + legendSVG + "</svg>\n"
    }
}

/// Horizontal or vertical bars, one per category (link utilization per link, bytes per flow).
/// Many categories or long names turn the bars horizontal, and the height then grows to fit.
public struct BarPlot {
    public var title: String
    public var valueLabel: String
    public var bars: [(category: String, value: Double)]
    public var valueFormat: AxisFormat
    /// nil: horizontal when there are more than 12 categories or a name is long.
    public var horizontal: Bool?

    public init(title: String, valueLabel: String, bars: [(category: String, value: Double)],
                valueFormat: AxisFormat = .number, horizontal: Bool? = nil) {
        self.title = title; self.valueLabel = valueLabel; self.bars = bars
        self.valueFormat = valueFormat; self.horizontal = horizontal
    }

    var isHorizontal: Bool {
        horizontal ?? (bars.count > 12 || bars.contains { $0.category.count > 10 })
    }

    /// A standalone SVG document. `height` is a minimum for horizontal bars (14 px a bar).
    public func svg(width: Int = 800, height: Int = 420) -> String {
        let values = bars.map { $0.value.isFinite ? $0.value : 0 }
        guard !bars.isEmpty else { return noDataSVG(width: width, height: height, title: title) }
        let ticks = niceTicks(min: min(0, values.min()!), max: max(0, values.max()!), count: 5)
        let v0 = ticks.first!, v1 = ticks.last!, tickStep = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let color = plotPalette[0]

        if isHorizontal {
            let nameWidth = min(220, 12 + (bars.map { textWidth($0.category) }.max() ?? 0))
            let rowH = 18.0
            let h = max(height, Int(40 + Double(bars.count) * rowH + 52))
            let left = nameWidth + 8, right = Double(width) - 60, top = 40.0, bottom = Double(h) - 48
            func px(_ v: Double) -> Double { left + (v - v0) / (v1 - v0) * (right - left) }
            let band = (bottom - top) / Double(bars.count)
            var out = svgOpen(width: width, height: h, title: title)
            out += "<g class=\"grid\" stroke=\"#e4e4e4\">\n"
            for t in ticks { out += "<line x1=\"\(svgNumber(px(t)))\" y1=\"\(svgNumber(top))\" x2=\"\(svgNumber(px(t)))\" y2=\"\(svgNumber(bottom))\"/>\n" }
            out += "</g>\n<g class=\"ticks\" fill=\"#333\">\n"
            for t in ticks { out += "<text x=\"\(svgNumber(px(t)))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(xmlEscape(valueFormat.label(t, step: tickStep)))</text>\n" }
            out += "</g>\n<g class=\"bars\">\n"
            for (i, b) in bars.enumerated() {
                let y = top + Double(i) * band, v = values[i]
                let a = px(min(0, v)), z = px(max(0, v))
                out += "<text x=\"\(svgNumber(left - 6))\" y=\"\(svgNumber(y + band / 2 + 4))\" text-anchor=\"end\">\(xmlEscape(b.category))</text>\n"
                out += "<rect x=\"\(svgNumber(a))\" y=\"\(svgNumber(y + band * 0.15))\" width=\"\(svgNumber(max(z - a, 0)))\" height=\"\(svgNumber(band * 0.7))\" fill=\"\(color)\"><title>\(xmlEscape(b.category)): \(xmlEscape(valueFormat.label(v, step: tickStep / 100)))</title></rect>\n"
                out += "<text x=\"\(svgNumber(z + 4))\" y=\"\(svgNumber(y + band / 2 + 4))\" fill=\"#333\" font-size=\"11\">\(xmlEscape(valueFormat.label(v, step: tickStep / 100)))</text>\n"
            }
            out += "</g>\n"
            out += "<line x1=\"\(svgNumber(px(0)))\" y1=\"\(svgNumber(top))\" x2=\"\(svgNumber(px(0)))\" y2=\"\(svgNumber(bottom))\" stroke=\"#333\"/>\n"
            out += "<text x=\"\(svgNumber((left + right) / 2))\" y=\"\(h - 10)\" text-anchor=\"middle\">\(xmlEscape(valueLabel))</text>\n"
            out += "</svg>\n"
            return out
        }

        let left = 72.0, right = Double(width) - 16, top = 40.0, bottom = Double(height) - 48
        func py(_ v: Double) -> Double { bottom - (v - v0) / (v1 - v0) * (bottom - top) }
        let band = (right - left) / Double(bars.count)
        var out = svgOpen(width: width, height: height, title: title)
        out += "<g class=\"grid\" stroke=\"#e4e4e4\">\n"
        for t in ticks { out += "<line x1=\"\(svgNumber(left))\" y1=\"\(svgNumber(py(t)))\" x2=\"\(svgNumber(right))\" y2=\"\(svgNumber(py(t)))\"/>\n" }
        out += "</g>\n<g class=\"ticks\" fill=\"#333\">\n"
        for t in ticks { out += "<text x=\"\(svgNumber(left - 6))\" y=\"\(svgNumber(py(t) + 4))\" text-anchor=\"end\">\(xmlEscape(valueFormat.label(t, step: tickStep)))</text>\n" }
        out += "</g>\n<g class=\"bars\">\n"
        for (i, b) in bars.enumerated() {
            let x = left + Double(i) * band, v = values[i]
            let a = py(max(0, v)), z = py(min(0, v))
            out += "<rect x=\"\(svgNumber(x + band * 0.15))\" y=\"\(svgNumber(a))\" width=\"\(svgNumber(band * 0.7))\" height=\"\(svgNumber(max(z - a, 0)))\" fill=\"\(color)\"><title>\(xmlEscape(b.category)): \(xmlEscape(valueFormat.label(v, step: tickStep / 100)))</title></rect>\n"
            out += "<text x=\"\(svgNumber(x + band / 2))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(xmlEscape(b.category))</text>\n"
        }
        out += "</g>\n"
        out += "<line x1=\"\(svgNumber(left))\" y1=\"\(svgNumber(py(0)))\" x2=\"\(svgNumber(right))\" y2=\"\(svgNumber(py(0)))\" stroke=\"#333\"/>\n"
        out += "<text transform=\"translate(16 \(svgNumber((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(valueLabel))</text>\n"
        out += "</svg>\n"
        return out
    }
}

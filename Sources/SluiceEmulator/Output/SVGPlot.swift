import Foundation

/// How an axis labels its values.
public enum AxisFormat: Sendable, Equatable {
    /// Plain numbers with SI suffixes: 250, 1.5k, 2M.
    case number
    /// Seconds, labelled in the unit that fits each tick: 500 ns, 1.5 us, 2 ms, 1 s.
    case seconds
    /// A fraction labelled as a percentage: 0.25 -> 25%.
    case percent

    /// The label of `value` on an axis whose ticks are `step` apart: just enough decimals to
    /// tell neighbouring ticks apart, trailing zeros dropped.
    public func label(_ value: Double, step: Double) -> String {
        if value == 0 { return self == .percent ? "0%" : "0" }
        switch self {
        case .number:
            let scales: [(Double, String)] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
            for (scale, suffix) in scales where abs(value) >= scale {
                return decimal(value / scale, step: step / scale) + suffix
            }
            return decimal(value, step: step)
        case .seconds:
            let scales: [(Double, String)] = [(1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")]
            for (scale, unit) in scales where abs(value) >= scale * 0.999_999 {
                return decimal(value / scale, step: step / scale) + " " + unit
            }
            return decimal(value / 1e-12, step: step / 1e-12) + " ps"
        case .percent:
            return decimal(value * 100, step: step * 100) + "%"
        }
    }

    private func decimal(_ v: Double, step: Double) -> String {
        let digits = step > 0 && step.isFinite ? min(max(0, Int((-log10(step)).rounded(.up))), 6) : 3
        var s = String(format: "%.\(digits)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }
}

/// Axis ticks at 1, 2 or 5 x 10^n, the smallest such step that needs at most about `count`
/// intervals, from the multiple of the step at or below `min` to the one at or above `max`.
/// Values are built as integer x power of ten, so 0.3 prints as 0.3.
public func niceTicks(min lo: Double, max hi: Double, count: Int = 5) -> [Double] {
    guard lo.isFinite, hi.isFinite else { return [0, 1] }
    var lo = lo, hi = hi
    if lo > hi { swap(&lo, &hi) }
    if lo == hi {
        let pad = lo == 0 ? 1 : abs(lo) * 0.5
        lo -= pad; hi += pad
    }
    guard (hi - lo).isFinite else { return [lo, hi] }
    let (mantissa, exponent) = niceStep(range: hi - lo, count: Swift.max(count, 1))
    let step = scaled(Double(mantissa), exponent)
    let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
    guard last - first < 10_000 else { return [lo, hi] }
    return (Int(first)...Int(last)).map { scaled(Double($0 * mantissa), exponent) }
}

/// The step of `niceTicks` as mantissa (1, 2 or 5) and power of ten.
private func niceStep(range: Double, count: Int) -> (Int, Int) {
    let rough = range / Double(count)
    var exponent = Int(log10(rough).rounded(.down))
    let base = scaled(1, exponent)
    // Tolerate rounding: a rough step of 0.19999999 is 0.2.
    let r = rough / base * (1 - 1e-9)
    let mantissa: Int
    if r <= 1 { mantissa = 1 } else if r <= 2 { mantissa = 2 } else if r <= 5 { mantissa = 5 } else { mantissa = 1; exponent += 1 }
    return (mantissa, exponent)
}

private func scaled(_ v: Double, _ exponent: Int) -> Double {
    exponent >= 0 ? v * pow(10, Double(exponent)) : v / pow(10, Double(-exponent))
}

/// Escapes text for XML content and attribute values.
public func xmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // Control characters other than tab and newline are not allowed in XML 1.0.
            if c.value < 0x20 && c != "\t" && c != "\n" { out += " " } else { out.unicodeScalars.append(c) }
        }
    }
    return out
}

/// Paul Tol's "bright" scheme plus black: distinguishable with the common colour-vision
/// deficiencies. Past eight series the colours repeat with a dash pattern.
private let plotPalette = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]
private let plotDashes = ["", "6,3", "2,2", "8,3,2,3"]

/// One decimal place, no allocation beyond the string: SVG coordinates need no more.
private func svgNumber(_ v: Double) -> String {
    guard v.isFinite else { return "0" }
    let tenths = Int((min(max(v, -1e9), 1e9) * 10).rounded())
    let whole = tenths / 10, frac = abs(tenths % 10)
    let sign = tenths < 0 && whole == 0 ? "-" : ""
    return frac == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}

/// Approximate text width for layout (Helvetica-like, 12 px): SVG has no text metrics.
private func textWidth(_ s: String, size: Double = 12) -> Double { Double(s.count) * size * 0.6 }

private func svgOpen(width: Int, height: Int, title: String) -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
    font-family="Helvetica, Arial, sans-serif" font-size="12">
    <title>\(xmlEscape(title))</title>
    <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(xmlEscape(title))</text>

    """
}

/// A line chart of one or more series, for queue depth, throughput and completion times over
/// time. Queue depth changes only at events, so `step` draws it as a step function.
public struct LinePlot {
    public typealias Point = (x: Double, y: Double)
    public typealias Series = (name: String, points: [Point])

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var step: Bool
    public var xFormat: AxisFormat
    public var yFormat: AxisFormat
    /// Start the y axis at zero when all values are positive (depths, rates, times).
    public var yFromZero: Bool
    /// Series longer than this are reduced to min and max per pixel column.
    public var downsampleAbove: Int

    public init(
        title: String, xLabel: String, yLabel: String, series: [Series], step: Bool = false,
        xFormat: AxisFormat = .number, yFormat: AxisFormat = .number, yFromZero: Bool = true,
        downsampleAbove: Int = 4000
    ) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.step = step; self.xFormat = xFormat; self.yFormat = yFormat; self.yFromZero = yFromZero
        self.downsampleAbove = downsampleAbove
    }

    /// A standalone SVG document (opens in a browser).
    public func svg(width: Int = 800, height: Int = 420) -> String {
        let finite = series.map { s in s.points.filter { $0.x.isFinite && $0.y.isFinite } }
        guard finite.contains(where: { !$0.isEmpty }) else {
            return noDataSVG(width: width, height: height, title: title)
        }
        var xMin = Double.infinity, xMax = -Double.infinity, yMin = Double.infinity, yMax = -Double.infinity
        for pts in finite {
            for p in pts {
                xMin = min(xMin, p.x); xMax = max(xMax, p.x); yMin = min(yMin, p.y); yMax = max(yMax, p.y)
            }
        }
        if yFromZero { if yMin > 0 { yMin = 0 } else if yMax < 0 { yMax = 0 } }

        // Layout: legend on the right, sized to the longest name.
        let legendWidth = min(200, 34 + (series.map { textWidth($0.name) }.max() ?? 0))
        let left = 72.0, right = Double(width) - legendWidth - 16, top = 40.0, bottom = Double(height) - 48
        let plotW = max(right - left, 10), plotH = max(bottom - top, 10)

        let yTicks = niceTicks(min: yMin, max: yMax, count: max(2, Int(plotH / 60)))
        let y0 = yTicks.first!, y1 = yTicks.last!
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        var xTicks = niceTicks(min: xMin, max: xMax, count: max(2, Int(plotW / 90)))
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        var x0 = xMin, x1 = xMax
        if x0 == x1 { x0 = xTicks.first!; x1 = xTicks.last! }
        let eps = (x1 - x0) * 1e-9
        xTicks = xTicks.filter { $0 >= x0 - eps && $0 <= x1 + eps }

        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { bottom - (y - y0) / (y1 - y0) * plotH }

        var out = svgOpen(width: width, height: height, title: title)
        out += "<defs><clipPath id=\"plot-area\"><rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top - 2))\" width=\"\(svgNumber(plotW))\" height=\"\(svgNumber(plotH + 4))\"/></clipPath></defs>\n"
        out += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
        for t in yTicks { out += "<line x1=\"\(svgNumber(left))\" y1=\"\(svgNumber(py(t)))\" x2=\"\(svgNumber(right))\" y2=\"\(svgNumber(py(t)))\"/>\n" }
        for t in xTicks { out += "<line x1=\"\(svgNumber(px(t)))\" y1=\"\(svgNumber(top))\" x2=\"\(svgNumber(px(t)))\" y2=\"\(svgNumber(bottom))\"/>\n" }
        out += "</g>\n<g class=\"ticks\" fill=\"#333\">\n"
        for t in yTicks {
            out += "<text x=\"\(svgNumber(left - 6))\" y=\"\(svgNumber(py(t) + 4))\" text-anchor=\"end\">\(xmlEscape(yFormat.label(t, step: yStep)))</text>\n"
        }
        for t in xTicks {
            out += "<text x=\"\(svgNumber(px(t)))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(xmlEscape(xFormat.label(t, step: xStep)))</text>\n"
        }
        out += "</g>\n"
        out += "<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top))\" width=\"\(svgNumber(plotW))\" height=\"\(svgNumber(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(svgNumber(left + plotW / 2))\" y=\"\(height - 10)\" text-anchor=\"middle\">\(xmlEscape(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(svgNumber(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(yLabel))</text>\n"

        let columns = max(Int(plotW), 1)
        out += "<g class=\"series\" fill=\"none\" stroke-width=\"1.5\" stroke-linejoin=\"round\" clip-path=\"url(#plot-area)\">\n"
        for (i, pts) in finite.enumerated() {
            let shown = pts.count > downsampleAbove ? LinePlot.downsample(pts, xMin: x0, xMax: x1, columns: columns) : pts
            var coords = ""
            coords.reserveCapacity(shown.count * (step ? 24 : 12))
            var previousY: Double?
            for p in shown {
                let X = svgNumber(px(p.x)), Y = svgNumber(py(p.y))
                if step, let py0 = previousY { coords += "\(X),\(svgNumber(py0)) " }
                coords += "\(X),\(Y) "
                previousY = py(p.y)
            }
            if coords.hasSuffix(" ") { coords.removeLast() }
            out += "<polyline\(strokeAttributes(i)) points=\"\(coords)\"><title>\(xmlEscape(series[i].name))</title></polyline>\n"
        }
        out += "</g>\n"
        out += legend(names: series.map(\.name), x: right + 14, top: top, height: plotH, width: legendWidth - 34)
        out += "</svg>\n"
        return out
    }

    /// Keeps, for each pixel column, the points with the smallest and the largest y (in their
    /// original order), so a one-sample spike survives any amount of reduction.
    public static func downsample(_ points: [Point], xMin: Double, xMax: Double, columns: Int) -> [Point] {
        guard points.count > 2 * columns, xMax > xMin else { return points }
        var out: [Point] = []
        out.reserveCapacity(2 * columns + 2)
        var column = -1, lowIndex = 0, highIndex = 0
        func emit() {
            if lowIndex == highIndex { out.append(points[lowIndex]) } else {
                out.append(points[min(lowIndex, highIndex)]); out.append(points[max(lowIndex, highIndex)])
            }
        }
        let scale = Double(columns) / (xMax - xMin)
        for (i, p) in points.enumerated() {
            let c = min(max(Int((p.x - xMin) * scale), 0), columns - 1)
            if c != column {
                if column >= 0 { emit() }
                column = c; lowIndex = i; highIndex = i
            } else {
                if p.y < points[lowIndex].y { lowIndex = i }
                if p.y > points[highIndex].y { highIndex = i }
            }
        }
        if column >= 0 { emit() }
        return out
    }
}

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

private func strokeAttributes(_ i: Int) -> String {
    let colour = plotPalette[i % plotPalette.count]
    let dash = plotDashes[(i / plotPalette.count) % plotDashes.count]
    return " stroke=\"\(colour)\"" + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")
}

/// The legend: a swatch and a name per series, as many as fit, then "+N more".
private func legend(names: [String], x: Double, top: Double, height: Double, width: Double) -> String {
    let maxChars = max(Int(width / textWidth("m")), 4)
    let rowH = 18.0
    let fit = max(Int(height / rowH), 1)
    let shown = names.count > fit ? fit - 1 : names.count
    var out = "<g class=\"legend\">\n"
    for i in 0..<shown {
        let y = top + 8 + Double(i) * rowH
        out += "<line x1=\"\(svgNumber(x))\" y1=\"\(svgNumber(y))\" x2=\"\(svgNumber(x + 22))\" y2=\"\(svgNumber(y))\"\(strokeAttributes(i)) stroke-width=\"2.5\"/>\n"
        out += "<text x=\"\(svgNumber(x + 28))\" y=\"\(svgNumber(y + 4))\">\(xmlEscape(names[i].count > maxChars ? String(names[i].prefix(maxChars - 1)) + "…" : names[i]))</text>\n"
    }
    if shown < names.count {
        out += "<text x=\"\(svgNumber(x))\" y=\"\(svgNumber(top + 12 + Double(shown) * rowH))\" fill=\"#666\">+\(names.count - shown) more</text>\n"
    }
    out += "</g>\n"
    return out
}

private func noDataSVG(width: Int, height: Int, title: String) -> String {
    svgOpen(width: width, height: height, title: title)
        + "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" fill=\"#666\" font-size=\"14\">no data</text>\n</svg>\n"
}

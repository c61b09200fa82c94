import Foundation

/// A line chart of one or more series, for queue depth, throughput and completion times over
/// time. Queue depth changes only at events, so `step` draws it as a step function.
///
/// What it does for a reader: a marker on every measured point (or, on long series, markers
/// spaced along the line, so curves that coincide still show one marker shape each); reference
/// curves (a bound, a closed form) drawn dashed beside the measurements; log x axes for
/// parameters that double; series denser than the pixels drawn as a band from the smallest to
/// the largest sample in each pixel column with a line through their mean; the legend below the
/// plot area, so it never covers data and names are never cut.
public struct LinePlot {
    public typealias Point = (x: Double, y: Double)
    public typealias Series = (name: String, points: [Point])
    /// A curve the experiment claims (a bound, a closed form): dashed, no markers. `colourOf`
    /// takes the colour of that series (the bound of ring in ring's colour); nil: dark grey.
    public typealias Reference = (name: String, points: [Point], colourOf: Int?)

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var references: [Reference]
    public var step: Bool
    public var xFormat: AxisFormat
    public var yFormat: AxisFormat
    public var xScale: AxisScale
    /// Start the y axis at zero when all values are positive (depths, rates, times).
    public var yFromZero: Bool

    public init(
        title: String, xLabel: String, yLabel: String, series: [Series], references: [Reference] = [],
        step: Bool = false, xFormat: AxisFormat = .number, yFormat: AxisFormat = .number,
        xScale: AxisScale = .linear, yFromZero: Bool = true
    ) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.references = references; self.step = step; self.xFormat = xFormat; self.yFormat = yFormat
        self.xScale = xScale; self.yFromZero = yFromZero
    }

    /// A standalone SVG document (opens in a browser). `height` is that of the plot without
    /// its legend; the legend below adds what it needs.
    public func svg(width: Int = 800, height: Int = 420) -> String {
        let scale = xScale
        func usable(_ pts: [Point]) -> [Point] { pts.filter { $0.x.isFinite && $0.y.isFinite && scale.accepts($0.x) } }
        let finite = series.map { usable($0.points) }
        let refs = references.map { usable($0.points) }
        guard finite.contains(where: { !$0.isEmpty }) else {
            return noDataSVG(width: width, height: height, title: title)
        }
        var xMin = Double.infinity, xMax = -Double.infinity, yMin = Double.infinity, yMax = -Double.infinity
        for pts in finite + refs {
            for p in pts {
                xMin = min(xMin, p.x); xMax = max(xMax, p.x); yMin = min(yMin, p.y); yMax = max(yMax, p.y)
            }
        }
        if yFromZero { if yMin > 0 { yMin = 0 } else if yMax < 0 { yMax = 0 } }

        let left = 72.0, right = Double(width) - 20, top = 40.0, bottom = Double(height) - 48
        let plotW = max(right - left, 10), plotH = max(bottom - top, 10)

        let yTicks = niceTicks(min: yMin, max: yMax, count: max(2, Int(plotH / 60)))
        let y0 = yTicks.first!, y1 = yTicks.last!
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        var x0 = xMin, x1 = xMax
        var xTicks: [Double], xStep: Double
        if scale == .linear {
            xTicks = niceTicks(min: xMin, max: xMax, count: max(2, Int(plotW / 90)))
            xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
            if x0 == x1 { x0 = xTicks.first!; x1 = xTicks.last! }
        } else {
            xTicks = logTicks(min: xMin, max: xMax, scale: scale)
            xStep = 0
            if x0 == x1 { x0 = xTicks.first! / 2; x1 = xTicks.last! * 2 }
        }
        let eps = (x1 - x0) * 1e-9
        xTicks = xTicks.filter { $0 >= x0 - eps && $0 <= x1 + eps }
        // Log axes leave a margin so the end markers sit inside the frame.
        let inset = scale == .linear ? 0.0 : 12.0
        let t0 = scale.transform(x0), t1 = scale.transform(x1)

        func px(_ x: Double) -> Double { left + inset + (scale.transform(x) - t0) / (t1 - t0) * (plotW - 2 * inset) }
        func py(_ y: Double) -> Double { bottom - (y - y0) / (y1 - y0) * plotH }

        var body = ""
        body += "<defs><clipPath id=\"plot-area\"><rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top - 2))\" width=\"\(svgNumber(plotW))\" height=\"\(svgNumber(plotH + 4))\"/></clipPath></defs>\n"
        body += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
        for t in yTicks { body += "<line x1=\"\(svgNumber(left))\" y1=\"\(svgNumber(py(t)))\" x2=\"\(svgNumber(right))\" y2=\"\(svgNumber(py(t)))\"/>\n" }
        for t in xTicks { body += "<line x1=\"\(svgNumber(px(t)))\" y1=\"\(svgNumber(top))\" x2=\"\(svgNumber(px(t)))\" y2=\"\(svgNumber(bottom))\"/>\n" }
        body += "</g>\n<g class=\"ticks\" fill=\"#333\">\n"
        for t in yTicks {
            body += "<text x=\"\(svgNumber(left - 6))\" y=\"\(svgNumber(py(t) + 4))\" text-anchor=\"end\">\(xmlEscape(yFormat.label(t, step: yStep)))</text>\n"
        }
        for t in xTicks {
            body += "<text x=\"\(svgNumber(px(t)))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(xmlEscape(xFormat.label(t, step: scale == .linear ? xStep : t)))</text>\n"
        }
        body += "</g>\n"
        body += "<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top))\" width=\"\(svgNumber(plotW))\" height=\"\(svgNumber(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        let xAxisLabel = xLabel + (scale == .linear ? "" : " (log scale)")
        body += "<text x=\"\(svgNumber(left + plotW / 2))\" y=\"\(svgNumber(bottom + 36))\" text-anchor=\"middle\">\(xmlEscape(xAxisLabel))</text>\n"
        body += "<text transform=\"translate(16 \(svgNumber(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(yLabel))</text>\n"

        // References first, under the measurements.
        body += "<g class=\"references\" fill=\"none\" stroke-width=\"1.5\" clip-path=\"url(#plot-area)\">\n"
        for (r, pts) in zip(references, refs) where !pts.isEmpty {
            let colour = r.colourOf.map(seriesColour) ?? "#444444"
            let coords = pts.map { "\(svgNumber(px($0.x))),\(svgNumber(py($0.y)))" }.joined(separator: " ")
            body += "<polyline class=\"reference\" stroke=\"\(colour)\" stroke-dasharray=\"\(referenceDash)\" points=\"\(coords)\"><title>\(xmlEscape(r.name))</title></polyline>\n"
        }
        body += "</g>\n"

        let columns = max(Int(plotW), 1)
        var enveloped = false
        var markers = ""
        body += "<g class=\"series\" fill=\"none\" stroke-width=\"1.5\" stroke-linejoin=\"round\" clip-path=\"url(#plot-area)\">\n"
        for (i, pts) in finite.enumerated() where !pts.isEmpty {
            var line: [(Double, Double)]   // pixel coordinates of the drawn line
            if pts.count > columns {
                enveloped = true
                let env = LinePlot.envelope(pts, columns: columns) { min(px($0), right - 0.5) }
                var poly = env.map { "\(svgNumber($0.x)),\(svgNumber(py($0.max)))" }
                poly += env.reversed().map { "\(svgNumber($0.x)),\(svgNumber(py($0.min)))" }
                body += "<polygon class=\"envelope\" fill=\"\(seriesColour(i))\" fill-opacity=\"0.28\" stroke=\"none\" points=\"\(poly.joined(separator: " "))\"/>\n"
                line = env.map { ($0.x, py($0.mean)) }
            } else {
                line = []
                line.reserveCapacity(pts.count * (step ? 2 : 1))
                for p in pts {
                    let X = px(p.x), Y = py(p.y)
                    if step, let last = line.last { line.append((X, last.1)) }
                    line.append((X, Y))
                }
            }
            let coords = line.map { "\(svgNumber($0.0)),\(svgNumber($0.1))" }.joined(separator: " ")
            body += "<polyline\(strokeAttributes(i)) points=\"\(coords)\"><title>\(xmlEscape(series[i].name))</title></polyline>\n"
            // Every point when they are few; otherwise markers every 64 px, each series
            // shifted, so coinciding curves still show one marker each.
            if pts.count <= max(64, columns / 8) && pts.count <= columns {
                for p in pts { markers += marker(i, x: px(p.x), y: py(p.y)) + "\n" }
            } else {
                var x = left + 6 + Double(i % 8) * 8
                var k = 0
                while x <= right {
                    while k + 1 < line.count && line[k + 1].0 <= x { k += 1 }
                    if line[k].0 <= x + 1 { markers += marker(i, x: x, y: line[k].1) + "\n" }
                    x += 64
                }
            }
        }
        body += "</g>\n<g class=\"markers\">\n" + markers + "</g>\n"

        var entries: [(name: String, swatch: LegendSwatch)] = series.indices.map { (series[$0].name, .series($0)) }
        entries += references.map { ($0.name, .reference($0.colourOf.map(seriesColour) ?? "#444444")) }
        if enveloped { entries.append(("shaded: smallest to largest sample in each pixel column; line: their mean", .note)) }
        let (legendSVG, legendH) = legendBelow(entries, left: left, top: bottom + 46, width: plotW)
        let totalH = height + Int(legendH.rounded(.up))
        return svgOpen(width: width, height: totalH, title: title) + body + legendSVG + "</svg>\n"
    }

    /// Per pixel column (x in pixels from `px`), the smallest, largest and mean y of the points
    /// that fall in it, in x order: a one-sample spike survives any amount of reduction.
    static func envelope(_ points: [Point], columns: Int, px: (Double) -> Double) -> [(x: Double, min: Double, max: Double, mean: Double)] {
        var out: [(x: Double, min: Double, max: Double, mean: Double)] = []
        out.reserveCapacity(columns + 1)
        var column = Int.min, lo = 0.0, hi = 0.0, sum = 0.0, n = 0.0, x = 0.0
        for p in points {
            let X = px(p.x), c = Int(X.rounded(.down))
            if c != column {
                if n > 0 { out.append((x, lo, hi, sum / n)) }
                column = c; lo = p.y; hi = p.y; sum = 0; n = 0; x = Double(c) + 0.5
            }
            lo = min(lo, p.y); hi = max(hi, p.y); sum += p.y; n += 1
        }
        if n > 0 { out.append((x, lo, hi, sum / n)) }
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

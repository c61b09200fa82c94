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

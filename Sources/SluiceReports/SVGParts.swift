// The pieces `LinePlot` and `BarPlot` share: the SVG header, numbers, colours, markers, the legend.

/// Paul Tol's "bright" scheme plus black: distinguishable with the common colour-vision
/// deficiencies. Each series also has its own dash pattern and marker shape, so curves that lie
/// on top of each other (five queues with the same depth) stay told apart.
let plotPalette = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]
let plotDashes = ["", "7,3", "2,2", "9,3,2,3", "4,4"]
/// References (bounds, closed forms) are drawn thinner, in this dash, without markers.
let referenceDash = "5,4"

/// One decimal place, no allocation beyond the string: SVG coordinates need no more.
func svgNumber(_ v: Double) -> String {
    guard v.isFinite else { return "0" }
    let tenths = Int((min(max(v, -1e9), 1e9) * 10).rounded())
    let whole = tenths / 10, frac = abs(tenths % 10)
    let sign = tenths < 0 && whole == 0 ? "-" : ""
    return frac == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}

/// Approximate text width for layout (Helvetica-like, 12 px): SVG has no text metrics.
func textWidth(_ s: String, size: Double = 12) -> Double { Double(s.count) * size * 0.6 }

func svgOpen(width: Int, height: Int, title: String) -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
    font-family="Helvetica, Arial, sans-serif" font-size="12">
    <title>\(xmlEscape(title))</title>
    <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(xmlEscape(title))</text>

    """
}

func seriesColour(_ i: Int) -> String { plotPalette[i % plotPalette.count] }

func strokeAttributes(_ i: Int) -> String {
    let dash = plotDashes[i % plotDashes.count]
    return " stroke=\"\(seriesColour(i))\"" + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")
}

/// Marker `i` (circle, square, triangle, diamond, triangle down, cross) centred on (x, y).
func marker(_ i: Int, x: Double, y: Double, size: Double = 4) -> String {
    let c = seriesColour(i), s = size
    let X = svgNumber(x), Y = svgNumber(y)
    func poly(_ pts: [(Double, Double)]) -> String {
        "<polygon points=\"" + pts.map { "\(svgNumber(x + $0.0)),\(svgNumber(y + $0.1))" }.joined(separator: " ") + "\" fill=\"\(c)\" stroke=\"white\" stroke-width=\"0.8\"/>"
    }
    switch i % 6 {
    case 0: return "<circle cx=\"\(X)\" cy=\"\(Y)\" r=\"\(svgNumber(s))\" fill=\"\(c)\" stroke=\"white\" stroke-width=\"0.8\"/>"
    case 1: return "<rect x=\"\(svgNumber(x - s * 0.9))\" y=\"\(svgNumber(y - s * 0.9))\" width=\"\(svgNumber(s * 1.8))\" height=\"\(svgNumber(s * 1.8))\" fill=\"\(c)\" stroke=\"white\" stroke-width=\"0.8\"/>"
    case 2: return poly([(0, -s * 1.2), (s * 1.1, s * 0.9), (-s * 1.1, s * 0.9)])
    case 3: return poly([(0, -s * 1.25), (s * 1.1, 0), (0, s * 1.25), (-s * 1.1, 0)])
    case 4: return poly([(0, s * 1.2), (s * 1.1, -s * 0.9), (-s * 1.1, -s * 0.9)])
    default:
        return "<path d=\"M\(svgNumber(x - s)),\(svgNumber(y - s))L\(svgNumber(x + s)),\(svgNumber(y + s))M\(svgNumber(x - s)),\(svgNumber(y + s))L\(svgNumber(x + s)),\(svgNumber(y - s))\" stroke=\"\(c)\" stroke-width=\"2\" fill=\"none\"/>"
    }
}

/// What a legend entry shows beside its name.
enum LegendSwatch {
    /// Series `i`: its colour, dash and marker.
    case series(Int)
    /// A reference curve in `colour`.
    case reference(String)
    /// A filled box (bars) in `colour`.
    case box(String)
    /// A whisker: a range over seeds.
    case whisker
    /// A bound mark across a bar.
    case bound
    /// No swatch: a note.
    case note
}

/// The legend below the plot area, never over the data: entries flow left to right and wrap,
/// names are never cut. Returns the SVG and the height it takes.
func legendBelow(_ entries: [(name: String, swatch: LegendSwatch)], left: Double, top: Double, width: Double) -> (svg: String, height: Double) {
    guard !entries.isEmpty else { return ("", 0) }
    let rowH = 18.0
    var out = "<g class=\"legend\">\n"
    var x = left, y = top + 9
    for e in entries {
        let swatchW: Double
        if case .note = e.swatch { swatchW = 0 } else { swatchW = 30 }
        let w = swatchW + textWidth(e.name) + 18
        if x > left && x + w > left + width { x = left; y += rowH }
        switch e.swatch {
        case .series(let i):
            out += "<line x1=\"\(svgNumber(x))\" y1=\"\(svgNumber(y))\" x2=\"\(svgNumber(x + 24))\" y2=\"\(svgNumber(y))\"\(strokeAttributes(i)) stroke-width=\"2\"/>"
            out += marker(i, x: x + 12, y: y) + "\n"
        case .reference(let c):
            out += "<line x1=\"\(svgNumber(x))\" y1=\"\(svgNumber(y))\" x2=\"\(svgNumber(x + 24))\" y2=\"\(svgNumber(y))\" stroke=\"\(c)\" stroke-dasharray=\"\(referenceDash)\" stroke-width=\"1.5\"/>\n"
        case .box(let c):
            out += "<rect x=\"\(svgNumber(x + 4))\" y=\"\(svgNumber(y - 6))\" width=\"16\" height=\"12\" fill=\"\(c)\"/>\n"
        case .whisker:
            out += "<path d=\"M\(svgNumber(x + 4)),\(svgNumber(y - 6))h16M\(svgNumber(x + 12)),\(svgNumber(y - 6))v12M\(svgNumber(x + 4)),\(svgNumber(y + 6))h16\" stroke=\"#222\" stroke-width=\"1.3\" fill=\"none\"/>\n"
        case .bound:
            out += "<line x1=\"\(svgNumber(x))\" y1=\"\(svgNumber(y))\" x2=\"\(svgNumber(x + 24))\" y2=\"\(svgNumber(y))\" stroke=\"#000\" stroke-width=\"2.5\" stroke-dasharray=\"4,2\"/>\n"
        case .note:
            break
        }
        out += "<text x=\"\(svgNumber(x + swatchW))\" y=\"\(svgNumber(y + 4))\"\(swatchW == 0 ? " fill=\"#555\"" : "")>\(xmlEscape(e.name))</text>\n"
        x += w
    }
    out += "</g>\n"
    return (out, y - top + rowH - 4)
}

func noDataSVG(width: Int, height: Int, title: String) -> String {
    svgOpen(width: width, height: height, title: title)
        + "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" fill=\"#666\" font-size=\"14\">no data</text>\n</svg>\n"
}

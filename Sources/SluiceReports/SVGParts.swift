// The pieces `LinePlot` and `BarPlot` share: the SVG header, numbers, colours, the legend.

/// Paul Tol's "bright" scheme plus black: distinguishable with the common colour-vision
/// deficiencies. Past eight series the colours repeat with a dash pattern.
let plotPalette = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]
let plotDashes = ["", "6,3", "2,2", "8,3,2,3"]

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

func strokeAttributes(_ i: Int) -> String {
    let colour = plotPalette[i % plotPalette.count]
    let dash = plotDashes[(i / plotPalette.count) % plotDashes.count]
    return " stroke=\"\(colour)\"" + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")
}

/// The legend: a swatch and a name per series, as many as fit, then "+N more".
func legend(names: [String], x: Double, top: Double, height: Double, width: Double) -> String {
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

func noDataSVG(width: Int, height: Int, title: String) -> String {
    svgOpen(width: width, height: height, title: title)
        + "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" fill=\"#666\" font-size=\"14\">no data</text>\n</svg>\n"
}

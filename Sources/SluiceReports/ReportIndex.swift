import Foundation

/// The report's `index.html`, a page that works offline (no external URL, no script): the
/// title, the summary's lines as paragraphs and its tables as HTML tables, each plot inline as
/// SVG with links to its file and the data behind it, and the list of data files.
public struct ReportIndex {
    public struct Plot {
        public var file: String
        public var caption: String
        /// The SVG document, shown inline (nil: shown with `<img>` from `file`).
        public var svg: String?
        /// Data files the plot is drawn from (CSV, JSON), linked beside it.
        public var data: [String]

        public init(file: String, caption: String, svg: String? = nil, data: [String] = []) {
            self.file = file; self.caption = caption; self.svg = svg; self.data = data
        }
    }

    public var title: String
    public var summary: ReportSummary
    public var plots: [Plot]
    public var files: [(file: String, description: String)]

    public init(title: String, summary: ReportSummary = ReportSummary(),
                plots: [Plot] = [], files: [(file: String, description: String)] = []) {
        self.title = title; self.summary = summary; self.plots = plots; self.files = files
    }

    public func html() -> String {
        var out = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(xmlEscape(title))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }
        p.summary { margin: 0.2em 0; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
        th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; white-space: nowrap; }
        th { background: #f2f2f2; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .table-wrap { overflow-x: auto; }
        figure { margin: 1.5em 0; }
        figure svg, figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
        figcaption { color: #555; margin-top: 0.3em; }
        figcaption .files { font-size: 0.9em; }
        </style>
        </head>
        <body>
        <h1>\(xmlEscape(title))</h1>

        """
        if !summary.blocks.isEmpty {
            out += "<section class=\"summary\">\n"
            for b in summary.blocks {
                switch b {
                case .line(let l): if !l.isEmpty { out += "<p class=\"summary\">\(xmlEscape(l))</p>\n" }
                case .table(let t): out += Self.html(t)
                }
            }
            out += "</section>\n"
        }
        if !plots.isEmpty {
            out += "<h2>Plots</h2>\n"
            for (i, p) in plots.enumerated() {
                out += "<figure id=\"plot-\(i + 1)\">\n"
                if let svg = p.svg { out += Self.inline(svg, index: i + 1) } else {
                    out += "<img src=\"\(href(p.file))\" alt=\"\(xmlEscape(p.caption))\">\n"
                }
                let links = ([(p.file, "SVG")] + p.data.map { ($0, $0) }).map { "<a href=\"\(href($0.0))\">\(xmlEscape($0.1))</a>" }
                out += "<figcaption>\(xmlEscape(p.caption)) <span class=\"files\">(\(links.joined(separator: ", ")))</span></figcaption>\n</figure>\n"
            }
        }
        if !files.isEmpty {
            out += "<h2>Data</h2>\n<ul>\n"
            for f in files {
                let note = f.description.isEmpty ? "" : " &mdash; \(xmlEscape(f.description))"
                out += "<li><a href=\"\(href(f.file))\">\(xmlEscape(f.file))</a>\(note)</li>\n"
            }
            out += "</ul>\n"
        }
        out += "</body>\n</html>\n"
        return out
    }

    /// `t` as an HTML table; columns of numbers are right-aligned.
    static func html(_ t: TextTable) -> String {
        let numeric = t.numericColumns
        func cls(_ c: Int) -> String { c < numeric.count && numeric[c] ? " class=\"num\"" : "" }
        var out = "<div class=\"table-wrap\"><table>\n<thead><tr>"
        for c in 0..<t.columnCount { out += "<th\(cls(c))>\(xmlEscape(c < t.header.count ? t.header[c] : ""))</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for r in t.rows {
            out += "<tr>"
            for c in 0..<t.columnCount { out += "<td\(cls(c))>\(xmlEscape(c < r.count ? r[c] : ""))</td>" }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table></div>\n"
        return out
    }

    /// An SVG document inside the page: without its XML declaration, its ids made unique to
    /// the plot (every plot has a `plot-area` clip path).
    static func inline(_ svg: String, index: Int) -> String {
        var s = Substring(svg)
        if s.hasPrefix("<?xml"), let end = s.range(of: "?>") { s = s[end.upperBound...] }
        return String(s.drop { $0 == "\n" })
            .replacingOccurrences(of: "id=\"plot-area\"", with: "id=\"plot-area-\(index)\"")
            .replacingOccurrences(of: "url(#plot-area)", with: "url(#plot-area-\(index))")
    }

    private func href(_ file: String) -> String {
        xmlEscape(file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file)
    }
}

import Foundation

/// The report's `index.html`: title, summary, the plots inline, and links to the data files.
public struct ReportIndex {
    public var title: String
    public var summary: String?
    public var plots: [(file: String, caption: String)]
    public var files: [(file: String, description: String)]

    public init(title: String, summary: String? = nil,
                plots: [(file: String, caption: String)] = [], files: [(file: String, description: String)] = []) {
        self.title = title; self.summary = summary; self.plots = plots; self.files = files
    }

    public func html() -> String {
        var out = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(xmlEscape(title))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; max-width: 900px; margin: 2em auto; padding: 0 1em; color: #222; }
        pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
        figure { margin: 1.5em 0; }
        img { max-width: 100%; border: 1px solid #ddd; }
        figcaption { color: #555; margin-top: 0.3em; }
        </style>
        </head>
        <body>
        <h1>\(xmlEscape(title))</h1>

        """
        if let s = summary { out += "<pre>\(xmlEscape(s))</pre>\n" }
        if !plots.isEmpty {
            out += "<h2>Plots</h2>\n"
            for p in plots {
                out += "<figure><img src=\"\(href(p.file))\" alt=\"\(xmlEscape(p.caption))\"><figcaption>\(xmlEscape(p.caption))</figcaption></figure>\n"
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

    private func href(_ file: String) -> String {
        xmlEscape(file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file)
    }
}

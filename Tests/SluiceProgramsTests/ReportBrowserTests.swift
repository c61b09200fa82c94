import Foundation
import Testing
import SluiceTesting

/// Headless Chromium (Debian's `chromium`), if installed.
private let chromiumPath = findTool("chromium", "chromium-browser")
private let inCI = ProcessInfo.processInfo.environment["SLUICE_CI"] == "true"

/// Every kind of report, as a browser sees it: each command writes its report folder at a small
/// size, headless Chromium loads index.html from the disk and dumps the DOM it built, and the
/// test fails on markup shown as text (`<pre>`, `<br>`, `&lt;` written out), on a missing table
/// or plot, and on an address outside the folder. With SLUICE_REPORT_SCREENSHOTS=DIR the pages
/// are also saved there as PNGs to look at.
@Suite(.serialized, .enabled(if: chromiumPath != nil || inCI, "chromium is not installed (apt-get install chromium; .ci/run installs it)"))
struct ReportBrowserTests {
    static let screenshots = ProcessInfo.processInfo.environment["SLUICE_REPORT_SCREENSHOTS"]

    func folder(_ kind: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-browser-\(kind)-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Runs chromium headless on `args` + the page; its standard output.
    func chromium(_ args: [String], page: URL, profile: URL) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(chromiumPath, "chromium is not installed (apt-get install chromium; .ci/run installs it)"))
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                       "--allow-file-access-from-files"] + args + [page.absoluteString]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The text a reader sees: the DOM without its tags and comments, entities decoded.
    static func visibleText(_ dom: String) -> String {
        var text = ""
        var inTag = false, skipping: String? = nil
        var tag = ""
        for c in dom {
            if inTag {
                if c == ">" {
                    inTag = false
                    let name = tag.lowercased().split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init) ?? ""
                    if name == "style" || name == "script" { skipping = "/" + name }
                    if let s = skipping, name == s { skipping = nil }
                    text += " "
                } else { tag.append(c) }
            } else if c == "<" {
                inTag = true; tag = ""
            } else if skipping == nil {
                text.append(c)
            }
        }
        for (entity, char) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'"), ("&nbsp;", " "), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: char)
        }
        return text
    }

    /// Renders `dir/index.html` and checks what a reader would see.
    func check(_ kind: String, report dir: URL, minTables: Int = 1) throws {
        let index = dir.appendingPathComponent("index.html")
        let html = try String(contentsOf: index, encoding: .utf8)
        let plots = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".svg") }
        #expect(!plots.isEmpty, "\(kind): no plots")
        // Offline: no address but the SVG namespace (a name, never fetched).
        let addresses = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!addresses.contains("http:") && !addresses.contains("https:") && !addresses.contains("//cdn"), "\(kind): the page refers to the network")

        let profile = folder("profile")
        defer { try? FileManager.default.removeItem(at: profile) }
        let dump = try chromium(["--dump-dom", "--virtual-time-budget=2000"], page: index, profile: profile)
        #expect(dump.status == 0, "\(kind): chromium: \(dump.err.suffix(2000))")
        let dom = dump.out
        #expect(dom.contains("</html>"), "\(kind): chromium dumped no page: \(dump.err.suffix(2000))")
        let text = Self.visibleText(dom)
        for literal in ["<pre", "<br", "<table", "<svg", "&lt;", "&gt;", "&amp;"] {
            var context = ""
            if let r = text.range(of: literal) {
                let from = text.index(r.lowerBound, offsetBy: -80, limitedBy: text.startIndex) ?? text.startIndex
                context = String(text[from..<r.upperBound])
            }
            #expect(context.isEmpty, "\(kind): the page shows \(literal) as text: ...\(context)")
        }
        // The summary's tables and every plot, as elements the browser built.
        #expect(dom.components(separatedBy: "<table>").count - 1 >= minTables, "\(kind): expected a table")
        #expect(dom.components(separatedBy: "<td").count > 2, "\(kind): the table has no cells")
        #expect(dom.components(separatedBy: "<svg ").count - 1 == plots.count, "\(kind): \(plots.count) plots, inline: \(dom.components(separatedBy: "<svg ").count - 1)")
        for p in plots {
            #expect(dom.contains("href=\"\(p.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? p)\""), "\(kind): no link to \(p)")
        }
        #expect(dom.contains("href=\"report.json\""), "\(kind): no link to report.json")
        #expect(dom.contains(".csv\""), "\(kind): no link to a CSV file")

        if let shots = Self.screenshots {
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            let png = URL(fileURLWithPath: shots).appendingPathComponent("\(kind).png")
            let shot = try chromium(["--screenshot=\(png.path)", "--window-size=1100,6000", "--hide-scrollbars", "--virtual-time-budget=2000"],
                                    page: index, profile: profile)
            #expect(shot.status == 0 && FileManager.default.fileExists(atPath: png.path), "\(kind): no screenshot: \(shot.err.suffix(1000))")
        }
    }

    func sluice(_ args: [String]) throws {
        let r = try CLITests.run(args)
        #expect(r.status == 0, "sluice \(args.joined(separator: " ")): \(r.err.suffix(2000))")
    }

    @Test func emulateReport() throws {
        let dir = folder("emulate")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sluice(["emulate", CLITests.topology("dumbbell.yaml"), "--until", "2ms", "--report", dir.path])
        try check("emulate", report: dir, minTables: 2)
    }

    @Test func aggregationExperimentReport() throws {
        let dir = folder("ina-e2")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sluice(["experiment", "ina-e2", "--scale", "0.01", "--report", dir.path])
        try check("ina-e2", report: dir)
        // The title says the size that ran (10 MB x 0.01), not the published one.
        let html = try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(html.contains("<h1>Sluice ina-e2: workers 2 ... 32 at 100 kB:"), "\(html.prefix(600))")
    }

    @Test func demoReport() throws {
        let dir = folder("demo")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sluice(["demo", "--scale", "0.01", "--report", dir.path])
        try check("demo", report: dir)
        // The demo runs 100 Gb/s only, and its title says so.
        let html = try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(html.contains("<h1>Sluice ina-e1: 1 MB float32 allreduce, 8 workers, 100 Gb/s:"), "\(html.prefix(600))")
    }

    @Test func loadBalancingReport() throws {
        let dir = folder("lb")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sluice(["experiment", "lb", "--seeds", "2", "--scale", "0.015625", "--schemes", "ecmp,drill", "--scenarios", "elephants",
                    "--report", dir.path])
        try check("lb", report: dir)
    }

    @Test func intIncastReport() throws {
        let dir = folder("int-incast")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sluice(["experiment", "int-incast", "--report", dir.path])
        try check("int-incast", report: dir, minTables: 2)
    }
}

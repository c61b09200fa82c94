import Foundation

/// Why a report file could not be written: the path and the reason.
public struct ReportWriteError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// A report folder: plots, tables and raw data from one run, with an `index.html` that shows
/// the plots and links the data, so a newcomer opens one file in a browser.
public struct ReportWriter {
    public let directory: String
    public private(set) var index: ReportIndex

    /// Creates `directory` (and its parents) if needed.
    public init(directory: String, title: String) throws {
        self.directory = directory
        index = ReportIndex(title: title)
        try Self.makeDirectories(directory)
    }

    /// Creates `directory` and checks that a file can be written in it, before a run whose
    /// results would otherwise exist only in memory when the report finds the path unusable
    /// (a regular file on the way, a read-only or virtual file system).
    public static func prepare(directory: String) throws(ReportWriteError) {
        try makeDirectories(directory)
        let probe = (directory as NSString).appendingPathComponent(".sluice-write-check-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ReportWriteError(path: directory, reason: String(cString: strerror(errno))) }
        close(fd)
        unlink(probe)
    }

    /// `mkdir -p` whose error is the system's reason (Foundation's says "error 512" for a
    /// regular file on the way).
    static func makeDirectories(_ directory: String) throws(ReportWriteError) {
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for part in directory.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            guard mkdir(prefix, 0o777) != 0 else { continue }
            let code = errno
            var s = stat()
            if code == EEXIST && stat(prefix, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR { continue }
            throw ReportWriteError(path: directory, reason: String(cString: strerror(code == EEXIST ? ENOTDIR : code)))
        }
    }

    public func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Writes a plot and shows it in the index.
    public mutating func write(svg: String, name: String, caption: String) throws {
        try writeFile(name, Data(svg.utf8))
        index.plots.append((file: name, caption: caption))
    }

    /// Writes a table and links it from the index.
    public mutating func write(csv: CSVWriter, name: String, description: String) throws {
        try writeFile(name, Data(csv.text.utf8))
        index.files.append((file: name, description: description))
    }

    /// Writes a value as JSON (sorted keys, pretty printed) and links it from the index.
    public mutating func writeJSON<T: Encodable>(_ value: T, name: String, description: String) throws {
        let data: Data
        do { data = try ReportJSON.data(value) } catch {
            throw ReportWriteError(path: path(name), reason: reportReason(error))
        }
        try writeFile(name, data)
        index.files.append((file: name, description: description))
    }

    /// Writes any other text file (a summary, a log) and links it from the index.
    public mutating func write(text: String, name: String, description: String) throws {
        try writeFile(name, Data(text.utf8))
        index.files.append((file: name, description: description))
    }

    /// Preformatted text shown at the top of the index (the end-of-run `TextTable`).
    public mutating func setSummary(_ text: String) { index.summary = text }

    /// Writes `index.html` and returns its path.
    @discardableResult public func writeIndex() throws -> String {
        try writeFile("index.html", Data(index.html().utf8))
        return path("index.html")
    }

    private func writeFile(_ name: String, _ data: Data) throws {
        let p = path(name)
        do { try data.write(to: URL(fileURLWithPath: p)) } catch {
            throw ReportWriteError(path: p, reason: reportReason(error))
        }
    }
}

private func reportReason(_ error: Error) -> String {
    let ns = error as NSError
    if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(posix.code)))
    }
    return ns.localizedDescription
}

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

/// Comma-separated values with a header row. Fields holding a comma, a quote or a line break
/// are quoted, with quotes doubled (RFC 4180); lines end in "\n".
public struct CSVWriter {
    public let header: [String]
    public private(set) var text: String
    public private(set) var rowCount = 0

    public init(header: [String]) {
        self.header = header
        text = CSVWriter.line(header)
    }

    /// Appends a row; it must have one field per header column.
    public mutating func append(_ fields: [String]) {
        precondition(fields.count == header.count, "CSV row has \(fields.count) fields, header has \(header.count)")
        text += CSVWriter.line(fields)
        rowCount += 1
    }

    public static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func line(_ fields: [String]) -> String { fields.map(quote).joined(separator: ",") + "\n" }

    public func write(to path: String) throws {
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw ReportWriteError(path: path, reason: reportReason(error))
        }
    }
}

/// JSON for reports: sorted keys and pretty printing, so runs diff cleanly.
public enum ReportJSON {
    public static func data<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }
}

/// A plain-text table for the terminal: a header, a rule, and columns padded to their widest
/// cell. Columns whose cells all start with a number ("12", "-3", "45.0 Gb/s") are right-aligned.
public struct TextTable: CustomStringConvertible {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]] = []) {
        self.header = header; self.rows = rows
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    public var description: String { render() }

    public func render() -> String {
        let columns = max(header.count, rows.map(\.count).max() ?? 0)
        func cell(_ row: [String], _ c: Int) -> String { c < row.count ? row[c] : "" }
        var widths = [Int](repeating: 0, count: columns)
        var numeric = [Bool](repeating: true, count: columns)
        for c in 0..<columns {
            widths[c] = cell(header, c).count
            var any = false
            for r in rows {
                let v = cell(r, c)
                widths[c] = max(widths[c], v.count)
                if !v.isEmpty { any = true; if !TextTable.looksNumeric(v) { numeric[c] = false } }
            }
            if !any { numeric[c] = false }
        }
        func render(_ row: [String]) -> String {
            var parts: [String] = []
            for c in 0..<columns {
                let v = cell(row, c), pad = String(repeating: " ", count: widths[c] - v.count)
                parts.append(numeric[c] ? pad + v : v + pad)
            }
            var line = parts.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line + "\n"
        }
        var out = render(header)
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in rows { out += render(r) }
        return out
    }

    static func looksNumeric(_ s: String) -> Bool {
        var chars = s.unicodeScalars.makeIterator()
        guard var c = chars.next() else { return false }
        if c == "-" || c == "+" { guard let n = chars.next() else { return false }; c = n }
        if c == "." { guard let n = chars.next() else { return false }; c = n }
        return c.properties.numericType != nil && c.isASCII
    }
}

/// "45.0 Gb/s": decimal (SI) units, one decimal.
public func formatRate(bitsPerSecond: Double) -> String {
    scaledUnit(bitsPerSecond, base: 1000, units: ["b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s", "Pb/s"], decimalsBelowBase: 1)
}

/// "4.0 MiB": binary units, one decimal; whole bytes below 1 KiB ("512 B").
public func formatBytes<T: BinaryInteger>(_ bytes: T) -> String {
    scaledUnit(Double(bytes), base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], decimalsBelowBase: 0)
}

/// `value` in the largest unit that keeps it at or above 1 (after rounding to one decimal);
/// the first unit uses `decimalsBelowBase` decimals.
private func scaledUnit(_ value: Double, base: Double, units: [String], decimalsBelowBase: Int) -> String {
    guard value.isFinite else { return "\(value) \(units[0])" }
    var v = value, i = 0
    while i < units.count - 1 && (abs(v) * 10).rounded() / 10 >= base {
        v /= base; i += 1
    }
    let decimals = i == 0 ? decimalsBelowBase : 1
    return String(format: "%.\(decimals)f", v) + " " + units[i]
}

/// "1.234 ms", "320 ns", "1.5 us", "2 s": the largest unit that keeps the value at or above 1,
/// at most three decimals, trailing zeros dropped. Exact integer arithmetic, rounding half up.
/// An IPv4 address in dotted decimal, for reports and messages.
public func ipv4Text(_ a: UInt32) -> String { "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)" }

public func formatTime(picoseconds: Int64) -> String {
    if picoseconds == 0 { return "0 s" }
    let sign = picoseconds < 0 ? "-" : ""
    let ps = picoseconds.magnitude
    if ps < 1000 { return "\(sign)\(ps) ps" }
    // Thousandths of a unit are (ps / scale * 1000), i.e. ps divided by scale/1000.
    let units: [(UInt64, String)] = [(1, "ns"), (1000, "us"), (1_000_000, "ms"), (1_000_000_000, "s")]
    var u = 0
    while u < units.count - 1 && ps >= units[u + 1].0 * 1000 { u += 1 }
    var thousandths = (ps + units[u].0 / 2) / units[u].0
    if thousandths >= 1_000_000 && u < units.count - 1 {
        u += 1
        thousandths = (ps + units[u].0 / 2) / units[u].0
    }
    var text = String(thousandths / 1000)
    let frac = thousandths % 1000
    if frac != 0 {
        var digits = String(frac)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        text += "." + digits
    }
    return sign + text + " " + units[u].1
}

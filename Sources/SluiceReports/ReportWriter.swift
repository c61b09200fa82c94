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

    /// Writes a plot and shows it in the index, inline, with links to its file and to `data`
    /// (the files it is drawn from).
    public mutating func write(svg: String, name: String, caption: String, data: [String] = []) throws {
        try writeFile(name, Data(svg.utf8))
        index.plots.append(ReportIndex.Plot(file: name, caption: caption, svg: svg, data: data))
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

    /// The summary at the top of the index: its lines as paragraphs, its tables as tables.
    public mutating func setSummary(_ summary: ReportSummary) { index.summary = summary }

    /// Plain text at the top of the index, a paragraph a line.
    public mutating func setSummary(_ text: String) { index.summary = ReportSummary(text: text) }

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

/// The system's reason for a failed write, not Foundation's wrapper text.
func reportReason(_ error: Error) -> String {
    let ns = error as NSError
    if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(posix.code)))
    }
    return ns.localizedDescription
}

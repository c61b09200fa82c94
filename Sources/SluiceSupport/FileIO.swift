#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a text file (entries, STF spec, topology, workload) could not be read: the path and
/// what was wrong, with the byte and line where there is one.
public struct TextFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    /// The file could not be opened or read at all (`reason` is the system's).
    public var unreadable: Bool
    public init(path: String, reason: String, unreadable: Bool = false) {
        self.path = path; self.reason = reason; self.unreadable = unreadable
    }
    public var description: String { unreadable ? "cannot read '\(path)': \(reason)" : "\(path): \(reason)" }
}

/// Whole-file reads and writes without Foundation, and the one reader of the line-based text
/// formats: every such file goes through `readText` and `lines`, so none of them can treat
/// CRLF, a byte-order mark or an endless input differently from the others.
public enum FileIO {
    /// The largest text file read: far beyond any real entries file, spec or topology, small
    /// enough that `/dev/zero` or a wrong file is refused in a moment.
    public static let textLimit = 64 << 20

    /// A text file as UTF-8: a leading byte-order mark dropped; NUL bytes, invalid UTF-8 and files
    /// over `limit` bytes refused, naming the byte (and line) or the size.
    public static func readText(_ path: String, limit: Int = textLimit) throws(TextFileError) -> String {
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(path, limit: limit) } catch {
            switch error {
            case .unreadable(let reason): throw TextFileError(path: path, reason: reason, unreadable: true)
            case .tooLarge(let limit):
                throw TextFileError(path: path, reason: "larger than \(limit) bytes, the most a text input may hold (is it the file you meant?)")
            }
        }
        return try decodeText(bytes, path: path)
    }

    /// `bytes` as UTF-8 text (see `readText`).
    public static func decodeText(_ bytes: [UInt8], path: String) throws(TextFileError) -> String {
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        let body = bytes[start...]
        if let nul = body.firstIndex(of: 0) {
            throw TextFileError(path: path, reason: "a NUL byte at byte \(nul) (line \(line(of: nul, in: bytes))): a text file holds none (is it a binary file?)")
        }
        var it = body.makeIterator()
        var utf8 = UTF8()
        var offset = start
        loop: while true {
            let before = offset
            switch utf8.decode(&it) {
            case .scalarValue(let s): offset += UTF8.width(s)
            case .emptyInput: break loop
            case .error:
                throw TextFileError(path: path, reason: "invalid UTF-8 at byte \(before) (line \(line(of: before, in: bytes))): text files are read as UTF-8")
            }
        }
        return String(decoding: body, as: UTF8.self)
    }

    /// The 1-based line of byte `offset`.
    static func line(of offset: Int, in bytes: [UInt8]) -> Int {
        var line = 1, i = 0
        while i < offset && i < bytes.count {
            if bytes[i] == 0x0A || (bytes[i] == 0x0D && (i + 1 >= bytes.count || bytes[i + 1] != 0x0A)) { line += 1 }
            i += 1
        }
        return line
    }

    /// The lines of `text`, ended by LF, CRLF or CR alike (a final line ending gives an empty
    /// last line, so line numbers count from 1 as an editor shows them). Swift reads "\r\n" as
    /// one Character, so splitting on "\n" alone would see a CRLF file as one line.
    public static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
    }

    /// The system's reason for `errno` `code`, worded to follow "cannot read 'path': ".
    public static func reason(_ code: Int32) -> String { FileBytes.reason(code) }

    @discardableResult
    public static func write(_ path: String, _ text: String) -> Bool { write(path, Array(text.utf8)) }

    @discardableResult
    public static func write(_ path: String, _ bytes: [UInt8]) -> Bool {
        guard let f = fopen(path, "wb") else { return false }
        defer { fclose(f) }
        return fwrite(bytes, 1, bytes.count, f) == bytes.count
    }

    /// `relative` against the directory `base` (an absolute `relative`, or a base of "." or "":
    /// `relative` unchanged): how files named inside other files are found.
    public static func path(_ relative: String, against base: String) -> String {
        if relative.hasPrefix("/") || base.isEmpty || base == "." { return relative }
        return base.hasSuffix("/") ? base + relative : base + "/" + relative
    }
}

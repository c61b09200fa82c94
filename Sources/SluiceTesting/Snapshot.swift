import Foundation

/// Text a test pins in a file next to it (`Snapshots/<name>.<ext>`, committed): a change to
/// what produces the text shows up as the first line that differs. When the change is
/// intended, the snapshots are recorded again (`SLUICE_RECORD_SNAPSHOTS=1`) and committed with it.
public struct Snapshot: Sendable {
    /// What the text is, in messages ("IR", "eBPF C").
    public var kind: String
    /// What the tested code did to make the text, in a difference ("printed", "emitted").
    public var verb: String
    /// The command that records the suite's snapshots again.
    public var recordCommand: String
    /// The file extension of the snapshots, without the dot.
    public var ext: String

    public init(kind: String, verb: String, recordCommand: String, ext: String) {
        self.kind = kind; self.verb = verb; self.recordCommand = recordCommand; self.ext = ext
    }

    /// Whether this run records the snapshots instead of comparing them.
    public static var recording: Bool { ProcessInfo.processInfo.environment["SLUICE_RECORD_SNAPSHOTS"] == "1" }

    /// `Snapshots/<name>.<ext>` next to the test file calling this.
    public func url(_ name: String, filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent()
            .appendingPathComponent("Snapshots").appendingPathComponent("\(name).\(ext)")
    }

    /// Compare `text` with the snapshot file, or (`record`) write it. Returns what is wrong.
    public func check(_ text: String, name: String, snapshot url: URL, record: Bool) throws -> String? {
        if record {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            print("recorded \(url.path); review and commit it")
            return nil
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            return "no \(kind) snapshot for '\(name)' at \(url.path); record it with `\(recordCommand)` and commit the file"
        }
        if text == expected { return nil }
        return "the \(kind) of '\(name)' differs from \(url.path):\n\(firstDifference(expected, text))\n"
            + "If the change is intended, re-record with `\(recordCommand)` and commit the snapshot."
    }

    /// Snapshot files in `directory` that belong to none of `names` (a renamed program leaves
    /// its snapshot behind).
    public func stale(in directory: URL, names: Set<String>) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".\(ext)") && !names.contains(String($0.dropLast(ext.count + 1))) }.sorted()
    }

    /// The first line that differs, as the snapshot has it and as the code made it, with the
    /// line and the column where they part (both from 1: a difference in white space shows).
    public func firstDifference(_ expected: String, _ actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let label = "\(verb):".padding(toLength: max(verb.count + 2, 10), withPad: " ", startingAt: 0)
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? String(e[i]) : "<end of file>", al = i < a.count ? String(a[i]) : "<end of output>"
            guard el != al else { continue }
            let column = zip(el, al).prefix { $0 == $1 }.count + 1
            return "  line \(i + 1), column \(column):\n    snapshot: \(el)\n    \(label)\(al)"
        }
        return "  (no line differs)"
    }
}

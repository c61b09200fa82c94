import Foundation
import Testing
import SluiceIR
@testable import SluicePrograms

/// The printed IR of every built-in program, pinned in `Snapshots/<name>.ir`.
///
/// A change to a program, the DSL or the printer shows up here as a diff. When the change is
/// intended, record the snapshots again and commit them with the change:
///
///     SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests
@Suite struct IRSnapshotTests {
    static let recordCommand = "SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests"

    static var recording: Bool { ProcessInfo.processInfo.environment["SLUICE_RECORD_SNAPSHOTS"] == "1" }

    /// `Tests/SluiceProgramsTests/Snapshots`, next to this file.
    static func snapshotURL(_ name: String, filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent()
            .appendingPathComponent("Snapshots").appendingPathComponent("\(name).ir")
    }

    @Test(arguments: ProgramRegistry.all.map(\.name))
    func printedIRMatchesSnapshot(_ name: String) throws {
        let info = try #require(ProgramRegistry.named(name))
        if let problem = try Self.check(IRPrinter.print(info.build().ir), name: name, snapshot: Self.snapshotURL(name), record: Self.recording) {
            Issue.record("\(problem)")
        }
    }

    /// Compare `text` with the snapshot file, or (`record`) write it. Returns what is wrong.
    static func check(_ text: String, name: String, snapshot url: URL, record: Bool) throws -> String? {
        if record {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            print("recorded \(url.path); review and commit it")
            return nil
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            return "no IR snapshot for '\(name)' at \(url.path); record it with `\(recordCommand)` and commit the file"
        }
        if text == expected { return nil }
        return "the IR of '\(name)' differs from \(url.path):\n\(firstDifference(expected, text))\n"
            + "If the change is intended, re-record with `\(recordCommand)` and commit the snapshot."
    }

    @Test func aMissingSnapshotFailsAndSaysHowToRecord() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-no-such-dir-\(UInt64.random(in: 0...UInt64.max))/p.ir")
        let message = try Self.check("program p\n", name: "p", snapshot: url, record: false)
        #expect(message == "no IR snapshot for 'p' at \(url.path); record it with `SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests` and commit the file")
        #expect(!FileManager.default.fileExists(atPath: url.path), "checking must never write the snapshot")
    }

    @Test func recordingWritesTheSnapshotAndThenItMatches() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-snapshots-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("p.ir")
        #expect(try Self.check("program p\nheaders {\n}\n", name: "p", snapshot: url, record: true) == nil)
        #expect(try Self.check("program p\nheaders {\n}\n", name: "p", snapshot: url, record: false) == nil)
        let changed = try Self.check("program p\nheaders { }\n", name: "p", snapshot: url, record: false)
        #expect(changed == """
            the IR of 'p' differs from \(url.path):
              line 2:
                snapshot: headers {
                printed:  headers { }
            If the change is intended, re-record with `SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests` and commit the snapshot.
            """)
    }

    /// Every snapshot file belongs to a registered program (a renamed program leaves none behind).
    @Test func noStaleSnapshots() throws {
        let dir = Self.snapshotURL("x").deletingLastPathComponent()
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let names = Set(ProgramRegistry.all.map(\.name))
        for f in files where f.hasSuffix(".ir") {
            #expect(names.contains(String(f.dropLast(3))), "Snapshots/\(f) belongs to no program in ProgramRegistry.all; delete it")
        }
    }

    /// The printer is deterministic: two builds of a program print the same text.
    @Test(arguments: ProgramRegistry.all.map(\.name))
    func printingIsStable(_ name: String) throws {
        let info = try #require(ProgramRegistry.named(name))
        #expect(IRPrinter.print(info.build().ir) == IRPrinter.print(info.build().ir))
    }

    static func firstDifference(_ expected: String, _ actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? String(e[i]) : "<end of file>", al = i < a.count ? String(a[i]) : "<end of output>"
            if el != al { return "  line \(i + 1):\n    snapshot: \(el)\n    printed:  \(al)" }
        }
        return "  (no line differs)"
    }
}

/// Precedence in the printed text: what the printer writes must read back as the same tree.
@Suite struct IRPrinterPrecedenceTests {
    let x = Expr.field(.header("h", field: "x"))

    @Test func sliceOfAPrefixOperatorOrCastIsParenthesized() {
        #expect(IRPrinter.expr(.slice(.unary(.bitNot, x), hi: 7, lo: 0)) == "(~hdr.h.x)[7:0]")
        #expect(IRPrinter.expr(.slice(.unary(.negate, x), hi: 3, lo: 0)) == "(-hdr.h.x)[3:0]")
        #expect(IRPrinter.expr(.slice(.cast(x, width: 16), hi: 15, lo: 8)) == "((bit<16>)hdr.h.x)[15:8]")
        #expect(IRPrinter.expr(.slice(.binary(.add, x, .int(1)), hi: 7, lo: 0)) == "(hdr.h.x + 1)[7:0]")
    }

    @Test func prefixOperatorOfASliceNeedsNoParentheses() {
        #expect(IRPrinter.expr(.unary(.bitNot, .slice(x, hi: 7, lo: 0))) == "~hdr.h.x[7:0]")
        #expect(IRPrinter.expr(.slice(x, hi: 7, lo: 0)) == "hdr.h.x[7:0]")
    }
}

import Foundation
import Testing
import SluiceIR
import SluiceTesting
@testable import SluicePrograms

/// The printed IR of every built-in program, pinned in `Snapshots/<name>.ir`.
///
/// A change to a program, the DSL or the printer shows up here as a diff. When the change is
/// intended, record the snapshots again and commit them with the change:
///
///     SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests
@Suite struct IRSnapshotTests {
    static let snapshot = Snapshot(kind: "IR", verb: "printed",
                                   recordCommand: "SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests", ext: "ir")

    @Test(arguments: ProgramRegistry.all.map(\.name))
    func printedIRMatchesSnapshot(_ name: String) throws {
        let info = try #require(ProgramRegistry.named(name))
        if let problem = try Self.snapshot.check(IRPrinter.print(info.build().ir), name: name, snapshot: Self.snapshot.url(name), record: Snapshot.recording) {
            Issue.record("\(problem)")
        }
    }

    @Test func aMissingSnapshotFailsAndSaysHowToRecord() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-no-such-dir-\(UInt64.random(in: 0...UInt64.max))/p.ir")
        let message = try Self.snapshot.check("program p\n", name: "p", snapshot: url, record: false)
        #expect(message == "no IR snapshot for 'p' at \(url.path); record it with `SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests` and commit the file")
        #expect(!FileManager.default.fileExists(atPath: url.path), "checking must never write the snapshot")
    }

    @Test func recordingWritesTheSnapshotAndThenItMatches() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-snapshots-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("p.ir")
        #expect(try Self.snapshot.check("program p\nheaders {\n}\n", name: "p", snapshot: url, record: true) == nil)
        #expect(try Self.snapshot.check("program p\nheaders {\n}\n", name: "p", snapshot: url, record: false) == nil)
        let changed = try Self.snapshot.check("program p\nheaders { }\n", name: "p", snapshot: url, record: false)
        #expect(changed == """
            the IR of 'p' differs from \(url.path):
              line 2, column 10:
                snapshot: headers {
                printed:  headers { }
            If the change is intended, re-record with `SLUICE_RECORD_SNAPSHOTS=1 swift test --filter IRSnapshotTests` and commit the snapshot.
            """)
    }

    /// Every snapshot file belongs to a registered program (a renamed program leaves none behind).
    @Test func noStaleSnapshots() throws {
        let dir = Self.snapshot.url("x").deletingLastPathComponent()
        for f in Self.snapshot.stale(in: dir, names: Set(ProgramRegistry.all.map(\.name))) {
            Issue.record("Snapshots/\(f) belongs to no program in ProgramRegistry.all; delete it")
        }
    }

    /// The printer is deterministic: two builds of a program print the same text.
    @Test(arguments: ProgramRegistry.all.map(\.name))
    func printingIsStable(_ name: String) throws {
        let info = try #require(ProgramRegistry.named(name))
        #expect(IRPrinter.print(info.build().ir) == IRPrinter.print(info.build().ir))
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

import SluiceSupport
import SluiceControlPlane
import Foundation
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Every line-based input reads LF, CRLF and CR alike. A CRLF file that starts with a comment
/// was once read as one line (Swift takes "\r\n" for one Character): the comment swallowed the
/// file, entries files applied nothing and `sluice stf` passed a spec that fails with LF.
@Suite struct LineEndingTests {
    static let specsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Specs")
    static let endings = ["\n", "\r\n", "\r"]

    static func with(_ text: String, ending: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: ending)
    }

    static func temporary(_ text: String, _ suffix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-eol-\(UUID().uuidString)\(suffix)")
        try Data(text.utf8).write(to: url)
        return url
    }

    static var spec: String { get throws { try String(contentsOf: specsDirectory.appendingPathComponent("ipv4-router.stf"), encoding: .utf8) } }

    @Test(arguments: endings)
    func stfSpecPassesWithEveryEnding(_ ending: String) throws {
        let program = try IPv4Router.program().verified()
        let text = Self.with(try Self.spec, ending: ending)
        let r = try STFSpec(file: "s.stf", text: text).run(program)
        let lf = try STFSpec(file: "s.stf", text: Self.with(try Self.spec, ending: "\n")).run(program)
        #expect(r.expectations == lf.expectations && r.packets == lf.packets && r.expectations > 0)
    }

    /// The case: a spec that fails with LF endings fails with the others too.
    @Test(arguments: endings)
    func aFailingSpecFailsWithEveryEnding(_ ending: String) throws {
        let program = try IPv4Router.program().verified()
        // The first expectation's destination MAC changed: 08...0111 -> 08...0112.
        let wrong = try Self.spec.replacingOccurrences(of: "expect 1 080000000111", with: "expect 1 080000000112")
        #expect(throws: STFError.self) { try STFSpec(file: "s.stf", text: Self.with(wrong, ending: ending)).run(program) }
    }

    /// The command line, as the probe ran it: the CRLF twin of a failing spec fails, the CRLF twin
    /// of a passing one passes with the same counts.
    @Test func stfCommandJudgesCRLFSpecsAsLFOnes() throws {
        let wrong = try Self.temporary(Self.with(try Self.spec.replacingOccurrences(of: "expect 1 080000000111", with: "expect 1 080000000112"),
                                                 ending: "\r\n"), ".stf")
        let right = try Self.temporary(Self.with(try Self.spec, ending: "\r\n"), ".stf")
        defer { for u in [wrong, right] { try? FileManager.default.removeItem(at: u) } }
        let bad = try CLITests.run(["stf", wrong.path, "--program", "ipv4-router"])
        #expect(bad.status != 0, "\(bad.out)")
        let good = try CLITests.run(["stf", right.path, "--program", "ipv4-router"])
        let lf = try CLITests.run(["stf", Self.specsDirectory.appendingPathComponent("ipv4-router.stf").path, "--program", "ipv4-router"])
        #expect(good.status == 0)
        #expect(good.out.replacingOccurrences(of: right.path, with: "S") == lf.out.replacingOccurrences(of: Self.specsDirectory.appendingPathComponent("ipv4-router.stf").path, with: "S"))
    }

    @Test func aSpecThatExpectsNothingFails() throws {
        let program = try IPv4Router.program().verified()
        for text in ["# only a comment\r\npacket 0 00\r\n", "", "# nothing\n"] {
            let e = try #require(throws: STFError.self) { try STFSpec(file: "s.stf", text: text).run(program) }
            #expect(e.description.hasPrefix("s.stf: checks nothing: "), "\(e)")
        }
    }

    @Test(arguments: endings)
    func entriesFileAppliesEveryLineWithEveryEnding(_ ending: String) throws {
        let text = Self.with("""
            # routes, a comment first
            table_add ipv4_lpm ipv4_forward 10.0.1.1/32 => 08:00:00:00:01:11 1
            table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 08:00:00:00:02:22 2   # trailing comment
            table_set_default ipv4_lpm drop

            """, ending: ending)
        let h = try SwitchHarness(IPv4Router.program().verified())
        #expect(try EntriesFile(file: "e.txt", text: text).apply(to: h.pipeline) == 3)
        // A bad line is named by the same line number whatever the ending.
        let bad = Self.with("# header\ntable_add ipv4_lpm ipv4_forward 10.0.1.1/32 => 1\n", ending: ending)
        let e = try #require(throws: EntriesFileError.self) { try EntriesFile(file: "e.txt", text: bad).apply(to: h.pipeline) }
        #expect(e.line == 2)
    }

    @Test(arguments: endings)
    func hexTextCountsLinesWithEveryEnding(_ ending: String) throws {
        #expect(try [UInt8](hex: Self.with("# header\n00 01\n0203 # note\n", ending: ending)) == [0, 1, 2, 3])
        let e = try #require(throws: HexParseError.self) { try [UInt8](hex: Self.with("00\n01\nzz\n", ending: ending)) }
        #expect(e.line == 3)
    }

    @Test func textFilesRefuseNULInvalidUTF8AndEndlessInputs() throws {
        let bom = try Self.temporary("\u{FEFF}# bom\ntable_clear ipv4_lpm\n", ".txt")
        defer { try? FileManager.default.removeItem(at: bom) }
        #expect(try FileIO.readText(bom.path) == "# bom\ntable_clear ipv4_lpm\n")

        let nul = try #require(throws: TextFileError.self) { try FileIO.decodeText(Array("# a\r\nabc\u{0}".utf8), path: "x") }
        #expect(nul.description == "x: a NUL byte at byte 8 (line 2): a text file holds none (is it a binary file?)")
        let utf = try #require(throws: TextFileError.self) { try FileIO.decodeText([0x61, 0x0A, 0x62, 0xC3, 0x28], path: "x") }
        #expect(utf.description == "x: invalid UTF-8 at byte 3 (line 2): text files are read as UTF-8")
        let endless = try #require(throws: TextFileError.self) { try FileIO.readText("/dev/zero", limit: 1 << 20) }
        #expect(endless.description == "/dev/zero: larger than 1048576 bytes, the most a text input may hold (is it the file you meant?)")
        let missing = try #require(throws: TextFileError.self) { try FileIO.readText("/nonexistent/e.txt") }
        #expect(missing.description == "cannot read '/nonexistent/e.txt': no such file")
    }
}

import Foundation
import Testing
import SluiceIR
import SluiceTesting
@testable import SluicePrograms

/// Program files: the verified IR as versioned JSON, taken by every command in place of a
/// built-in name.
@Suite struct ProgramFileTests {
    /// Every shipped program written and read back is the same IR.
    @Test(arguments: ProgramRegistry.all.map(\.name))
    func everyShippedProgramRoundTrips(_ name: String) throws {
        let ir = try #require(ProgramRegistry.named(name)).build().verified()
        let data = try ProgramFile.encode(ir, writtenBy: "test")
        #expect(try ProgramFile.decode(data, file: "p.json") == ir)
    }

    static func routerJSON() throws -> String {
        String(decoding: try ProgramFile.encode(try IPv4Router.program().verified(), writtenBy: "test"), as: UTF8.self)
    }

    static func error(_ text: String) -> String {
        do { _ = try ProgramFile.decode(Data(text.utf8), file: "p.json"); return "no error" } catch { return "\(error)" }
    }

    @Test func aFaultIsNamedByItsJSONPath() throws {
        let json = try Self.routerJSON()
        let bad = json.replacingOccurrences(of: "\"kind\" : \"lpm\"", with: "\"kind\" : \"lmp\"")
        try #require(bad != json)
        #expect(Self.error(bad) == "p.json: program.tables[0].keys[0].kind: unknown value 'lmp' (valid: exact, lpm, ternary, range, optional)")
        let missing = json.replacingOccurrences(of: "\"size\" : 131072", with: "\"sizes\" : 131072")
        try #require(missing != json)
        #expect(Self.error(missing) == "p.json: program.tables[0].size: missing")
    }

    @Test func otherVersionsAndFormatsAreRefusedBySaying() throws {
        let json = try Self.routerJSON()
        #expect(Self.error(json.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 7"))
                == "p.json: written in program file format version 7; this sluice reads versions 1 ... 1 (use a newer sluice, or write the file again with this one)")
        #expect(Self.error(json.replacingOccurrences(of: "\"sluice-program\"", with: "\"bmv2\""))
                == "p.json: not a Sluice program file (its \"format\" is 'bmv2'; valid: 'sluice-program')")
        #expect(Self.error("{\"format\": ").hasPrefix("p.json: not JSON ("))
    }

    /// An endless input is refused at the limit, not read until memory runs out.
    @Test func anEndlessFileIsRefusedAtTheLimit() {
        do { _ = try ProgramFile.load(path: "/dev/zero"); Issue.record("no error") } catch {
            #expect("\(error)" == "/dev/zero: larger than \(ProgramFile.maxBytes) bytes: not a program file")
        }
        do { _ = try ProgramFile.load(path: "/nonexistent/p.json"); Issue.record("no error") } catch {
            #expect("\(error)" == "/nonexistent/p.json: cannot read: no such file")
        }
    }

    /// A hand-edited file that no longer verifies is refused with the verifier's diagnostics.
    @Test func aFileThatDoesNotVerifyIsRefused() throws {
        let json = try Self.routerJSON()
        let block = try #require(json.range(of: "\"defaultAction\" : {"))
        let action = try #require(json.range(of: "\"drop\"", range: block.upperBound..<json.endIndex))
        let bad = json.replacingCharacters(in: action, with: "\"dorp\"")
        let e = Self.error(bad)
        #expect(e.hasPrefix("p.json: the program does not verify:\n") && e.contains("dorp"), "\(e)")
    }

    /// The command line takes the file where it takes a name: the STF spec passes, and run gives
    /// the same bytes as with the built-in program.
    @Test func commandsTakeAProgramFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-program-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try CLITests.run(["compile", "ipv4-router", "--emit", "program", "-o", path])
        #expect(w.status == 0, "\(w.err)")
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Specs/ipv4-router.stf").path
        let stf = try CLITests.run(["stf", spec, "--program", path])
        #expect(stf.status == 0 && stf.out.contains(": pass ("), "\(stf.out)\(stf.err)")
        let packet = "0:00000000000100000000009908004500002400010000401" + "15cbf0a0009090a00010104d200500010d0920001020304050607"
        let entries = try HostileInputCLITests.temporaryFile("pf-routes", "table_add ipv4_lpm ipv4_forward 10.0.1.1/32 => 08:00:00:00:01:11 1\n")
        let a = try CLITests.run(["run", path, "--entries", entries, "--packet", packet])
        let b = try CLITests.run(["run", "ipv4-router", "--entries", entries, "--packet", packet])
        #expect(a.status == 0 && a.out == b.out && a.out.contains("-> out port 1"), "\(a.out)\(a.err)")
        let missing = try CLITests.run(["run", "/nonexistent/p.json"])
        #expect(missing.status == 1 && missing.err.hasPrefix("Error: /nonexistent/p.json: cannot read"), "\(missing.err)")
    }
}

import Testing
@testable import SluiceEmulator

/// Deeply nested YAML once overflowed the YAML library's recursion and crashed `sluice emulate`.
@Suite struct NestingLimitTests {
    static func refusal(_ yaml: String) -> String {
        do { _ = try TopologyFile.parse(yaml, file: "t.yaml", baseDirectory: "/nonexistent", programs: .builtIn); return "no error" } catch { return "\(error)" }
    }

    @Test func deepFlowCollectionsAreRefusedByLine() {
        let yaml = "name: x\ntopology: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        #expect(Self.refusal(yaml) == "t.yaml:2: nested more than 64 levels deep (valid: a topology nests a few levels; this looks like damaged or generated YAML)")
    }

    @Test func deepBlockMappingsAreRefusedByLine() {
        let yaml = "name: x\ntopology:\n" + (1..<3000).map { String(repeating: "  ", count: $0) + "k\($0):\n" }.joined()
        #expect(Self.refusal(yaml).hasPrefix("t.yaml:66: nested more than 64 levels deep"))
    }

    @Test func quotedBracketsAndCommentsDoNotCount() {
        let line = "# " + String(repeating: "[", count: 200) + "\nname: \"" + String(repeating: "{", count: 200) + "\"\n"
        #expect(NestingLimit.firstLineTooDeep(line) == nil)
    }
}

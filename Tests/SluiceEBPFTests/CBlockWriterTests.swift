import Testing
@testable import SluiceEBPF

/// The block writer's indentation and names, which every emitter's output rests on.
@Suite struct CBlockWriterTests {
    @Test func blocksIndentFourSpacesALevel() {
        let out = CBlockWriter(depth: 1)
        out.line("int x = 0;")
        out.open("if (x) {")
        out.line("x = 1;")
        out.reopen("} else {")
        out.block("while (x) {") { out.line("x--;") }
        out.close()
        #expect(out.take() == [
            "    int x = 0;",
            "    if (x) {",
            "        x = 1;",
            "    } else {",
            "        while (x) {",
            "            x--;",
            "        }",
            "    }",
        ])
        #expect(out.lines.isEmpty && out.depth == 1)
    }

    @Test func freshNamesGoOnCountingAcrossTakes() {
        let out = CBlockWriter(depth: 0)
        #expect(out.fresh("v") == "v1")
        #expect(out.fresh("hit") == "hit2")
        _ = out.take()
        #expect(out.fresh("v") == "v3")
        #expect(out.lastNumber == 3)
    }
}

/// The deparser emits each header (or stack) at most once.
struct DeparserEmits: VerifierRule {
    let name = "deparser"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let emit = ix.program.deparser.emit
        var counts: [String: Int] = [:]
        for h in emit { counts[h, default: 0] += 1 }
        var reported: Set<String> = []
        return emit.compactMap { h in
            guard counts[h]! > 1, reported.insert(h).inserted else { return nil }
            return diagnostic(ix, "deparser", "emits header '\(h)' \(counts[h]!) times",
                              fix: "emit '\(h)' once, at its place in the packet")
        }
    }
}

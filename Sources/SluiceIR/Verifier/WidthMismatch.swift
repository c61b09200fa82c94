/// Widths agree wherever values meet: assignments, operands, conditions, slices, casts,
/// concatenations, extern values, digests, checksums and keys; values wider than 64 bits are only
/// copied, compared for equality, sliced, concatenated and matched. The inference itself is
/// `WidthCheck` (WidthInference.swift), which constant-range shares.
struct WidthMismatch: VerifierRule {
    let name = "width-mismatch"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        uniqued(WidthCheck.run(ix).widthProblems.map { diagnostic(ix, $0.element, $0.message, fix: $0.fix) })
    }
}

/// A program never writes standard metadata the target sets (ingress port, timestamps, queue
/// depths, ...): by assignment, register read or result, meter color or checksum.
struct ReadOnlyStandard: VerifierRule {
    let name = "read-only-standard"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        var out: [Diagnostic] = []
        Walk.statements(ix.program) { s, site in
            for r in Walk.writtenFields(of: s) {
                guard case .standard(let f) = r, f.isReadOnly else { continue }
                let shown = Walk.show(r)
                let what = switch s {
                case .registerRead(_, let reg, _): "reads register '\(reg)' into \(shown)"
                case .registerAction(let reg, _, _, _, _): "returns the value of register '\(reg)' into \(shown)"
                case .meter(let m, _, _): "writes the color of meter '\(m)' into \(shown)"
                case .updateChecksum, .incrementalChecksum: "writes a checksum into \(shown)"
                default: "assigns \(shown)"
                }
                let fix = f == .egressPort
                    ? "set standard.egressSpec to choose the output port"
                    : "copy the value into a metadata field and change that instead"
                out.append(diagnostic(ix, site.element, "\(what), but \(shown) is set by the target; a program may only read it",
                                      fix: fix))
            }
        }
        return uniqued(out)
    }
}

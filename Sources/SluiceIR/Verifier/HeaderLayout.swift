/// Header types are whole bytes of fields of 1 to 128 bits, header instances have a type and a
/// bounded stack size, and metadata fields have 1 to 128 bits.
struct HeaderLayout: VerifierRule {
    let name = "header-layout"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let p = ix.program
        var out: [Diagnostic] = []
        for t in p.headerTypes {
            let el = "header type '\(t.name)'"
            if t.fields.isEmpty {
                out.append(diagnostic(ix, el, "has no fields", fix: "declare at least one field, or remove the header type"))
                continue
            }
            var widthsValid = true
            for f in t.fields where !(1...128).contains(f.width) {
                widthsValid = false
                out.append(diagnostic(ix, el, "field '\(f.name)' has \(plural(f.width, "bit")); header fields have 1 to 128 bits",
                                      fix: "use a width from 1 to 128, or split the field"))
            }
            if widthsValid, t.bitWidth % 8 != 0 {
                let pad = 8 - t.bitWidth % 8
                out.append(diagnostic(ix, el, "is \(plural(t.bitWidth, "bit")) long, not a whole number of bytes",
                                      fix: "make the widths add up to a multiple of 8, e.g. add a \(pad)-bit padding field"))
            }
        }
        for h in p.headers {
            let el = "header '\(h.name)'"
            if ix.headerTypes[h.type] == nil {
                out.append(diagnostic(ix, el, "has type '\(h.type)', which is not declared",
                                      fix: Suggest.oneOf(h.type, p.headerTypes.map(\.name), none: "declare header type '\(h.type)'")))
            }
            if !(0...64).contains(h.stackSize) {
                out.append(diagnostic(ix, el, "has stack size \(h.stackSize); stacks have 1 to 64 elements (0 for a plain header)",
                                      fix: "use a stack size from 0 to 64"))
            }
        }
        for f in p.metadata where !(1...128).contains(f.width) {
            out.append(diagnostic(ix, "metadata", "field '\(f.name)' has \(plural(f.width, "bit")); metadata fields have 1 to 128 bits",
                                  fix: "use a width from 1 to 128"))
        }
        return out
    }
}

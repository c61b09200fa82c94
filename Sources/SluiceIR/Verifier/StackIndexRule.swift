/// Stack elements are indexed and plain headers are not; constant indices are within the stack;
/// push and pop apply to stacks by 1 to the stack size; a stack is extracted with `.next`.
struct StackIndexRule: VerifierRule {
    let name = "stack-index"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let p = ix.program
        var out: [Diagnostic] = []

        /// `shown(i)` prints the access with index `i`, for the message and the fix.
        func access(_ h: String, _ i: StackIndex?, _ el: String, _ verb: String, _ shown: (StackIndex?) -> String) {
            guard let inst = ix.headers[h] else { return }  // reported by undefined-reference
            switch (inst.isStack, i) {
            case (false, .some):
                out.append(diagnostic(ix, el, "\(verb) \(shown(i)), but header '\(h)' is not a stack",
                                      fix: "drop the index: \(shown(nil))"))
            case (true, nil):
                out.append(diagnostic(ix, el, "\(verb) \(shown(nil)), but header '\(h)' is a stack of \(inst.stackSize)",
                                      fix: "pick an element: \(shown(.at(0))) or \(shown(.last))"))
            case (true, .at(let n)) where n < 0 || n >= inst.stackSize:
                out.append(diagnostic(ix, el, "\(verb) \(shown(i)), but stack '\(h)' has \(plural(inst.stackSize, "element"))",
                                      fix: "use an index from 0 to \(inst.stackSize - 1), or .last"))
            default:
                break
            }
        }
        func hdr(_ h: String, _ suffix: String = "") -> (StackIndex?) -> String {
            { i in IRPrinter.ref(.header(h, field: "", index: i)).dropLast() + suffix }
        }

        Walk.fieldRefs(p) { r, site, use in
            guard case .header(let h, let f, let i) = r else { return }
            access(h, i, site.element, use.verb) { IRPrinter.ref(.header(h, field: f, index: $0)) }
        }
        Walk.expressions(p) { e, site in
            if case .isValid(let h, let i) = e { access(h, i, site.element, "calls", hdr(h, ".isValid()")) }
        }
        Walk.statements(p) { s, site in
            let el = site.element
            switch s {
            case .setValid(let h, let i): access(h, i, el, "calls", hdr(h, ".setValid()"))
            case .setInvalid(let h, let i): access(h, i, el, "calls", hdr(h, ".setInvalid()"))
            case .pushFront(let h, let n), .popFront(let h, let n):
                guard let inst = ix.headers[h] else { return }
                let push = if case .pushFront = s { true } else { false }
                let verb = push ? "pushes" : "pops"
                if !inst.isStack {
                    out.append(diagnostic(ix, el, "\(verb) header '\(h)', which is not a stack",
                                          fix: "declare '\(h)' with a stack size, or use setValid / setInvalid"))
                } else if !(1...inst.stackSize).contains(n) {
                    out.append(diagnostic(ix, el, "\(verb) \(plural(n, "element")) \(push ? "onto" : "from") stack '\(h)', which has \(inst.stackSize)",
                                          fix: "\(push ? "push" : "pop") 1 to \(inst.stackSize) elements"))
                }
            case .extract(let h, let i):
                guard let inst = ix.headers[h] else { return }
                if inst.isStack {
                    if i != .next {
                        out.append(diagnostic(ix, el, "extracts \(hdr(h)(i)), but '\(h)' is a stack, extracted element by element with .next",
                                              fix: "extract \(hdr(h)(.next))"))
                    }
                } else if i != nil {
                    out.append(diagnostic(ix, el, "extracts \(hdr(h)(i)), but header '\(h)' is not a stack",
                                          fix: "drop the index: extract hdr.\(h)"))
                }
            default:
                break
            }
        }
        return uniqued(out)
    }
}

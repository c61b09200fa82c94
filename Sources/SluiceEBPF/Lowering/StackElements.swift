import SluiceIR

/// Which element of a header stack an index selects. A stack's elements sit at constant
/// offsets; its dynamic indexes (`.last`, `.next`) depend on the counter of elements extracted
/// or pushed (`sl_nx_<stack>`, a local), so they become conditions on it tried in order, each
/// branch naming one constant element: the kernel verifier, which knows the counter, follows one.
struct StackElements {
    let cx: LoweringContext

    /// `(condition, element)` in order, the last condition `nil` (otherwise); element `nil`: none.
    typealias Cases = [(condition: String?, element: Int?)]

    /// The counter of a stack's elements extracted or pushed.
    static func next(_ h: String) -> String { "sl_nx_" + EBPFLayout.ident(h) }

    static func indexText(_ idx: StackIndex?) -> String {
        switch idx {
        case nil: ""
        case .at(let i)?: "[\(i)]"
        case .last?: ".last"
        case .next?: ".next"
        }
    }

    /// The element whose bytes a field of `idx` reads and writes (the runtime's `headerBase`):
    /// `.last` is the counter - 1 (element 0 when the stack is empty), `.next` the counter
    /// clamped to the last element.
    func field(_ slot: EBPFLayout.HeaderSlot, _ idx: StackIndex?) throws(EBPFError) -> Cases {
        let n = slot.elements, c = Self.next(slot.name)
        switch idx {
        case nil: return [(nil, 0)]
        case .at(let i)?:
            guard i >= 0 && i < n else { throw cx.fail("hdr.\(slot.name)[\(i)]", "index \(i) is outside stack '\(slot.name)' of \(n)") }
            return [(nil, i)]
        case .last?:
            guard slot.isStack else { throw cx.fail("hdr.\(slot.name).last", "'\(slot.name)' is not a stack") }
            return (1..<n).reversed().map { ("\(c) >= \($0 + 1)", $0) } + [(nil, 0)]
        case .next?:
            guard slot.isStack else { throw cx.fail("hdr.\(slot.name).next", "'\(slot.name)' is not a stack") }
            return (1..<n).reversed().map { ("\(c) >= \($0)", $0) } + [(nil, 0)]
        }
    }

    /// The element whose validity `idx` reads and sets (the runtime's `validIndex`): `.last`
    /// of an empty stack and `.next` of a full one are none (invalid; setValid does nothing).
    func validity(_ slot: EBPFLayout.HeaderSlot, _ idx: StackIndex?) throws(EBPFError) -> Cases {
        let n = slot.elements, c = Self.next(slot.name)
        switch idx {
        case nil, .at?: return try field(slot, idx)
        case .last?:
            guard slot.isStack else { throw cx.fail("hdr.\(slot.name).last", "'\(slot.name)' is not a stack") }
            return (0..<n).reversed().map { ("\(c) >= \($0 + 1)", $0) } + [(nil, nil)]
        case .next?:
            guard slot.isStack else { throw cx.fail("hdr.\(slot.name).next", "'\(slot.name)' is not a stack") }
            return [("\(c) >= \(n)", nil)] + (1..<n).reversed().map { ("\(c) >= \($0)", $0) } + [(nil, 0)]
        }
    }

    /// A value per case as nested conditionals.
    static func ternary(_ cases: Cases, _ value: (Int?) -> String) -> String {
        var r = value(cases.last!.element)
        for c in cases.dropLast().reversed() { r = "(\(c.condition!) ? \(value(c.element)) : \(r))" }
        return r
    }

    /// A statement per case (nothing for none), as an if / else-if chain.
    func chain(_ cases: Cases, comment: String, _ body: (Int) -> String) {
        let out = cx.out
        if cases.count == 1, let e = cases[0].element { out.line("\(body(e)) /* \(comment) */"); return }
        out.line("/* \(comment) */")
        for (i, c) in cases.enumerated() {
            let stmt = c.element.map(body) ?? "{ /* none */ }"
            if i == 0 { out.line("if (\(c.condition!)) { \(stmt) }") }
            else if let cond = c.condition { out.line("else if (\(cond)) { \(stmt) }") }
            else { out.line("else { \(stmt) }") }
        }
    }
}

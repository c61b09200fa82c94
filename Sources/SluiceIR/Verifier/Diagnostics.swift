// What the rules share to word a diagnostic: the element, plurals, widths and casts in messages.

extension VerifierRule {
    func diagnostic(_ ix: ProgramIndex, _ element: String, _ message: String, fix: String) -> Diagnostic {
        Diagnostic(program: ix.program.name, element: element, message: message, fix: fix, rule: name)
    }
}

/// The diagnostics without repeats (the same mistake used twice in one element), in order.
func uniqued(_ ds: [Diagnostic]) -> [Diagnostic] {
    var seen: Set<Diagnostic> = []
    return ds.filter { seen.insert($0).inserted }
}


func plural(_ n: Int, _ word: String, _ words: String? = nil) -> String {
    "\(n) \(n == 1 ? word : words ?? word + "s")"
}

/// "a 16-bit", "an 8-bit".
func aBits(_ n: Int) -> String {
    let an = n == 8 || n == 11 || n == 18 || (80...89).contains(n) || (800...899).contains(n)
    return "\(an ? "an" : "a") \(n)-bit"
}

/// The printed cast of `e` to `width` bits, for fixes.
func castFix(_ e: Expr, _ width: Int) -> String { IRPrinter.expr(.cast(e, width: width)) }

/// The largest value of `width` bits.
func maxValue(_ width: Int) -> UInt128 {
    width >= 128 ? UInt128.max : (UInt128(1) << UInt128(width)) - 1
}

func fits(_ v: UInt128, _ width: Int) -> Bool { width >= 128 || (width > 0 && v <= maxValue(width)) }

import SluiceIR

/// The deparser's emit on the host: the valid headers in order in front of the unparsed payload,
/// in the packet buffer's headroom (`pos`: the runtime's start and length), as the runtime's
/// `deparse`; too little headroom is `SL_HEADROOM`, and a truncate cuts the length (a stage
/// without one never compares its length with `sl_trunc`).
///
/// Headers are edited in place (`LoweringContext.headerBytes`): when the valid headers, in
/// emit order, are exactly the bytes the parser went over (none added, removed or moved),
/// the packet already is the output and nothing is copied. Otherwise they are gathered into
/// the state's `out` first (their bytes may lie where the output goes), then written. Where
/// the program cannot move a header (`ProgramFacts.deparsesInPlace`), the check itself goes.
struct HostDeparserEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func emit() throws(EBPFError) {
        let names = cx.program.deparser.emit
        let emits = try DeparserEmitter.emits(cx)
        func bytes(_ h: (size: Int, offset: Int, valid: Int)) -> String { LoweringContext.hostHeader(valid: h.valid) }
        if cx.layout.facts.deparsesInPlace {
            out.line("/* emit \(names.joined(separator: ", ")): the headers lie as parsed, edited in place */")
            if cx.truncates { out.line("if ((long)sl_trunc < pos[1]) pos[1] = (long)sl_trunc;") }
            return
        }
        out.block("{ /* emit \(names.joined(separator: ", ")) */") {
            out.line("long out_len = 0; int moved = 0;")
            for h in emits {
                out.line("if (\(cx.valid(h.valid))) { moved |= \(bytes(h)) != (__u8 *)data + out_len; out_len += \(h.size); }")
            }
            out.open("if (!moved && out_len == (long)cur) { /* as parsed: edited in place */")
            if cx.truncates { out.line("if ((long)sl_trunc < pos[1]) pos[1] = (long)sl_trunc;") }
            out.reopen("} else {")
            out.line("long start = pos[0] + (long)cur - out_len;")
            out.line("if (start < 0) return SL_HEADROOM;")
            out.line("long len = out_len + pos[1] - (long)cur;")
            out.line("__u8 *p = s->out;")
            for h in emits { out.line("if (\(cx.valid(h.valid))) { __builtin_memcpy(p, \(bytes(h)), \(h.size)); p += \(h.size); }") }
            out.line("__builtin_memcpy(base + start, s->out, out_len);")
            out.line(cx.truncates ? "pos[0] = start; pos[1] = (long)sl_trunc < len ? (long)sl_trunc : len;" : "pos[0] = start; pos[1] = len;")
            out.close()
        }
    }
}

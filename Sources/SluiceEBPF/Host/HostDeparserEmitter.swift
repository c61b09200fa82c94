import SluiceIR

/// The deparser's emit on the host: the valid headers in order in front of the unparsed payload,
/// in the packet buffer's headroom (`pos`: the runtime's start and length), as the runtime's
/// `deparse`; too little headroom is `SL_HEADROOM`, and a truncate cuts the length.
struct HostDeparserEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func emit() throws(EBPFError) {
        let names = cx.program.deparser.emit
        let emits = try DeparserEmitter.emits(cx)
        out.block("{ /* emit \(names.joined(separator: ", ")) */") {
            out.line("long out_len = 0;")
            for h in emits { out.line("if (s->valid[\(h.valid)]) out_len += \(h.size);") }
            out.line("long start = pos[0] + (long)cur - out_len;")
            out.line("if (start < 0) return SL_HEADROOM;")
            out.line("long len = out_len + pos[1] - (long)cur;")
            out.line("__u8 *p = base + start;")
            for h in emits { out.line("if (s->valid[\(h.valid)]) { __builtin_memcpy(p, &s->hdr[\(h.offset)], \(h.size)); p += \(h.size); }") }
            out.line("pos[0] = start; pos[1] = (long)sl_trunc < len ? (long)sl_trunc : len;")
        }
    }
}

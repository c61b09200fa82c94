import SluiceIR

/// The deparser's emit: the valid headers in order in front of the unparsed payload (the bytes
/// from the parser's cursor on). The packet's front grows or shrinks by the difference
/// (`bpf_xdp_adjust_head`) and a truncate cuts its tail (`bpf_xdp_adjust_tail`): those two
/// calls are where the packet is XDP's.
struct DeparserEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func emit() throws(EBPFError) {
        let names = cx.program.deparser.emit
        let emits = try Self.emits(cx)
        // The write offset is kept within 10 bits for the verifier (`& 0x3FF` below).
        let most = emits.reduce(0) { $0 + $1.size }
        guard most <= 1024 else {
            throw cx.fail("deparser emit \(names.joined(separator: ", "))", "up to \(most) bytes of headers (stacks count each element); the XDP backend emits at most 1024")
        }
        out.block("{ /* emit \(names.joined(separator: ", ")) */") {
            out.line("SL_ACC = 0;")
            for h in emits { out.line("if (\(cx.valid(h.valid))) SL_ACC += \(h.size);") }
            out.line("__u32 out_len = (__u32)SL_ACC & 0xFFFF;")
            out.line("int delta = (int)cur - (int)out_len;")
            out.line("if (delta != 0 && bpf_xdp_adjust_head(ctx, delta)) return sl_finish(SL_TOO_LARGE, 0);")
            out.line("data = (void *)(long)ctx->data; data_end = (void *)(long)ctx->data_end;")
            out.line("SL_ACC = 0;")
            for h in emits {
                out.block("if (\(cx.valid(h.valid))) {") {
                    out.line("__u32 at = (__u32)SL_ACC & 0x3FF;")
                    out.line("__u8 *p = SL_PKT((__u8 *)data + at);")
                    out.line("if ((void *)(p + \(h.size)) > data_end) return sl_finish(SL_TOO_LARGE, 0);")
                    out.line("__builtin_memcpy(p, &s->hdr[\(h.offset)], \(h.size)); SL_ACC = at + \(h.size);")
                }
            }
            out.line("__u32 total = (__u32)(data_end - data);")
            out.block("if (sl_trunc < total) { /* truncate: cut the tail */") {
                out.line("if (bpf_xdp_adjust_tail(ctx, (int)sl_trunc - (int)total)) return sl_finish(SL_TOO_LARGE, 0);")
                out.line("data = (void *)(long)ctx->data; data_end = (void *)(long)ctx->data_end;")
            }
        }
    }

    /// What the deparser emits, in order: each header's bytes and validity slot; a stack's
    /// elements in order (the valid ones are written).
    static func emits(_ cx: LoweringContext) throws(EBPFError) -> [(size: Int, offset: Int, valid: Int)] {
        var emits: [(size: Int, offset: Int, valid: Int)] = []
        for name in cx.program.deparser.emit {
            let h = try cx.headerSlot(name)
            for e in 0..<h.elements { emits.append((h.size, h.offset(element: e), h.valid + e)) }
        }
        return emits
    }
}

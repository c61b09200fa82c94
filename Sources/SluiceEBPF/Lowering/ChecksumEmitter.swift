import SluiceIR

/// Internet checksums (RFC 1071) over headers as the state keeps them, in wire format: a
/// header's bytes are summed whole (`sl_csum`) into `SL_ACC`, then folded (`sl_fold`). And the
/// incremental update of RFC 1624 from a field's old and new values.
struct ChecksumEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    /// update_checksum (the field set to the complement of the sum over the headers, the field
    /// counted as 0) or verify_checksum (standard.checksumError when the sum is not all ones).
    func checksum(_ f: FieldRef, _ over: [String], verify: Bool) throws(EBPFError) {
        guard case .header(let fh, _, let fidx) = f else { throw cx.fail("checksum \(f)", "the checksum field must be a header field") }
        // Stacks: each element (the runtime's spans).
        var spans: [(name: String, size: Int, bytes: String, valid: Int)] = []
        for h in over {
            let sl = try cx.headerSlot(h)
            for e in 0..<sl.elements { spans.append((sl.name, sl.size, cx.headerBytes(sl, element: e), sl.valid + e)) }
        }
        if let odd = spans.first(where: { $0.size % 2 != 0 }), spans.count > 1 {
            throw cx.fail("checksum over \(odd.name)", "an odd-sized header among several (the XDP backend sums 16-bit words per header)")
        }
        let fslot = try cx.headerSlot(fh)
        let fcases = try cx.elements.validity(fslot, fidx)
        guard fcases.count == 1, let fe = fcases[0].element else { throw cx.fail("checksum \(f)", "a checksum field cannot be in a dynamic stack element") }
        let fv = fslot.valid + fe
        let sum = out.fresh("csum")
        try out.block("if (\(cx.valid(fv))) { /* \(verify ? "verify" : "update")_checksum(\(f)) over \(over.joined(separator: ", ")) */") { () throws(EBPFError) in
            if !verify { try cx.fields.store(f, "0") }
            out.line("SL_ACC = 0;")
            for sp in spans {
                out.line("if (\(cx.valid(sp.valid))) SL_ACC += sl_csum(\(sp.bytes), \(sp.size));")
            }
            out.line("__u64 \(sum) = sl_fold(SL_ACC);")
            if verify {
                out.line("if (\(sum) != 0xFFFF) \(cx.stdArray)[\(cx.std(.checksumError))] = 1;")
            } else {
                try cx.fields.store(f, "(~\(sum) & 0xFFFF)")
            }
        }
    }

    /// The checksum field `f` updated for a value that changed from `old` to `new` (RFC 1624).
    func incremental(_ f: FieldRef, old: Expr, new: Expr) throws(EBPFError) {
        let ow = cx.index.width(of: old) ?? 0
        guard ow % 16 == 0, ow <= 64 else { throw cx.fail("incremental checksum of \(f)", "old and new values must be 16, 32, 48 or 64 bits") }
        let o = try cx.expressions.expr(old, expected: ow).0, n = try cx.expressions.expr(new, expected: ow).0
        let cur = try cx.fields.load(f)
        let acc = out.fresh("ic")
        try out.block("{ /* RFC 1624 incremental update of \(f) */") { () throws(EBPFError) in
            out.line("__u64 \(acc) = (~(\(cur)) & 0xFFFF);")
            for wd in stride(from: 0, to: ow, by: 16) {
                out.line("\(acc) += (~((\(o)) >> \(wd)) & 0xFFFF) + (((\(n)) >> \(wd)) & 0xFFFF);")
            }
            out.line("\(acc) = (\(acc) & 0xFFFF) + (\(acc) >> 16); \(acc) = (\(acc) & 0xFFFF) + (\(acc) >> 16); \(acc) = (\(acc) & 0xFFFF) + (\(acc) >> 16);")
            try cx.fields.store(f, "(~\(acc) & 0xFFFF)")
        }
    }
}

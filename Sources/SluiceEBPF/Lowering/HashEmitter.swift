import SluiceIR

/// Hashes: CRC or identity over the inputs' bits, concatenated big-endian and left-padded to
/// bytes (the runtime's layout) in a buffer on the stack, then `base + h % modulo` truncated to
/// the hash's width.
struct HashEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    /// Writes the buffer and the hash's local; returns the expression of the result.
    func hash(_ alg: HashAlgorithm, _ inputs: [Expr], width w: Int, base: UInt64, modulo: UInt64) throws(EBPFError) -> String {
        var parts: [(String, Int)] = []
        for i in inputs { parts.append(try cx.expressions.expr(i)) }
        let total = parts.reduce(0) { $0 + $1.1 }
        let nbytes = (total + 7) / 8
        guard nbytes <= 64 else { throw cx.fail("hash over \(total) bits", "up to 512 bits of input on XDP") }
        let buf = out.fresh("hb"), h = out.fresh("h")
        out.line("__u8 \(buf)[\(max(nbytes, 1))]; __builtin_memset(\(buf), 0, sizeof(\(buf))); /* hash input */")
        var bit = nbytes * 8 - total
        for p in parts {
            // sl_set handles at most 64 bits spanning 8 bytes: wider inputs go in 56-bit pieces.
            var remaining = p.1
            while remaining > 0 {
                let chunk = min(remaining, 56)
                // On the host, whole bytes go in at once (`sl_setb`): a 5-tuple's 13 bytes in
                // five stores rather than thirteen shifted ones.
                let set = cx.headersInPlace && bit % 8 == 0 && chunk % 8 == 0 ? "sl_setb" : "sl_set"
                out.line("\(set)(\(buf), \(bit), \(chunk), (\(p.0)) >> \(remaining - chunk));")
                bit += chunk
                remaining -= chunk
            }
        }
        let raw: String
        switch alg {
        case .crc32: raw = "(__u64)sl_crc32(\(buf), \(nbytes))"
        case .crc16: raw = "(__u64)sl_crc16(\(buf), \(nbytes))"
        case .identity:
            guard total <= 64 else { throw cx.fail("identity hash over \(total) bits", "up to 64 bits on XDP") }
            raw = parts.count == 1 ? parts[0].0 : "sl_get(\(buf), \(nbytes * 8 - total), \(total))"
        }
        out.line("__u64 \(h) = \(raw);")
        if modulo == 0 { return "((\(base)ULL + \(h)) & \(CLiteral.mask(w)))" }
        return "((\(base)ULL + \(h) % \(modulo)ULL) & \(CLiteral.mask(w)))"
    }
}

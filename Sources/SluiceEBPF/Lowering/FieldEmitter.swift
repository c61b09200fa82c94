import SluiceIR

/// Reads and writes of fields where the state keeps them: header fields as big-endian bit
/// ranges of the header's bytes (`sl_get`, `sl_set`), metadata and standard fields as 64-bit
/// slots. A write masks the value to the field's width.
struct FieldEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func width(of f: FieldRef) throws(EBPFError) -> Int {
        guard let d = cx.index.decl(of: f) else { throw cx.fail("\(f)", "unknown field") }
        return d.width
    }

    func load(_ f: FieldRef) throws(EBPFError) -> String {
        switch f {
        case .header(let h, let field, let idx):
            let slot = try cx.headerSlot(h)
            guard let d = slot.type.field(named: field), let bit = slot.type.bitOffset(of: field) else { throw cx.fail("hdr.\(h).\(field)", "unknown field") }
            let get = getter(bit: bit, width: d.width)
            return StackElements.ternary(try cx.elements.field(slot, idx)) { (e: Int?) -> String in "\(get)(\(cx.headerBytes(slot, element: e!)), \(bit), \(d.width))" }
        case .meta(let m):
            guard let i = cx.layout.metaSlots[m] else { throw cx.fail("meta.\(m)", "unknown metadata") }
            return "\(cx.metaArray)[\(i)]"
        case .standard(let sf):
            return "\(cx.stdArray)[\(cx.std(sf))]"
        }
    }

    /// How a header field is read: `sl_get`, byte by byte; on the host, a field of 3 to 8
    /// whole bytes at once (`sl_getb`: an IPv4 address in one load and a byte swap, where
    /// `sl_get` took four loads, three shifts and three ors).
    func getter(bit: Int, width: Int) -> String {
        cx.headersInPlace && bit % 8 == 0 && width % 8 == 0 && width >= 24 && width <= 64 ? "sl_getb" : "sl_get"
    }

    /// How a header field is written: `sl_set`, byte by byte; on the host, a field within one
    /// 32-bit word of its header (counted from the header's start, the word inside it) as that
    /// whole word (`sl_setw`, `HostPrelude.helpers`), so that a checksum's 32-bit loads of the
    /// word take the stored value at once; other fields of whole bytes as their bytes
    /// (`sl_setb`).
    func setter(bit: Int, width: Int, size: Int) -> String {
        guard cx.headersInPlace else { return "sl_set" }
        if bit % 32 + width <= 32, bit / 32 * 4 + 4 <= size { return "sl_setw" }
        if bit % 8 == 0, width % 8 == 0, width <= 64 { return "sl_setb" }
        return "sl_set"
    }

    func store(_ f: FieldRef, _ value: String) throws(EBPFError) {
        switch f {
        case .header(let h, let field, let idx):
            let slot = try cx.headerSlot(h)
            guard let d = slot.type.field(named: field), let bit = slot.type.bitOffset(of: field) else { throw cx.fail("hdr.\(h).\(field)", "unknown field") }
            let els = try cx.elements.field(slot, idx)
            let set = setter(bit: bit, width: d.width, size: slot.size)
            if els.count == 1 {
                out.line("\(set)(\(cx.headerBytes(slot, element: els[0].element!)), \(bit), \(d.width), \(value)); /* hdr.\(h)\(StackElements.indexText(idx)).\(field) */")
            } else {
                let v = out.fresh("sv")
                out.block("{ __u64 \(v) = \(value);") {
                    cx.elements.chain(els, comment: "hdr.\(h)\(StackElements.indexText(idx)).\(field)") { (e: Int) -> String in
                        "\(set)(\(cx.headerBytes(slot, element: e)), \(bit), \(d.width), \(v));"
                    }
                }
            }
        case .meta(let m):
            guard let i = cx.layout.metaSlots[m] else { throw cx.fail("meta.\(m)", "unknown metadata") }
            out.line("\(cx.metaArray)[\(i)] = (\(value)) & \(CLiteral.mask(cx.program.metadata[i].width)); /* meta.\(m) */")
        case .standard(let sf):
            out.line("\(cx.stdArray)[\(cx.std(sf))] = (\(value)) & \(CLiteral.mask(sf.width)); /* standard.\(sf.rawValue) */")
        }
    }
}

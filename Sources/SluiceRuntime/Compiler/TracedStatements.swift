import SluiceIR

/// The traced variant of statements, actions, tables and parser states: compiled only for a
/// pipeline given a `PipelineTracer` (`ProgramCompiler.tracer`), so the untraced closures stay
/// exactly as they are. Each hook reads what the untraced closure computed (lookup results,
/// the context) and adds one event; none changes what the packet does.
extension ProgramCompiler {
    func tracedStmt(_ st: Stmt, _ s: Scope, _ tr: PipelineTracer) throws -> StmtFn {
        switch st {
        case .ifElse(let cond, let t, let e):
            let fc = try narrow(cond, s, expected: 1), ft = try block(t, s), fe = try block(e, s)
            let text = IRPrinter.expr(cond), otherwise = e.isEmpty ? "" : " (else)"
            return { c in
                let v = fc(c) != 0
                tr.add("condition", "if \(text): \(v)\(v ? "" : otherwise)", [("condition", .string(text)), ("value", .bool(v))])
                tr.nested { if v { ft(c) } else { fe(c) } }
            }
        case .drop:
            let f = try plainStmt(st, s), site = s.element
            return { c in f(c); tr.recordDrop(site) }
        case .exit:
            let f = try plainStmt(st, s), site = s.element
            return { c in f(c); tr.add("exit", "exit (in \(site))", [("site", .string(site))]) }
        case .recirculate, .resubmit:
            let f = try plainStmt(st, s)
            let name: String = if case .recirculate = st { "recirculate" } else { "resubmit" }
            return { c in f(c); tr.add(name, name) }
        case .setValid(let h, let idx), .setInvalid(let h, let idx):
            let f = try plainStmt(st, s)
            var valid = false
            if case .setValid = st { valid = true }
            let text = "hdr.\(h)\(idx.map { "[\($0)]" } ?? "").\(valid ? "setValid()" : "setInvalid()")"
            return { c in f(c); tr.add(valid ? "set_valid" : "set_invalid", text, [("header", .string(h))]) }
        case .extract(let h, let idx):
            let f = try plainStmt(st, s)
            let hs = layout.header(h), perr = Layout.standardSlot(.parserError)
            let stack = hs.isStack || idx == .next
            let off = stack ? hs.offset : try headerBase(h, idx, s).constant!
            let slot = hs.nextSlot, size = hs.size
            return { c in
                f(c)
                guard c.slots[perr] == 0 else { return }
                let base = stack ? hs.offset + (Int(c.slots[slot]) - 1) * size : off
                let name = stack ? "\(h)[\(Int(c.slots[slot]) - 1)]" : h
                let values = ProgramCompiler.headerFields(hs.type, c.hdr + base)
                tr.add("extract", "extract \(name): " + values.map { "\($0.0)=\($0.1)" }.joined(separator: " "),
                       [("header", .string(name)), ("fields", .strings(values))])
            }
        case .registerRead(let dest, let r, let idx):
            guard let reg = registers[r] else { return try plainStmt(st, s) }
            let fi = try narrow(idx, s, expected: 32), w = try writeField(dest, s)
            let size = UInt64(reg.decl.size), cells = reg.cells, width = reg.decl.width
            return { c in
                let i = fi(c)
                let v = i < size ? cells[Int(i)] : 0
                if i >= size { reg.outOfRange &+= 1 }
                w(c, v)
                tr.add("register_read", "register \(r)[\(i)] read: \(TraceValueText.format(UInt128(v), width: width, name: r))\(i < size ? "" : " (index out of range)")",
                       [("register", .string(r)), ("index", .int(Int64(i))), ("value", .string(TraceValueText.format(UInt128(v), width: width, name: r)))])
            }
        case .registerWrite(let r, let idx, let value):
            guard let reg = registers[r] else { return try plainStmt(st, s) }
            let fi = try narrow(idx, s, expected: 32), fv = try narrow(value, s, expected: reg.decl.width)
            let size = UInt64(reg.decl.size), cells = reg.cells, m = reg.mask, width = reg.decl.width
            return { c in
                let i = fi(c)
                guard i < size else {
                    reg.outOfRange &+= 1
                    tr.add("register_write", "register \(r)[\(i)]: index out of range (size \(size)), not written", [("register", .string(r)), ("index", .int(Int64(i)))])
                    return
                }
                let old = cells[Int(i)], new = fv(c) & m
                cells[Int(i)] = new
                tr.registerUpdate(r, i, old, new, width)
            }
        case .registerAction(let r, let idx, let update, let result, let returnsNew):
            guard let reg = registers[r] else { return try plainStmt(st, s) }
            var inner = s
            inner.registerWidth = reg.decl.width
            let fi = try narrow(idx, s, expected: 32), fu = try narrow(update, inner, expected: reg.decl.width)
            let w = try result.map { try writeField($0, s) }
            let size = UInt64(reg.decl.size), cells = reg.cells, m = reg.mask, width = reg.decl.width
            return { c in
                let i = fi(c)
                guard i < size else {
                    reg.outOfRange &+= 1; w?(c, 0)
                    tr.add("register_write", "register \(r)[\(i)]: index out of range (size \(size)), not written", [("register", .string(r)), ("index", .int(Int64(i)))])
                    return
                }
                let old = cells[Int(i)]
                c.registerOld = old
                let new = fu(c) & m
                cells[Int(i)] = new
                w?(c, returnsNew ? new : old)
                tr.registerUpdate(r, i, old, new, width)
            }
        case .count(let name, let idx):
            guard let ctr = counters[name] else { return try plainStmt(st, s) }
            let fi = try narrow(idx, s, expected: 32)
            let lenSlot = Layout.standardSlot(.packetLength)
            return { c in
                let i = Int(truncatingIfNeeded: fi(c))
                ctr.count(i, bytes: c.slots[lenSlot])
                let inRange = i >= 0 && i < ctr.size, n = c.slots[lenSlot]
                let text: String
                switch (ctr.kind, inRange) {
                case (_, false): text = "index out of range (size \(ctr.size)), not counted"
                case (.packets, _): text = "+= 1 packet, now \(ctr.packets[i])"
                case (.bytes, _): text = "+= \(n) bytes, now \(ctr.bytes[i])"
                default: text = "+= 1 packet, \(n) bytes, now \(ctr.packets[i]) packets, \(ctr.bytes[i]) bytes"
                }
                tr.add("counter", "counter \(name)[\(i)] \(text)",
                       [("counter", .string(name)), ("index", .int(Int64(i))), ("bytes", .int(Int64(c.slots[lenSlot])))]
                       + (inRange ? [("packets_total", .int(Int64(ctr.packets[i]))), ("bytes_total", .int(Int64(ctr.bytes[i])))] : []))
            }
        case .meter(let name, let idx, let result):
            let f = try plainStmt(st, s)
            let fi = try narrow(idx, s, expected: 32), rd = try readField(result, s)
            return { c in
                f(c)
                let color = rd(c), names = ["green", "yellow", "red"]
                let text = color < 3 ? names[Int(color)] : "\(color)"
                tr.add("meter", "meter \(name)[\(fi(c))]: \(text)", [("meter", .string(name)), ("color", .string(text))])
            }
        case .digest(let name, let values):
            let f = try plainStmt(st, s)
            let d = index.digests[name]
            let fs = try zip(values, d?.fields ?? []).map { (WideOp(run: try wide($0, s, expected: $1.width)), $1) }
            return { c in
                f(c)
                let vs = fs.map { ($0.1.name, TraceValueText.format($0.0.run(c), width: $0.1.width, name: $0.1.name)) }
                tr.add("digest", "digest \(name): " + vs.map { "\($0.0)=\($0.1)" }.joined(separator: " "),
                       [("digest", .string(name)), ("values", .strings(vs))])
            }
        case .updateChecksum(let field, _):
            let f = try plainStmt(st, s), rd = try readField(field, s)
            let text = IRPrinter.ref(field)
            return { c in
                f(c)
                let v = TraceValueText.format(UInt128(rd(c)), width: 16, name: "checksum")
                tr.add("checksum", "update checksum \(text) = \(v)", [("field", .string(text)), ("value", .string(v))])
            }
        case .verifyChecksum(let field, _):
            let f = try plainStmt(st, s), slot = Layout.standardSlot(.checksumError)
            let text = IRPrinter.ref(field)
            return { c in
                f(c)
                let bad = c.slots[slot] != 0
                tr.add("checksum", "verify checksum \(text): \(bad ? "bad" : "ok")", [("field", .string(text)), ("ok", .bool(!bad))])
            }
        case .verify(_, let err):
            let f = try plainStmt(st, s), perr = Layout.standardSlot(.parserError)
            return { c in
                let before = c.slots[perr]
                f(c)
                if before == 0 && c.slots[perr] != 0 { tr.add("verify", "verify failed: \(err)", [("error", .string(err))]) }
            }
        case .truncate:
            let f = try plainStmt(st, s)
            return { c in f(c); tr.add("truncate", "truncate to \(c.truncateTo) bytes", [("bytes", .int(Int64(c.truncateTo)))]) }
        default:
            return try plainStmt(st, s)
        }
    }

    /// A parser state that says it was entered, then where it goes (with the select keys).
    func tracedState(_ st: ParserState, _ scope: Scope, ids: [String: Int32], body: @escaping StmtFn,
                     transition: @escaping (ExecContext) -> Int32, _ tr: PipelineTracer) throws -> StateOp {
        let perr = Layout.standardSlot(.parserError), name = st.name
        var names: [Int32: String] = [:]
        for (n, i) in ids { names[i] = n }
        var keys: [(text: String, width: Int, name: String, read: WideOp)] = []
        if case .select(let ks, _) = st.transition {
            for k in ks {
                let w = width(k, scope, expected: nil)
                keys.append((IRPrinter.expr(k), w, ProgramCompiler.keyName(k), WideOp(run: try wide(k, scope, expected: w))))
            }
        }
        let isSelect = !keys.isEmpty
        return StateOp { c in
            tr.depth = 2
            tr.add("parser_state", "state \(name)", [("state", .string(name))])
            tr.depth = 3
            body(c)
            if c.slots[perr] != 0 { return -2 }
            // The keys as the select will read them: read first for the trace, then the random
            // generator put back, so that a key with random() draws the same value in the
            // select as here, and a traced run draws no more than an untraced one.
            let rng = c.rng
            let vs = keys.map { ($0.text, TraceValueText.format($0.read.run(c), width: $0.width, name: $0.name)) }
            c.rng = rng
            let next = transition(c)
            let target = c.slots[perr] != 0 ? "no match" : names[next] ?? "state \(next)"
            if isSelect {
                tr.add("select", "select \(vs.map { "\($0.0)=\($0.1)" }.joined(separator: " ")) -> \(target)",
                       [("key", .strings(vs)), ("next", .string(target))])
            } else {
                tr.add("transition", "-> \(target)", [("next", .string(target))])
            }
            return c.slots[perr] != 0 ? -2 : next
        }
    }

    /// A header's fields as (name, value text), from its bytes.
    static func headerFields(_ t: HeaderType, _ p: UnsafePointer<UInt8>) -> [(String, String)] {
        var bit = 0
        return t.fields.map { f in
            let v = Bits.load128(p, bitOffset: bit, width: f.width)
            bit += f.width
            return (f.name, TraceValueText.format(v, width: f.width, name: f.name))
        }
    }

    /// An action's body with an event naming it and its arguments first.
    func tracedAction(_ a: Action, _ body: @escaping StmtFn, _ tr: PipelineTracer) -> StmtFn {
        let params = a.params, name = a.name
        return { c in
            var w = 0
            var args: [(String, String)] = []
            for p in params {
                let v: UInt128 = p.width > 64 ? (UInt128(c.params[w]) << 64) | UInt128(c.params[w + 1]) : UInt128(c.params[w])
                w += p.width > 64 ? 2 : 1
                args.append((p.name, TraceValueText.format(v, width: p.width, name: p.name)))
            }
            tr.add("action", "action \(name)(\(args.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")))",
                   [("action", .string(name)), ("args", .strings(args))])
            tr.nested { body(c) }
        }
    }

    /// The table event: key values, then hit (the entry's handle and match) or miss (the default).
    static func tableEvent(_ t: RuntimeTable, _ c: ExecContext, _ e: Int32, _ tr: PipelineTracer) {
        var key: [(String, String)] = []
        var w = 0
        for (i, k) in t.decl.keys.enumerated() {
            let v: UInt128 = t.fieldWords[i] == 2 ? (UInt128(c.key[w]) << 64) | UInt128(c.key[w + 1]) : UInt128(c.key[w])
            w += t.fieldWords[i]
            key.append((IRPrinter.expr(k.expr), TraceValueText.format(v, width: t.fieldWidths[i], name: keyName(k.expr))))
        }
        let keyText = key.isEmpty ? "(no key)" : key.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        var fields: [(key: String, value: TraceValue)] = [("table", .string(t.decl.name)), ("key", .strings(key)), ("hit", .bool(e >= 0))]
        if e >= 0, let entry = t.entries[Int(e)] {
            let match = entry.matches.enumerated().map { i, m in matchText(m, width: t.fieldWidths[i], name: keyName(t.decl.keys[i].expr)) }
            let prio = t.usesPriority ? ", priority \(entry.priority)" : ""
            fields += [("entry", .int(Int64(e))), ("match", .list(match))]
            if t.usesPriority { fields.append(("priority", .int(Int64(entry.priority)))) }
            tr.add("table", "table \(t.decl.name): \(keyText) -> hit entry \(e) (\(match.joined(separator: " "))\(prio))", fields)
        } else {
            fields.append(("default_action", .string(t.defaultCall.action)))
            tr.add("table", "table \(t.decl.name): \(keyText) -> miss, default action \(t.defaultCall.action)", fields)
        }
    }

    static func keyName(_ e: Expr) -> String {
        if case .field(let r) = e {
            switch r {
            case .header(_, let f, _): return f
            case .meta(let m): return m
            case .standard(let s): return s.rawValue
            }
        }
        return ""
    }

    static func matchText(_ m: Match, width: Int, name: String) -> String {
        func v(_ x: UInt128) -> String { TraceValueText.format(x, width: width, name: name) }
        switch m {
        case .exact(let x): return v(x)
        case .lpm(let x, let l): return "\(v(x))/\(l)"
        case .ternary(let x, let mk): return "\(v(x)) &&& \(v(mk))"
        case .range(let a, let b): return "\(v(a))..\(v(b))"
        case .optional(let x): return x.map(v) ?? "_"
        }
    }
}

extension PipelineTracer {
    func registerUpdate(_ r: String, _ i: UInt64, _ old: UInt64, _ new: UInt64, _ width: Int) {
        let o = TraceValueText.format(UInt128(old), width: width, name: r), n = TraceValueText.format(UInt128(new), width: width, name: r)
        add("register_write", "register \(r)[\(i)]: \(o) -> \(n)", [("register", .string(r)), ("index", .int(Int64(i))), ("old", .string(o)), ("new", .string(n))])
    }
}

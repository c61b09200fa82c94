import SluiceIR

/// Statements, each as the runtime runs it. Tables, externs, checksums and the parser's own
/// statements go to their emitters; the rest (assignments, validity, stacks, conditionals,
/// action calls) is here.
struct StatementEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    func block(_ stmts: [Stmt]) throws(EBPFError) {
        for s in stmts { try emit(s) }
    }

    func emit(_ st: Stmt) throws(EBPFError) {
        switch st {
        case .assign(let f, let e):
            let w = try cx.fields.width(of: f)
            let v = try cx.expressions.expr(e, expected: w)
            try cx.fields.store(f, "(\(v.0))")
        case .setValid(let h, let idx):
            // As the runtime: a header that becomes valid starts zeroed; a valid one is kept.
            let slot = try cx.headerSlot(h)
            cx.elements.chain(try cx.elements.validity(slot, idx), comment: "\(h)\(StackElements.indexText(idx)).setValid()") { (e: Int) -> String in
                "if (!\(cx.valid(slot.valid + e))) { __builtin_memset(\(cx.headerBytes(slot, element: e)), 0, \(slot.size)); \(cx.valid(slot.valid + e)) = 1; }"
            }
        case .setInvalid(let h, let idx):
            // As the runtime: the bytes are cleared too (fields of an invalid header read 0).
            let slot = try cx.headerSlot(h)
            cx.elements.chain(try cx.elements.validity(slot, idx), comment: "\(h)\(StackElements.indexText(idx)).setInvalid()") { (e: Int) -> String in
                "\(cx.valid(slot.valid + e)) = 0; __builtin_memset(\(cx.headerBytes(slot, element: e)), 0, \(slot.size));"
            }
        case .pushFront(let h, let count):
            try shift(h, count, push: true)
        case .popFront(let h, let count):
            try shift(h, count, push: false)
        case .recirculate, .resubmit:
            throw cx.fail("\(st)", "not supported by the XDP backend")
        case .ifElse(let c, let a, let b):
            let cond = try cx.expressions.expr(c, expected: 1)
            out.open("if (\(cond.0)) {")
            try block(a)
            if !b.isEmpty {
                out.reopen("} else {")
                try block(b)
            }
            out.close()
        case .apply(let t, let outcome):
            try cx.tables.apply(t, outcome)
        case .call(let a, let args):
            guard let act = cx.index.actions[a] else { throw cx.fail("call \(a)", "unknown action") }
            try out.block("{ /* \(a)(\(args.count) arguments) */") { () throws(EBPFError) in
                var bound: [String: (String, Int)] = [:]
                for (p, arg) in zip(act.params, args) {
                    let v = out.fresh("arg")
                    out.line("__u64 \(v) = \(try cx.expressions.expr(arg, expected: p.width).0);")
                    bound[p.name] = (v, p.width)
                }
                try action(act.body, params: bound, decls: act.params)
            }
        case .drop:
            out.line("\(cx.stdArray)[\(cx.std(.drop))] = 1; /* mark_to_drop() */")
        case .exit:
            out.line("goto \(cx.scope.exitLabel); /* exit */")
        case .registerRead(let dest, let r, let idx):
            try cx.externs.registerRead(dest, r, idx)
        case .registerWrite(let r, let idx, let value):
            try cx.externs.registerWrite(r, idx, value)
        case .registerAction(let r, let idx, let update, let result, let returnsNew):
            try cx.externs.registerAction(r, idx, update, result, returnsNew: returnsNew)
        case .count(let c, let idx):
            try cx.externs.count(c, idx)
        case .digest(let name, let values):
            try cx.externs.digest(name, values)
        case .meter(let m, let idx, let result):
            try cx.externs.meter(m, idx, result)
        case .updateChecksum(let f, let over):
            try cx.checksums.checksum(f, over, verify: false)
        case .verifyChecksum(let f, let over):
            try cx.checksums.checksum(f, over, verify: true)
        case .incrementalChecksum(let f, let old, let new):
            try cx.checksums.incremental(f, old: old, new: new)
        case .extract(let h, _):
            try cx.parser.extract(h)
        case .verify(let c, let error):
            try cx.parser.verify(c, error)
        case .advance(let bits):
            cx.parser.advance(bits: bits)
        case .skip(let n):
            try cx.parser.skip(n)
        case .truncate(let n):
            cx.truncates = true
            out.line("sl_trunc = (__u32)(\(try cx.expressions.expr(n, expected: 16).0)); /* truncate */")
        }
    }

    /// An action's body with its parameters bound to C expressions (`(name, width)` by name).
    func action(_ body: [Stmt], params: [String: (String, Int)], decls: [FieldDecl]) throws(EBPFError) {
        let saved = (cx.scope.params, cx.scope.paramDecls)
        (cx.scope.params, cx.scope.paramDecls) = (params, decls)
        try block(body)
        (cx.scope.params, cx.scope.paramDecls) = saved
    }

    /// push_front / pop_front: whole elements move (bytes and validity); the freed ones are
    /// invalid and zero.
    func shift(_ h: String, _ count: Int, push: Bool) throws(EBPFError) {
        let slot = try cx.headerSlot(h)
        guard slot.isStack else { throw cx.fail("\(h)", "push_front/pop_front on a header that is not a stack") }
        let n = slot.elements, k = min(max(count, 0), n), nx = StackElements.next(h)
        out.block("{ /* hdr.\(h).\(push ? "push_front" : "pop_front")(\(count)) */") {
            let order = push ? Array((0..<n).reversed()) : Array(0..<n)
            for i in order {
                let from = push ? i - k : i + k
                if from >= 0 && from < n {
                    out.line("__builtin_memcpy(\(cx.headerBytes(slot, element: i)), \(cx.headerBytes(slot, element: from)), \(slot.size)); \(cx.valid(slot.valid + i)) = \(cx.valid(slot.valid + from));")
                } else {
                    out.line("__builtin_memset(\(cx.headerBytes(slot, element: i)), 0, \(slot.size)); \(cx.valid(slot.valid + i)) = 0;")
                }
            }
            if push {
                out.line("\(nx) = \(nx) + \(k) > \(n) ? \(n) : \(nx) + \(k);")
            } else {
                out.line("\(nx) = \(nx) > \(k) ? \(nx) - \(k) : 0;")
            }
        }
    }
}

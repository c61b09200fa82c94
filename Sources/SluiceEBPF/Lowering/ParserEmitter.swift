import SluiceIR

/// The parser: each state a labelled block (`st_<state>`) of its statements, then its
/// transition as gotos (a select's cases as comparisons, in order). Reject either drops the
/// packet or goes on to accept with standard.parserError set, as the program says. Labels carry
/// the scope's prefix, so the packet can be parsed again (egress) in the same function.
struct ParserEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }
    var pp: String { cx.scope.parserPrefix }
    var program: Program { cx.program }

    func emit() throws(EBPFError) {
        out.line("/* ---- parser ---- */")
        guard let start = program.parser.states.first else {
            out.line("goto \(pp)parser_accept;")
            out.line("\(pp)parser_accept: ;")
            return
        }
        out.line("goto \(pp)st_\(EBPFLayout.ident(start.name));")
        for st in program.parser.states {
            out.line("\(pp)st_\(EBPFLayout.ident(st.name)): /* state \(st.name) */")
            try out.block("{") { () throws(EBPFError) in
                if countsSteps {
                    // The runtime runs at most maxParserSteps + 1 states, then rejects with ParserTimeout.
                    out.line("if (++sl_steps > \(EBPFLayout.maxParserSteps + 1)) { \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("ParserTimeout")); goto \(pp)parser_reject; }")
                }
                try cx.statements.block(st.statements)
                try transition(st.transition)
            }
        }
        out.line("\(pp)parser_reject:")
        if program.onParserReject == .drop {
            out.line(cx.scope.parserDrop)
        } else {
            out.line("goto \(pp)parser_accept; /* on reject: continue with standard.parserError set */")
        }
        out.line("\(pp)parser_accept: ;")
    }

    func transition(_ t: Transition) throws(EBPFError) {
        switch t {
        case .accept: out.line("goto \(pp)parser_accept;")
        case .reject: out.line("goto \(pp)parser_reject; /* reject: as the runtime, no error code of its own */")
        case .goto(let n): out.line("goto \(target(n));")
        case .select(let keys, let cases):
            var ks: [(String, Int)] = []
            for k in keys {
                let c = try cx.expressions.expr(k)
                let v = out.fresh("key")
                out.line("__u64 \(v) = \(c.0);")
                ks.append((v, c.1))
            }
            // A key that looks past the packet's end (PacketTooShort) rejects, as the runtime.
            if keys.contains(where: Self.looksAhead) { out.line("if (\(cx.stdArray)[\(cx.std(.parserError))]) goto \(pp)parser_reject;") }
            for c in cases {
                var conds: [String] = []
                for (i, el) in c.keys.enumerated() where i < ks.count {
                    let (v, w) = ks[i]
                    switch el {
                    case .any: break
                    case .value(let x): conds.append("\(v) == \(CLiteral.hex(x, w))")
                    case .mask(let x, let m): conds.append("(\(v) & \(CLiteral.hex(m, w))) == \(CLiteral.hex(x & m, w))")
                    case .range(let lo, let hi): conds.append("(\(v) >= \(CLiteral.hex(lo, w)) && \(v) <= \(CLiteral.hex(hi, w)))")
                    }
                }
                if conds.isEmpty { out.line("goto \(target(c.next));"); return }
                out.line("if (\(conds.joined(separator: " && "))) goto \(target(c.next));")
            }
            out.line("\(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("NoMatch")); goto \(pp)parser_reject;")
        }
    }

    func target(_ n: String) -> String {
        switch n {
        case ReservedState.accept: "\(pp)parser_accept"
        case ReservedState.reject: "\(pp)parser_reject"
        default: "\(pp)st_\(EBPFLayout.ident(n))"
        }
    }

    // MARK: statements of the parser

    /// `extract(hdr.h)`: the header's bytes at the cursor into the state, or PacketTooShort.
    func extract(_ h: String) throws(EBPFError) {
        if cx.layout.header(h)?.isStack == true { return try extractNext(h) }
        let slot = try cx.headerSlot(h)
        out.line("/* extract(hdr.\(h)): \(slot.size) bytes */")
        out.line("if (data + cur + \(slot.size) > data_end) { \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("PacketTooShort")); goto \(pp)parser_reject; }")
        out.line("{ __u8 *p = SL_PKT((__u8 *)data + cur); if ((void *)(p + \(slot.size)) > data_end) goto \(pp)parser_reject; \(take(slot, element: 0)) }")
        out.line("\(cx.valid(slot.valid)) = 1; cur += \(slot.size);")
    }

    /// Into a stack's next element (whatever the index says, as the runtime): a full stack is
    /// StackOutOfBounds (checked first), then a short packet PacketTooShort.
    func extractNext(_ h: String) throws(EBPFError) {
        let slot = try cx.headerSlot(h), n = slot.elements, c = StackElements.next(h)
        out.line("/* extract(hdr.\(h).next): \(slot.size) bytes into element \(c) of \(n) */")
        out.line("if (\(c) >= \(n)) { \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("StackOutOfBounds")); goto \(pp)parser_reject; }")
        out.line("if (data + cur + \(slot.size) > data_end) { \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("PacketTooShort")); goto \(pp)parser_reject; }")
        out.block("{ __u8 *p = SL_PKT((__u8 *)data + cur); if ((void *)(p + \(slot.size)) > data_end) goto \(pp)parser_reject;") {
            for e in (0..<n).reversed() {
                let copy = "{ \(take(slot, element: e)) \(cx.valid(slot.valid + e)) = 1; }"
                out.line(e == n - 1 ? (n == 1 ? copy : "if (\(c) == \(e)) \(copy)") : (e == 0 ? "else \(copy)" : "else if (\(c) == \(e)) \(copy)"))
            }
        }
        out.line("\(c) += 1; cur += \(slot.size);")
    }

    /// The header's bytes at `p` taken: copied into the state (XDP), or pointed at (the host).
    func take(_ slot: EBPFLayout.HeaderSlot, element e: Int) -> String {
        cx.headersInPlace ? "\(cx.headerBytes(slot, element: e)) = p;" : "__builtin_memcpy(\(cx.headerBytes(slot, element: e)), p, \(slot.size));"
    }

    func verify(_ c: Expr, _ error: String) throws(EBPFError) {
        out.line("if (!(\(try cx.expressions.expr(c, expected: 1).0))) { \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode(error)); goto \(pp)parser_reject; } /* verify */")
    }

    func advance(bits: Int) {
        out.line("if (data + cur + \(bits / 8) > data_end) { \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("PacketTooShort")); goto \(pp)parser_reject; }")
        out.line("cur += \(bits / 8); /* advance */")
    }

    /// `advance_bytes`; the bound keeps the cursor within what the kernel verifier can follow.
    func skip(_ n: Expr) throws(EBPFError) {
        let v = out.fresh("skip")
        out.line("{ __u32 \(v) = (__u32)(\(try cx.expressions.expr(n, expected: 16).0)); /* advance_bytes */")
        out.line("  if (\(v) > \(SkipLimit.bytes) || data + cur + \(v) > data_end) { \(cx.stdArray)[\(cx.std(.parserError))] = \(cx.errorCode("PacketTooShort")); goto \(pp)parser_reject; }")
        out.line("  cur += \(v) & \(SkipLimit.bytes * 2 - 1); }")
    }

    // MARK: locals

    /// Whether the parser can enter a state again (a cycle reachable from the start state).
    var loops: Bool {
        var seen = Set<String>(), onPath = Set<String>()
        func dfs(_ name: String) -> Bool {
            if onPath.contains(name) { return true }
            guard !seen.contains(name), let st = program.parser.states.first(where: { $0.name == name }) else { return false }
            onPath.insert(name)
            for n in Self.successors(st.transition) where dfs(n) { return true }
            onPath.remove(name)
            seen.insert(name)
            return false
        }
        guard let first = program.parser.states.first else { return false }
        return dfs(first.name)
    }

    /// Whether parser states count their entries (`sl_steps`) and time out past
    /// `EBPFLayout.maxParserSteps`, as the runtime does. Only a parser that loops (or has more
    /// states than the bound) can reach the bound; one that cannot needs no counter.
    var countsSteps: Bool { loops || program.parser.states.count > EBPFLayout.maxParserSteps }

    /// Per-packet locals of the parser: each stack's next-element counter (`sl_nx_<stack>`:
    /// elements extracted or pushed, 0...size) and the step counter. Locals, not map memory:
    /// the verifier knows their exact values on every path, so a dynamic element index
    /// (`.last`, `.next`) selects one constant element and a parser loop is bounded.
    func locals() -> [String] {
        var ls: [String] = []
        for h in cx.layout.headers where h.isStack { ls.append("__u32 \(StackElements.next(h.name)) = 0; /* hdr.\(h.name): elements extracted or pushed (stack of \(h.elements)) */") }
        if countsSteps { ls.append("__u32 sl_steps = 0; /* parser states entered (at most \(EBPFLayout.maxParserSteps + 1), then ParserTimeout) */") }
        return ls
    }

    /// A parse again: every stack starts empty, the step count at 0.
    func resetLocals() {
        for h in cx.layout.headers where h.isStack { out.line("\(StackElements.next(h.name)) = 0;") }
        if countsSteps { out.line("sl_steps = 0;") }
    }

    static func looksAhead(_ e: Expr) -> Bool {
        switch e {
        case .lookahead: true
        case .unary(_, let a), .slice(let a, _, _), .cast(let a, _, _), .optional(let a, _): looksAhead(a)
        case .binary(_, let a, let b), .signed(_, let a, let b), .concat(let a, let b): looksAhead(a) || looksAhead(b)
        case .mux(let a, let b, let c): looksAhead(a) || looksAhead(b) || looksAhead(c)
        case .hash(_, let xs, _, _, _): xs.contains(where: looksAhead)
        default: false
        }
    }

    static func successors(_ t: Transition) -> [String] {
        switch t {
        case .accept, .reject: []
        case .goto(let n): [n]
        case .select(_, let cases): cases.map(\.next)
        }
    }
}

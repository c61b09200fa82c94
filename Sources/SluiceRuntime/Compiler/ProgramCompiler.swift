import SluiceIR
import SluiceControlPlane

/// Compiles a verified program once into closures over integer slots. Holds the extern state
/// those closures capture; the `Pipeline` owns it.
final class ProgramCompiler {
    let program: Program
    let index: ProgramIndex
    /// The control plane's checks of entries and extern writes (shared with every backend).
    let rules: EntryRules
    let layout: Layout
    var tables: [String: RuntimeTable] = [:]
    var registers: [String: RegisterState] = [:]
    var counters: [String: CounterState] = [:]
    var meters: [String: MeterState] = [:]
    let digests: DigestRing
    var compiledActions: [String: StmtOp] = [:]
    var callBuffers: [UnsafeMutablePointer<UInt64>] = []
    var wideBuffers: [UnsafeMutablePointer<UInt128>] = []
    /// Tables of fast paths (hash inputs, assignment runs), freed with the compiler.
    var rawBuffers: [UnsafeMutableRawPointer] = []
    var checksumBuffers: [UnsafeMutablePointer<UInt8>] = []
    var intBuffers: [UnsafeMutablePointer<Int>] = []
    var selectTables: [(UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<Bool>, UnsafeMutablePointer<Int32>)] = []
    var keyWordsNeeded = 1
    var hashBytesNeeded = 16
    var digestWidth = 1
    /// Whether the host sets traffic-manager values (queue depths, enqueue times) before egress.
    let queues: Bool
    /// Set: compile the traced variant (`TracedStatements.swift`); nil: the plain closures.
    let tracer: PipelineTracer?

    init(_ p: Program, queues: Bool = false, tracer: PipelineTracer? = nil) {
        self.queues = queues
        self.tracer = tracer
        program = p
        index = ProgramIndex(p)
        rules = EntryRules(p)
        layout = Layout(p, index)
        for r in p.registers { registers[r.name] = RegisterState(r) }
        for c in p.counters {
            let state = CounterState(name: c.name, size: c.size)
            state.kind = c.kind
            counters[c.name] = state
        }
        for m in p.meters { meters[m.name] = MeterState(m) }
        digests = DigestRing(capacity: 4096, width: max(1, p.digests.map(\.fields.count).max() ?? 1))
        for t in p.tables {
            let scope = Scope(element: "table '\(t.name)'")
            let widths = t.keys.map { width($0.expr, scope, expected: nil) }
            tables[t.name] = RuntimeTable(t, index: index, widths: widths)
        }
    }

    deinit {
        for b in callBuffers { b.deallocate() }
        for b in wideBuffers { b.deallocate() }
        for b in rawBuffers { b.deallocate() }
        for b in checksumBuffers { b.deallocate() }
        for b in intBuffers { b.deallocate() }
        for (a, b, c) in selectTables { a.deallocate(); b.deallocate(); c.deallocate() }
    }

    /// Returns the next state index, `-1` for accept or `-2` for reject.
    typealias StateFn = (ExecContext) -> Int32

    func parser() throws -> [StateOp] {
        let states = program.parser.states
        var ids: [String: Int32] = [ReservedState.accept: -1, ReservedState.reject: -2]
        for (i, st) in states.enumerated() { ids[st.name] = Int32(i) }
        let perr = Layout.standardSlot(.parserError)
        let noMatch = errorCode(.noMatch)
        return try states.map { st in
            let scope = Scope(element: "parser state '\(st.name)'", inParser: true)
            // Statements run until one raises a parser error.
            var body: StmtFn = { _ in }
            for next in st.statements.reversed() {
                let f = try stmt(next, scope), rest = body
                body = { c in f(c); if c.slots[perr] == 0 { rest(c) } }
            }
            func target(_ n: String) throws -> Int32 {
                guard let t = ids[n] else { throw CompileError("parser state '\(st.name)': no state '\(n)'") }
                return t
            }
            // The common state, one fixed header extracted, runs as a single closure with the
            // extract and the transition inline (no closure per statement).
            var fixedExtract: (offset: Int, size: Int, valid: Int)? = nil
            if tracer == nil, st.statements.count == 1, case .extract(let h, let idx) = st.statements[0], idx != .next,
               let hi = layout.headerIndex[h], !layout.headers[hi].isStack,
               let off = try headerBase(h, idx, scope).constant, let v = try validIndex(h, idx, scope).constant {
                fixedExtract = (off, layout.headers[hi].size, v)
            }
            let transition: StateFn
            switch st.transition {
            case .accept: transition = { _ in -1 }
            case .reject: transition = { _ in -2 }
            case .goto(let n):
                let t = try target(n)
                transition = { _ in t }
            case .select(let keys, let cases):
                let widths = keys.map { width($0, scope, expected: nil) }
                let fs = try zip(keys, widths).map { WideOp(run: try wide($0, scope, expected: $1)) }
                let compiled = try cases.map { cs -> ([KeysetElement], Int32) in (cs.keys, try target(cs.next)) }
                if fs.count == 1, widths[0] <= 64, compiled.allSatisfy({ if case .value = $0.0[0] { true } else if case .any = $0.0[0] { true } else { false } }) {
                    // The common case: one key of up to 64 bits, exact values and a default.
                    let f = try narrow(keys[0], scope, expected: widths[0])
                    let n = compiled.count
                    let values = UnsafeMutablePointer<UInt64>.allocate(capacity: n), isAny = UnsafeMutablePointer<Bool>.allocate(capacity: n)
                    let nexts = UnsafeMutablePointer<Int32>.allocate(capacity: n)
                    for (i, c) in compiled.enumerated() {
                        if case .value(let v) = c.0[0] { values[i] = UInt64(truncatingIfNeeded: v); isAny[i] = false } else { values[i] = 0; isAny[i] = true }
                        nexts[i] = c.1
                    }
                    selectTables.append((values, isAny, nexts))
                    if let x = fixedExtract {
                        let (off, size, valid) = x
                        let tooShort = errorCode(.packetTooShort)
                        let key = place(keys[0], scope)
                        if let key {
                            return StateOp { c in
                                guard c.cursor + size <= c.pktLen else { c.slots[perr] = tooShort; return -2 }
                                Bits.copy(c.hdr + off, c.pkt + c.cursor, size)
                                c.valid[valid] = 1
                                c.cursor += size
                                let v = key.load(c)
                                for i in 0..<n where isAny[i] || values[i] == v { return nexts[i] }
                                c.slots[perr] = noMatch
                                return -2
                            }
                        }
                        return StateOp { c in
                            guard c.cursor + size <= c.pktLen else { c.slots[perr] = tooShort; return -2 }
                            Bits.copy(c.hdr + off, c.pkt + c.cursor, size)
                            c.valid[valid] = 1
                            c.cursor += size
                            let v = f(c)
                            if c.slots[perr] != 0 { return -2 }
                            for i in 0..<n where isAny[i] || values[i] == v { return nexts[i] }
                            c.slots[perr] = noMatch
                            return -2
                        }
                    }
                    transition = { c in
                        let v = f(c)
                        for i in 0..<n where isAny[i] || values[i] == v { return nexts[i] }
                        c.slots[perr] = noMatch
                        return -2
                    }
                } else {
                    let vals = UnsafeMutablePointer<UInt128>.allocate(capacity: fs.count)
                    vals.initialize(repeating: 0, count: fs.count)
                    wideBuffers.append(vals)
                    let n = fs.count
                    transition = { c in
                        for i in 0..<n { vals[i] = fs[i].run(c) }
                        for (ks, next) in compiled {
                            var ok = true
                            for (i, k) in ks.enumerated() where i < n {
                                switch k {
                                case .any: continue
                                case .value(let v): ok = vals[i] == v
                                case .mask(let v, let m): ok = vals[i] & m == v & m
                                case .range(let lo, let hi): ok = vals[i] >= lo && vals[i] <= hi
                                }
                                if !ok { break }
                            }
                            if ok { return next }
                        }
                        c.slots[perr] = noMatch
                        return -2
                    }
                }
            }
            if let (off, size, valid) = fixedExtract, case .accept = st.transition {
                let tooShort = errorCode(.packetTooShort)
                return StateOp { c in
                    guard c.cursor + size <= c.pktLen else { c.slots[perr] = tooShort; return -2 }
                    Bits.copy(c.hdr + off, c.pkt + c.cursor, size)
                    c.valid[valid] = 1
                    c.cursor += size
                    return -1
                }
            }
            if let tr = tracer {
                return try tracedState(st, scope, ids: ids, body: body, transition: transition, tr)
            }
            return StateOp { c in
                body(c)
                if c.slots[perr] != 0 { return -2 }
                let next = transition(c)
                return c.slots[perr] != 0 ? -2 : next
            }
        }
    }

    /// Emit spans in deparser order: (validity index, byte offset, size).
    func emitSpans() -> [(valid: Int, offset: Int, size: Int)] {
        program.deparser.emit.flatMap { name -> [(valid: Int, offset: Int, size: Int)] in
            let hs = layout.header(name)
            return (0..<hs.elements).map { (hs.validIndex + $0, hs.offset + $0 * hs.size, hs.size) }
        }
    }
}

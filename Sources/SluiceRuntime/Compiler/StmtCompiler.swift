import SluiceIR

extension ProgramCompiler {
    /// Compile a sequence. Statements that may `exit` are followed by a check of the flag.
    func block(_ stmts: [Stmt], _ s: Scope) throws -> StmtFn {
        // Runs of simple assignments become one closure each (`assignRun`); the rest compose
        // pairwise: no array walk per packet. (Closures travel in `StmtOp`s: a bare closure in
        // an array would come back wrapped in a reabstraction thunk.)
        var ops: [(op: StmtOp, mayExit: Bool)] = []
        var run: [AssignOp] = []
        func flush() {
            if !run.isEmpty { ops.append((StmtOp(run: assignRun(run)), false)); run = [] }
        }
        for st in stmts {
            if case .assign(let r, let e) = st, let d = try? fieldDecl(r, s), d.width <= 64,
               let op = assignOp(r, e, s, width: d.width) {
                run.append(op)
                continue
            }
            flush()
            ops.append((StmtOp(run: try stmt(st, s)), st.mayExit))
        }
        flush()
        guard var acc = ops.last?.op.run else { return { _ in } }
        for (op, mayExit) in ops.dropLast().reversed() {
            let f = op.run, rest = acc
            acc = mayExit ? { c in f(c); if !c.exited { rest(c) } } : { c in f(c); rest(c) }
        }
        return acc
    }

    /// One statement; a traced compiler adds the statement's event (`tracedStmt`).
    func stmt(_ st: Stmt, _ s: Scope) throws -> StmtFn {
        guard let tr = tracer else { return try plainStmt(st, s) }
        return try tracedStmt(st, s, tr)
    }

    func plainStmt(_ st: Stmt, _ s: Scope) throws -> StmtFn {
        switch st {
        case .assign(let r, let e):
            let d = try fieldDecl(r, s)
            if d.width > 64 {
                let v = try wide(e, s, expected: d.width), w = try writeWide(r, s)
                return { c in w(c, v(c)) }
            }
            if let fused = fusedAssign(r, e, s, width: d.width) { return fused }
            let v = try narrow(e, s, expected: d.width)
            if let dst = place(.field(r), s) { return { c in dst.store(c, v(c)) } }
            let w = try writeField(r, s)
            return { c in w(c, v(c)) }
        case .setValid(let h, let idx):
            let vi = try validIndex(h, idx, s), base = try headerBase(h, idx, s)
            let size = layout.header(h).size
            if let k = vi.constant, let b = base.constant {
                return { c in if c.valid[k] == 0 { c.hdr.advanced(by: b).update(repeating: 0, count: size); c.valid[k] = 1 } }
            }
            let dv = vi.dynamic ?? { _ in vi.constant! }, db = base.dynamic ?? { _ in base.constant! }
            return { c in let i = dv(c); if i >= 0 && c.valid[i] == 0 { c.hdr.advanced(by: db(c)).update(repeating: 0, count: size); c.valid[i] = 1 } }
        case .setInvalid(let h, let idx):
            // The bytes are cleared too: fields of an invalid header read as 0.
            let vi = try validIndex(h, idx, s), base = try headerBase(h, idx, s)
            let size = layout.header(h).size
            if let k = vi.constant, let b = base.constant {
                return { c in c.valid[k] = 0; c.hdr.advanced(by: b).update(repeating: 0, count: size) }
            }
            let dv = vi.dynamic ?? { _ in vi.constant! }, db = base.dynamic ?? { _ in base.constant! }
            return { c in let i = dv(c); if i >= 0 { c.valid[i] = 0; c.hdr.advanced(by: db(c)).update(repeating: 0, count: size) } }
        case .pushFront(let h, let n), .popFront(let h, let n):
            var push = false
            if case .pushFront = st { push = true }
            let hs = layout.header(h)
            let elems = hs.elements, size = hs.size, off = hs.offset, v0 = hs.validIndex, slot = hs.nextSlot
            return { c in
                let hdr = c.hdr + off, valid = c.valid + v0
                if push {
                    var i = elems - 1
                    while i >= 0 {
                        if i >= n { (hdr + i * size).update(from: hdr + (i - n) * size, count: size); valid[i] = valid[i - n] }
                        else { (hdr + i * size).update(repeating: 0, count: size); valid[i] = 0 }
                        i -= 1
                    }
                    c.slots[slot] = UInt64(min(Int(c.slots[slot]) + n, elems))
                } else {
                    for i in 0..<elems {
                        if i + n < elems { (hdr + i * size).update(from: hdr + (i + n) * size, count: size); valid[i] = valid[i + n] }
                        else { (hdr + i * size).update(repeating: 0, count: size); valid[i] = 0 }
                    }
                    c.slots[slot] = UInt64(max(Int(c.slots[slot]) - n, 0))
                }
            }
        case .ifElse(let cond, let t, let e):
            let fc = try narrow(cond, s, expected: 1), ft = try block(t, s)
            if e.isEmpty { return { c in if fc(c) != 0 { ft(c) } } }
            let fe = try block(e, s)
            return { c in if fc(c) != 0 { ft(c) } else { fe(c) } }
        case .apply(let name, let outcome):
            return try applyTable(name, outcome, s)
        case .call(let name, let args):
            guard let a = index.actions[name] else { throw CompileError("\(s.element): unknown action '\(name)'") }
            let body = try action(a)
            let words = a.params.reduce(0) { $0 + ($1.width > 64 ? 2 : 1) }
            let buf = UnsafeMutablePointer<UInt64>.allocate(capacity: max(words, 1))
            buf.initialize(repeating: 0, count: max(words, 1))
            callBuffers.append(buf)
            var writers: [StmtOp] = []
            var w = 0
            for (i, prm) in a.params.enumerated() where i < args.count {
                let at = w
                if prm.width > 64 {
                    let f = try wide(args[i], s, expected: prm.width)
                    writers.append(StmtOp { c in let v = f(c); buf[at] = UInt64(truncatingIfNeeded: v >> 64); buf[at + 1] = UInt64(truncatingIfNeeded: v) })
                    w += 2
                } else {
                    let f = try narrow(args[i], s, expected: prm.width)
                    writers.append(StmtOp { c in buf[at] = f(c) })
                    w += 1
                }
            }
            let writeArgs = chain(writers)
            return { c in
                let saved = c.params
                writeArgs(c)
                c.params = UnsafePointer(buf)
                body(c)
                c.params = saved
            }
        case .drop:
            let slot = Layout.standardSlot(.drop)
            return { c in c.slots[slot] = 1 }
        case .exit:
            return { c in c.exited = true }
        case .registerRead(let dest, let r, let idx):
            guard let reg = registers[r] else { throw CompileError("\(s.element): unknown register '\(r)'") }
            let fi = try narrow(idx, s, expected: 32), w = try writeField(dest, s)
            let size = UInt64(reg.decl.size), cells = reg.cells
            return { c in
                let i = fi(c)
                if i < size { w(c, cells[Int(i)]) } else { reg.outOfRange &+= 1; w(c, 0) }
            }
        case .registerWrite(let r, let idx, let value):
            guard let reg = registers[r] else { throw CompileError("\(s.element): unknown register '\(r)'") }
            let fi = try narrow(idx, s, expected: 32), fv = try narrow(value, s, expected: reg.decl.width)
            let size = UInt64(reg.decl.size), cells = reg.cells, m = reg.mask
            return { c in
                let i = fi(c)
                if i < size { cells[Int(i)] = fv(c) & m } else { reg.outOfRange &+= 1 }
            }
        case .registerAction(let r, let idx, let update, let result, let returnsNew):
            guard let reg = registers[r] else { throw CompileError("\(s.element): unknown register '\(r)'") }
            var inner = s
            inner.registerWidth = reg.decl.width
            let fi = try narrow(idx, s, expected: 32), fu = try narrow(update, inner, expected: reg.decl.width)
            let w = try result.map { try writeField($0, s) }
            let size = UInt64(reg.decl.size), cells = reg.cells, m = reg.mask
            // `old + f` into field f itself, f as wide as the register (in-network sums: k of
            // these a packet): one closure, the field loaded and stored in place.
            if case .binary(.add, let a, let b) = update, let f = result, a == .registerOld || b == .registerOld,
               (a == .registerOld ? b : a) == .field(f), try fieldDecl(f, s).width == reg.decl.width,
               let p = place(.field(f), s) {
                return { c in
                    let i = fi(c)
                    guard i < size else { reg.outOfRange &+= 1; p.store(c, 0); return }
                    let old = cells[Int(i)]
                    c.registerOld = old
                    let new = (old &+ p.load(c)) & m
                    cells[Int(i)] = new
                    p.store(c, returnsNew ? new : old)
                }
            }
            return { c in
                let i = fi(c)
                guard i < size else { reg.outOfRange &+= 1; w?(c, 0); return }
                let old = cells[Int(i)]
                c.registerOld = old
                let new = fu(c) & m
                cells[Int(i)] = new
                w?(c, returnsNew ? new : old)
            }
        case .count(let name, let idx):
            guard let ctr = counters[name] else { throw CompileError("\(s.element): unknown counter '\(name)'") }
            let fi = try narrow(idx, s, expected: 32)
            let lenSlot = Layout.standardSlot(.packetLength)
            return { c in ctr.count(Int(truncatingIfNeeded: fi(c)), bytes: c.slots[lenSlot]) }
        case .meter(let name, let idx, let result):
            guard let mtr = meters[name] else { throw CompileError("\(s.element): unknown meter '\(name)'") }
            let fi = try narrow(idx, s, expected: 32), w = try writeField(result, s)
            let lenSlot = Layout.standardSlot(.packetLength), tsSlot = Layout.standardSlot(.ingressTimestamp)
            let bytes = mtr.decl.unit == .bytes
            return { c in
                let color = mtr.execute(Int(truncatingIfNeeded: fi(c)), amount: bytes ? c.slots[lenSlot] : 1, now: c.slots[tsSlot])
                w(c, color)
            }
        case .digest(let name, let values):
            guard let d = index.digests[name], let id = program.digests.firstIndex(where: { $0.name == name }) else {
                throw CompileError("\(s.element): unknown digest '\(name)'")
            }
            let fs = try zip(values, d.fields).map { WideOp(run: try wide($0, s, expected: $1.width)) }
            digestWidth = max(digestWidth, fs.count)
            let ring = digests, did = Int32(id)
            return { c in
                guard let slot = ring.push(did) else { return }
                for i in 0..<fs.count { slot[i] = fs[i].run(c) }
            }
        case .updateChecksum(let field, let over), .verifyChecksum(let field, let over):
            var verify = false
            if case .verifyChecksum = st { verify = true }
            return try checksum(field, over, verify: verify, s)
        case .incrementalChecksum(let field, let old, let new):
            // A constant takes the other value's width, as the verifier infers it.
            let shared = index.width(of: old, params: s.params, registerWidth: s.registerWidth)
                ?? index.width(of: new, params: s.params, registerWidth: s.registerWidth)
            let fo = try wide(old, s, expected: shared), fn = try wide(new, s, expected: shared)
            let words = max(1, (shared ?? 16) / 16)
            let read = try readField(field, s), w = try writeField(field, s)
            return { c in
                let o = fo(c), n = fn(c)
                var sum = UInt32(~UInt16(truncatingIfNeeded: read(c)))
                for i in 0..<words {
                    let sh = UInt128(i * 16)
                    sum += UInt32(~UInt16(truncatingIfNeeded: o >> sh)) + UInt32(UInt16(truncatingIfNeeded: n >> sh))
                }
                while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
                w(c, UInt64(~UInt16(sum)))
            }
        case .recirculate:
            return { c in c.recirculate = true }
        case .resubmit:
            return { c in c.resubmit = true }
        case .extract(let h, let idx):
            let hs = layout.header(h)
            let size = hs.size, tooShort = errorCode(.packetTooShort), oob = errorCode(.stackOutOfBounds)
            let perr = Layout.standardSlot(.parserError)
            if hs.isStack || idx == .next {
                let slot = hs.nextSlot, off = hs.offset, v0 = hs.validIndex, n = hs.elements
                return { c in
                    let i = Int(c.slots[slot])
                    guard i < n else { c.slots[perr] = oob; return }
                    guard c.cursor + size <= c.pktLen else { c.slots[perr] = tooShort; return }
                    Bits.copy(c.hdr + off + i * size, c.pkt + c.cursor, size)
                    c.valid[v0 + i] = 1
                    c.slots[slot] = UInt64(i + 1)
                    c.cursor += size
                }
            }
            let off = try headerBase(h, idx, s).constant!, v = try validIndex(h, idx, s).constant!
            return { c in
                guard c.cursor + size <= c.pktLen else { c.slots[perr] = tooShort; return }
                Bits.copy(c.hdr + off, c.pkt + c.cursor, size)
                c.valid[v] = 1
                c.cursor += size
            }
        case .verify(let cond, let err):
            let fc = try narrow(cond, s, expected: 1)
            let code = UInt64(index.errorCodes[err] ?? 0), perr = Layout.standardSlot(.parserError)
            return { c in if fc(c) == 0 && c.slots[perr] == 0 { c.slots[perr] = code } }
        case .advance(let bits):
            let n = bits / 8, tooShort = errorCode(.packetTooShort), perr = Layout.standardSlot(.parserError)
            return { c in
                guard c.cursor + n <= c.pktLen else { c.slots[perr] = tooShort; return }
                c.cursor += n
            }
        case .skip(let bytes):
            let fn = try narrow(bytes, s, expected: 16), limit = SkipLimit.bytes
            let tooShort = errorCode(.packetTooShort), perr = Layout.standardSlot(.parserError)
            return { c in
                let n = Int(fn(c))
                guard n <= limit, c.cursor + n <= c.pktLen else { c.slots[perr] = tooShort; return }
                c.cursor += n
            }
        case .truncate(let bytes):
            let fn = try narrow(bytes, s, expected: 16)
            return { c in c.truncateTo = Int(fn(c)) }
        }
    }

    func errorCode(_ e: StandardError) -> UInt64 { UInt64(StandardError.allCases.firstIndex(of: e)!) }

    /// Ones-complement checksum over the valid headers listed (stacks: their valid elements).
    func checksum(_ field: FieldRef, _ over: [String], verify: Bool, _ s: Scope) throws -> StmtFn {
        guard case .header(let fh, _, let fidx) = field else { throw CompileError("\(s.element): a checksum field must be a header field") }
        let fv = try validIndex(fh, fidx, s)
        guard let fvk = fv.constant else { throw CompileError("\(s.element): a checksum field cannot be in a dynamic stack element") }
        let spans = over.map { layout.header($0) }.flatMap { hs in
            (0..<hs.elements).map { (valid: hs.validIndex + $0, offset: hs.offset + $0 * hs.size, size: hs.size) }
        }
        let errSlot = Layout.standardSlot(.checksumError)
        // The common case: one header, the field a byte-aligned 16-bit word at a fixed offset.
        if spans.count == 1, case .header(let h, let f, _) = field, let bit = layout.header(h).type.bitOffset(of: f),
           bit % 8 == 0, index.decl(of: field)?.width == 16, let base = try headerBase(fh, fidx, s).constant,
           spans[0].size % 2 == 0 {
            let at = base + bit / 8, off = spans[0].offset, size = spans[0].size
            if size == 20 {
                // An IPv4 header without options: five words, unrolled.
                @inline(__always) func sum20(_ p: UnsafeMutablePointer<UInt8>) -> UInt32 {
                    let r = UnsafeRawPointer(p)
                    var acc = UInt64(UInt32(bigEndian: r.loadUnaligned(as: UInt32.self)))
                    acc &+= UInt64(UInt32(bigEndian: r.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
                    acc &+= UInt64(UInt32(bigEndian: r.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
                    acc &+= UInt64(UInt32(bigEndian: r.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
                    acc &+= UInt64(UInt32(bigEndian: r.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))
                    acc = (acc & 0xFFFF_FFFF) &+ (acc >> 32)
                    return UInt32(truncatingIfNeeded: (acc & 0xFFFF_FFFF) &+ (acc >> 32))
                }
                if verify {
                    return { c in
                        guard c.valid[fvk] != 0 else { return }
                        if InternetChecksum.fold(sum20(c.hdr + off)) != 0xFFFF { c.slots[errSlot] = 1 }
                    }
                }
                return { c in
                    guard c.valid[fvk] != 0 else { return }
                    c.hdr[at] = 0; c.hdr[at + 1] = 0
                    let ck = ~InternetChecksum.fold(sum20(c.hdr + off))
                    c.hdr[at] = UInt8(ck >> 8); c.hdr[at + 1] = UInt8(truncatingIfNeeded: ck)
                }
            }
            if verify {
                return { c in
                    guard c.valid[fvk] != 0 else { return }
                    let sum = InternetChecksum.sum(UnsafeRawBufferPointer(start: c.hdr + off, count: size))
                    if InternetChecksum.fold(sum) != 0xFFFF { c.slots[errSlot] = 1 }
                }
            }
            return { c in
                guard c.valid[fvk] != 0 else { return }
                c.hdr[at] = 0; c.hdr[at + 1] = 0
                let ck = ~InternetChecksum.fold(InternetChecksum.sum(UnsafeRawBufferPointer(start: c.hdr + off, count: size)))
                c.hdr[at] = UInt8(ck >> 8); c.hdr[at + 1] = UInt8(truncatingIfNeeded: ck)
            }
        }
        // General case: the headers' bytes concatenated (odd-sized headers shift what follows).
        let write = try writeField(field, s)
        let total = spans.reduce(0) { $0 + $1.size }
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
        checksumBuffers.append(buf)
        let n = spans.count
        let spanValid = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1)), spanOff = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1)), spanSize = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1))
        for (i, sp) in spans.enumerated() { spanValid[i] = sp.valid; spanOff[i] = sp.offset; spanSize[i] = sp.size }
        intBuffers += [spanValid, spanOff, spanSize]
        return { c in
            guard c.valid[fvk] != 0 else { return }
            if !verify { write(c, 0) }
            var len = 0
            for i in 0..<n where c.valid[spanValid[i]] != 0 {
                (buf + len).update(from: c.hdr + spanOff[i], count: spanSize[i])
                len += spanSize[i]
            }
            let folded = InternetChecksum.fold(InternetChecksum.sum(UnsafeRawBufferPointer(start: buf, count: len)))
            if verify {
                if folded != 0xFFFF { c.slots[errSlot] = 1 }
            } else {
                write(c, UInt64(~folded))
            }
        }
    }

    func applyTable(_ name: String, _ outcome: ApplyOutcome, _ s: Scope) throws -> StmtFn {
        guard let t = tables[name] else { throw CompileError("\(s.element): unknown table '\(name)'") }
        let fns = try t.decl.actions.map { n -> StmtOp in
            guard let a = index.actions[n] else { throw CompileError("table '\(name)': unknown action '\(n)'") }
            return StmtOp(run: try action(a))
        }
        // Key construction into the context's key words.
        var keyWriters: [StmtOp] = []
        var word = 0
        for (i, k) in t.decl.keys.enumerated() {
            let at = word
            if t.fieldWords[i] == 2 {
                let f = try wide(k.expr, s, expected: t.fieldWidths[i])
                keyWriters.append(StmtOp { c in let v = f(c); c.key[at] = UInt64(truncatingIfNeeded: v >> 64); c.key[at + 1] = UInt64(truncatingIfNeeded: v) })
            } else {
                let f = try narrow(k.expr, s, expected: t.fieldWidths[i])
                keyWriters.append(StmtOp { c in c.key[at] = f(c) })
            }
            word += t.fieldWords[i]
        }
        keyWordsNeeded = max(keyWordsNeeded, word)
        let buildKey = chain(keyWriters)
        let hit = try block(outcome.hit, s), miss = try block(outcome.miss, s)
        let hasHitMiss = !outcome.hit.isEmpty || !outcome.miss.isEmpty
        var branches: [StmtOp?] = Array(repeating: nil, count: t.decl.actions.count)
        for b in outcome.actions {
            guard let ai = t.decl.actions.firstIndex(of: b.action) else { throw CompileError("table '\(name)': no action '\(b.action)' to switch on") }
            branches[ai] = StmtOp(run: try block(b.body, s))
        }
        let hasBranches = !outcome.actions.isEmpty
        let runAction = dispatcher(fns)
        let branch = dispatcher(branches.map { $0 ?? StmtOp { _ in } })
        let direct = t.decl.directCounter, lenSlot = Layout.standardSlot(.packetLength)
        let stride = t.stride
        if let tr = tracer {
            return { c in
                buildKey(c)
                let e = t.lookup(UnsafePointer(c.key))
                ProgramCompiler.tableEvent(t, c, e, tr)
                let aid: Int32
                if e >= 0 {
                    aid = t.entryAction[Int(e)]
                    c.params = UnsafePointer(t.actionData + Int(e) * stride)
                    if direct { t.hitPackets[Int(e)] &+= 1; t.hitBytes[Int(e)] &+= c.slots[lenSlot] }
                } else {
                    aid = t.defaultAction
                    c.params = UnsafePointer(t.defaultData)
                    t.missPackets &+= 1
                }
                tr.nested {
                    runAction(c, Int(aid))
                    if c.exited { return }
                    if hasHitMiss { if e >= 0 { hit(c) } else { miss(c) } }
                    if hasBranches { branch(c, Int(aid)) }
                }
            }
        }
        return { c in
            buildKey(c)
            let e = t.lookup(UnsafePointer(c.key))
            let aid: Int32
            if e >= 0 {
                aid = t.entryAction[Int(e)]
                c.params = UnsafePointer(t.actionData + Int(e) * stride)
                if direct { t.hitPackets[Int(e)] &+= 1; t.hitBytes[Int(e)] &+= c.slots[lenSlot] }
            } else {
                aid = t.defaultAction
                c.params = UnsafePointer(t.defaultData)
                t.missPackets &+= 1
            }
            runAction(c, Int(aid))
            if c.exited { return }
            if hasHitMiss { if e >= 0 { hit(c) } else { miss(c) } }
            if hasBranches { branch(c, Int(aid)) }
        }
    }

    /// An action's body, compiled once per action and shared by every table and call site.
    func action(_ a: Action) throws -> StmtFn {
        if let op = compiledActions[a.name] { return op.run }
        var scope = Scope(element: "action '\(a.name)'", params: a.params)
        var w = 0
        for p in a.params { scope.paramWord[p.name] = w; w += p.width > 64 ? 2 : 1 }
        var f = try block(a.body, scope)
        if let tr = tracer { f = tracedAction(a, f, tr) }
        compiledActions[a.name] = StmtOp(run: f)
        return f
    }
}

extension Stmt {
    /// Whether running this statement may set the exit flag.
    var mayExit: Bool {
        switch self {
        case .exit: true
        case .ifElse(_, let t, let e): t.contains { $0.mayExit } || e.contains { $0.mayExit }
        case .apply, .call: true
        default: false
        }
    }
}

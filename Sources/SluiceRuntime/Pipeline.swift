import SluiceControlPlane
import SluiceIR

/// A program compiled for the software runtime: parser, ingress, traffic manager (multicast
/// replication), egress and deparser, with its tables and extern state. Create it once; then
/// `process` packets. Not thread-safe: one pipeline per core.
public final class Pipeline {
    public let program: Program
    let compiler: ProgramCompiler
    let ctx: ExecContext
    let states: [StateOp]
    /// `states[i].run` without an array read (and its retain) per state.
    let runState: (ExecContext, Int) -> Int32
    let ingressFn: StmtFn
    let egressFn: StmtFn?
    let deparserFn: StmtFn
    let spans: [(valid: Int, offset: Int, size: Int)]
    /// Multicast groups as the control plane set them; `multicastIndex` and `multicastMembers`
    /// are their flat copy for the data plane (no hashing per packet).
    @exclusivity(unchecked) var groups: [UInt16: [MulticastMember]] = [:]
    let multicastIndex: UnsafeMutablePointer<(start: Int32, count: Int32)>
    @exclusivity(unchecked) var multicastMembers: UnsafeMutablePointer<MulticastMember>
    /// Outputs of the current packet, unretained: each is the caller's input buffer (alive for the
    /// call) or a buffer of `pool`. Manual storage: no uniqueness checks or retains per packet.
    @exclusivity(unchecked) @usableFromInline var outputs: UnsafeMutablePointer<Unmanaged<PacketBuffer>>
    @exclusivity(unchecked) @usableFromInline var outputPorts: UnsafeMutablePointer<UInt16>
    @exclusivity(unchecked) var outputCapacity = 0
    /// What `outputCount` shows, set by the pipeline's code, the inlined `process` included.
    @exclusivity(unchecked) @usableFromInline var outputsReady = 0
    @inlinable public var outputCount: Int { outputsReady }
    @exclusivity(unchecked) var pool: [PacketBuffer] = []
    @exclusivity(unchecked) var poolUsed = 0

    /// Bounds on passes through the pipeline for recirculation and resubmission.
    @exclusivity(unchecked) public var maxPasses = 4
    /// At most this many parser state transitions per packet (then `ParserTimeout`).
    @exclusivity(unchecked) public var maxParserSteps = 256
    /// The native code of the program when the native engine runs it (nil: the closures).
    let native: NativeStages?
    /// `native`'s entry points, for the passes (a plain value: no reference counting per packet).
    @usableFromInline let nativeEntry: NativeEntry?
    /// `nativeEntry` when the program has no egress control: `process` then runs ingress and
    /// emits the packet without the general pass (`run`), whose frame and egress call cost about
    /// 125 instructions a packet on ipv4-router (callgrind), almost half the native code's 281.
    @usableFromInline let nativeIngressOnly: NativeEntry?
    /// Why the closures run though the native engine was asked for (nil when it runs, or was not asked for).
    public let engineNote: String?
    public var engine: PipelineEngine { native == nil ? .closures : .native }
    /// Whether the program has an egress control. Without one, `runEgress` reads neither the
    /// copy nor the queue values: a host may skip computing them.
    public var hasEgress: Bool { egressFn != nil }
    /// The most bytes a pass writes into a packet, from where the packet starts before it:
    /// every header of the program, valid at once and emitted (the payload never moves).
    public var headerBytes: Int { ctx.headerBytes }
    /// The bridged word that says whether ingress asked to recirculate (`ctx.slotCount`), for
    /// `runEgressWithoutControl`.
    @usableFromInline let recirculateWord: Int
    /// The program can recirculate (`ProgramFacts.recirculates`). Without it and without an
    /// egress control nothing reads the bridged words, so the native `runIngress` writes none
    /// and `runEgressWithoutControl` reads none: for the emulator, a cache line a hop less.
    @usableFromInline let recirculates: Bool
    /// Ingress hands words on to the sending end (`bridgeOut`): there is an egress control, or
    /// the program can recirculate.
    @usableFromInline let bridges: Bool
    /// Set when the pipeline was compiled traced (`init(trace:)`): every packet's trace goes to it.
    public let tracer: PipelineTracer?

    /// The buffer `process(_ bytes:)` loads packets into.
    lazy var inputBuffer = PacketBuffer()

    /// What `stats` shows, counted here by the pipeline's code, the inlined per-packet code
    /// (`process`, `runIngress`, `runEgressWithoutControl`) included.
    @exclusivity(unchecked) @usableFromInline var counters = Stats()
    public var stats: Stats { counters }

    public struct Stats: Hashable, Sendable {
        public var received: UInt64 = 0
        public var parserDrops: UInt64 = 0
        public var ingressDrops: UInt64 = 0
        public var egressDrops: UInt64 = 0
        public var passLimitDrops: UInt64 = 0
        public var headroomDrops: UInt64 = 0
        /// Packets larger than a packet buffer (`PacketBuffer.defaultCapacity` less headroom).
        public var oversizeDrops: UInt64 = 0
        public var emptyGroupDrops: UInt64 = 0
        public var sent: UInt64 = 0
        public var digestsDropped: UInt64 = 0
        public init() {}
    }

    /// Compile. `seed` seeds the program's `random`. `queues: true` is for hosts that model
    /// queues and set the traffic-manager values; otherwise a program reading them is rejected
    /// here. `engine`: see `PipelineEngine`; where the native engine cannot run the program (no
    /// clang, a construct its C target lacks), the closures do and `engineNote` says why.
    /// `trace`: compile the traced variant of the closures and trace every packet to it (the
    /// closures run then, never the native engine); its filter must name fields the program has.
    public init(_ verified: VerifiedProgram, seed: UInt64 = 1, queues: Bool = false, engine: PipelineEngine = .default,
                trace: PipelineTracer? = nil) throws {
        let program = verified.program
        self.program = program
        tracer = trace
        let c = ProgramCompiler(program, queues: queues, tracer: trace)
        compiler = c
        states = try c.parser()
        runState = stateDispatcher(states)
        ingressFn = try c.block(program.ingress, Scope(element: "control ingress"))
        egressFn = try program.egress.map { try c.block($0, Scope(element: "control egress")) }
        deparserFn = try c.block(program.deparser.statements, Scope(element: "deparser"))
        spans = c.emitSpans()
        ctx = ExecContext(layout: c.layout, keyWords: c.keyWordsNeeded, hashBytes: c.hashBytesNeeded, seed: seed)
        outputs = .allocate(capacity: 1)
        outputPorts = .allocate(capacity: 1)
        outputCapacity = 1
        multicastIndex = .allocate(capacity: 1 << 16)
        multicastIndex.initialize(repeating: (0, 0), count: 1 << 16)
        multicastMembers = .allocate(capacity: 1)
        if let trace {
            (native, engineNote) = (nil, engine == .native ? "tracing runs the closures" : nil)
            trace.bound = try trace.filter.map { f throws(TraceFilterError) in try BoundTraceFilter(f, layout: c.layout, program: program) }
            for (name, code) in c.index.errorCodes { trace.errorNames[UInt64(code)] = name }
            trace.spanNames = program.deparser.emit.flatMap { name -> [String] in
                let hs = c.layout.header(name)
                return hs.isStack ? (0..<hs.elements).map { "\(name)[\($0)]" } : [name]
            }
        } else {
            (native, engineNote) = engine == .native ? NativeStages.attempt(verified, compiler: c, context: ctx, queues: queues) : (nil, nil)
        }
        recirculateWord = ctx.slotCount
        recirculates = verified.facts.recirculates
        bridges = egressFn != nil || recirculates
        nativeEntry = native?.entry
        nativeIngressOnly = program.egress == nil ? nativeEntry : nil
        for t in program.tables {
            let rt = c.tables[t.name]!
            rt.setDefault(t.defaultAction, action: Int32(t.actions.firstIndex(of: t.defaultAction.action) ?? 0))
            for e in t.entries {
                guard let ai = t.actions.firstIndex(of: e.action.action), rt.insert(e, action: Int32(ai)) != nil else {
                    throw CompileError("table '\(t.name)': its entry \(e.matches) -> \(e.action.action) could not be installed (duplicate or table full)")
                }
            }
        }
    }

    // MARK: processing

    /// Parse `buf` into the context. Returns false on reject.
    @inline(__always) func parse(_ buf: PacketBuffer) -> Bool {
        let c = ctx
        c.pkt = buf.data
        c.pktLen = buf.length
        c.cursor = 0
        var st: Int32 = 0
        var steps = 0
        if states.isEmpty { return true }
        while st >= 0 {
            st = runState(c, Int(st))
            steps += 1
            if steps > maxParserSteps && st >= 0 {
                c.slots[Layout.standardSlot(.parserError)] = compiler.errorCode(.parserTimeout)
                return false
            }
        }
        return st == -1
    }

    /// Write the valid headers in emit order in front of the unparsed payload.
    @inline(__always) func deparse(_ buf: PacketBuffer) -> Bool {
        let c = ctx
        var total = 0
        for sp in spans where c.valid[sp.valid] != 0 { total += sp.size }
        let payload = buf.length - c.cursor
        let newStart = buf.start + c.cursor - total
        guard newStart >= 0 else { counters.headroomDrops += 1; return false }
        var p = buf.base + newStart
        for sp in spans where c.valid[sp.valid] != 0 {
            Bits.copy(p, c.hdr + sp.offset, sp.size)
            p += sp.size
        }
        buf.start = newStart
        buf.length = min(total + payload, c.truncateTo)
        return true
    }

    /// What ingress decided about a packet, for a host with a traffic manager of its own.
    public enum IngressDecision: Hashable, Sendable {
        case drop
        case unicast(port: UInt16)
        case multicast(group: UInt16)
    }

    /// What egress decided about one copy.
    public enum EgressDecision: Hashable, Sendable { case send, drop, recirculate }

    /// Traffic-manager values a host with queues gives egress (nanoseconds and bytes).
    public struct QueueState: Hashable, Sendable {
        public var enqTimestamp: UInt64, enqQdepth: UInt64, deqTimedelta: UInt64, deqQdepth: UInt64, deqBufferDepth: UInt64
        public init(enqTimestamp: UInt64 = 0, enqQdepth: UInt64 = 0, deqTimedelta: UInt64 = 0, deqQdepth: UInt64 = 0, deqBufferDepth: UInt64 = 0) {
            self.enqTimestamp = enqTimestamp; self.enqQdepth = enqQdepth; self.deqTimedelta = deqTimedelta; self.deqQdepth = deqQdepth
            self.deqBufferDepth = deqBufferDepth
        }
    }

    /// Words of metadata a packet carries from ingress to egress (`runIngress`'s `bridge`): the
    /// metadata slots, then whether ingress asked to recirculate.
    public var bridgeWords: Int { ctx.slotCount + 1 }

    /// Parser, ingress (with bounded resubmission) and deparser on `buf` in place. The context
    /// keeps the metadata for egress.
    @inline(__always) func ingressPass<T: PassTrace>(_ buf: PacketBuffer, port: UInt16, timestamp: UInt64, pass: inout Int, instance: inout InstanceType,
                                                     _ t: T) -> IngressDecision {
        if let n = nativeEntry { return nativeIngressPass(n, buf, port: port, timestamp: timestamp) }
        let c = ctx
        while true {
            c.reset(keepMetadata: false)
            c.setStd(.ingressPort, UInt64(port))
            c.setStd(.packetLength, UInt64(buf.length))
            // A 48-bit field, as every field: a clock past 2^48 ns (capture times since 1970)
            // is cut, as the XDP backend cuts the kernel's.
            c.setStd(.ingressTimestamp, timestamp & Bits.mask(StandardField.ingressTimestamp.width))
            c.setStd(.instanceType, instance.rawValue)
            c.setStd(.passCount, UInt64(pass))
            t.ingressBegins(c, port: port, pass: pass, instance: instance)
            let accepted = parse(buf)
            t.parsed(c, accepted: accepted)
            if !accepted && program.onParserReject == .drop { counters.parserDrops += 1; t.dropped("parser", "the parser rejected the packet"); return .drop }
            t.stage("ingress")
            ingressFn(c)
            if c.resubmit {
                pass += 1
                if pass >= maxPasses { counters.passLimitDrops += 1; t.dropped("ingress", "resubmitted past the pass limit (\(maxPasses))"); return .drop }
                instance = .resubmit
                continue
            }
            c.exited = false  // `Exit()` ends the control, not the deparser
            t.stage("deparser")
            deparserFn(c)
            if c.std(.drop) != 0 { counters.ingressDrops += 1; t.dropped("ingress", nil); return .drop }
            guard deparse(buf) else { t.dropped("deparser", "no headroom for the headers"); return .drop }
            t.deparsed(c, buf)
            let group = UInt16(truncatingIfNeeded: c.std(.mcastGrp))
            if group != 0 { t.multicast(group, multicastMembers(group: group)); return .multicast(group: group) }
            t.unicast(UInt16(truncatingIfNeeded: c.std(.egressSpec)))
            return .unicast(port: UInt16(truncatingIfNeeded: c.std(.egressSpec)))
        }
    }

    /// Run one packet. Afterwards `outputCount` packets are available through `output(_:)`.
    /// `buffer` is modified in place and may itself be an output (unicast needs no copy).
    /// Inlinable: the native code of a program without egress runs from the caller's loop
    /// (replay, the pcap switch, benchmarks) with no call into this module first.
    @inlinable public func process(_ buffer: PacketBuffer, port: UInt16, timestamp: UInt64 = 0) {
        counters.received &+= 1
        if let n = nativeIngressOnly {
            // Native code never traces, resubmits or recirculates; without egress a unicast
            // packet goes out as ingress left it: the one output, in the room `init` gave
            // `outputs` (capacity 1 at least). Only this path runs in this frame: the others
            // are calls, so the common packet pays for no registers they need.
            let r = n.ingress(n.state, buffer.base, buffer.position, UInt64(port), timestamp)
            if r & 0xFFFF == 0 {
                outputs[0] = Unmanaged.passUnretained(buffer)
                outputPorts[0] = UInt16(truncatingIfNeeded: r >> 16)
                outputsReady = 1
                counters.sent &+= 1
                return
            }
            nativeIngressOnlyRest(r, buffer, port: port, timestamp: timestamp)
            return
        }
        processPasses(buffer, port: port, timestamp: timestamp)
    }

    /// `process` under the native engine without egress, for a packet `sl_ingress` (result `r`)
    /// did not send to one port: dropped or multicast.
    @usableFromInline @inline(never) func nativeIngressOnlyRest(_ r: UInt64, _ buffer: PacketBuffer, port: UInt16, timestamp: UInt64) {
        outputsReady = 0
        poolUsed = 0
        guard r & 0xFFFF == NativeStages.multicast else { countNativeDrop(r); return }
        replicate(.multicast(group: UInt16(truncatingIfNeeded: r >> 16)), buffer, port: port, timestamp: timestamp, pass: 0, Untraced())
    }

    /// `process` through the general passes (closures, tracing, egress).
    @usableFromInline @inline(never) func processPasses(_ buffer: PacketBuffer, port: UInt16, timestamp: UInt64) {
        outputsReady = 0
        poolUsed = 0
        if let tr = tracer {
            tr.begin(port: port, length: buffer.length, timestamp: timestamp, egress: false)
            run(buffer, port: port, timestamp: timestamp, pass: 0, instance: .normal, Traced(t: tr, spans: spans))
            tr.end()
            return
        }
        run(buffer, port: port, timestamp: timestamp, pass: 0, instance: .normal, Untraced())
    }

    /// One pass: ingress, then the copies through egress; recirculated copies pass again.
    func run<T: PassTrace>(_ buf: PacketBuffer, port: UInt16, timestamp: UInt64, pass: Int, instance: InstanceType, _ t: T) {
        var pass = pass, instance = instance
        let d = ingressPass(buf, port: port, timestamp: timestamp, pass: &pass, instance: &instance, t)
        replicate(d, buf, port: port, timestamp: timestamp, pass: pass, instance: instance, t)
    }

    /// What follows ingress's decision `d` on `buf`: nothing for a drop, the copies of a
    /// multicast group or the one packet through egress, then out or round again.
    @inline(__always) func replicate<T: PassTrace>(_ d: IngressDecision, _ buf: PacketBuffer, port: UInt16, timestamp: UInt64, pass: Int,
                                 instance: InstanceType = .normal, _ t: T) {
        let c = ctx
        switch d {
        case .drop:
            return
        case .multicast(let group):
            let g = multicastIndex[Int(group)]
            guard g.count > 0 else { counters.emptyGroupDrops += 1; return }
            // Every copy starts from the packet and the metadata as ingress left them.
            c.saveMetadata()
            let ingressRecirculate = c.recirculate
            let original = poolBuffer()
            original.copy(from: buf)
            for i in 0..<Int(g.count) {
                let m = multicastMembers[Int(g.start) + i]
                let copy = poolBuffer()
                copy.copy(from: original)
                c.restoreMetadata()
                c.recirculate = ingressRecirculate
                guard egress(copy, port: m.port, rid: m.rid, instance: .replica, t) else { continue }
                if c.recirculate { recirculate(copy, port: port, timestamp: timestamp, pass: pass, t); continue }
                t.emitted(port: m.port, copy)
                emit(copy, port: m.port)
            }
        case .unicast(let egressPort):
            guard egress(buf, port: egressPort, rid: 0, instance: instance, t) else { return }
            if c.recirculate { recirculate(buf, port: port, timestamp: timestamp, pass: pass, t); return }
            t.emitted(port: egressPort, buf)
            emit(buf, port: egressPort)
        }
    }

    /// Send a deparsed copy through the pipeline again, within `maxPasses`.
    func recirculate<T: PassTrace>(_ buf: PacketBuffer, port: UInt16, timestamp: UInt64, pass: Int, _ t: T) {
        guard pass + 1 < maxPasses else { counters.passLimitDrops += 1; t.dropped("recirculation", "recirculated past the pass limit (\(maxPasses))"); return }
        t.recirculates()
        let again = poolBuffer()
        again.copy(from: buf)
        run(again, port: port, timestamp: timestamp, pass: pass + 1, instance: .recirculate, t)
    }

    /// Ingress alone, for hosts that model the traffic manager themselves (the emulator): runs
    /// the parser, ingress and deparser on `buf` in place and writes the metadata egress needs
    /// into `bridge` (`bridgeWords` words). Multicast groups are the host's to expand.
    /// Inlinable: a host with its own loop (the emulator, every hop) runs the native code
    /// with no call into this module first.
    @inlinable public func runIngress(_ buf: PacketBuffer, port: UInt16, timestamp: UInt64, pass: Int = 0,
                                      bridge: UnsafeMutablePointer<UInt64>) -> IngressDecision {
        counters.received &+= 1
        if let n = nativeEntry {
            // Native code never traces, resubmits or recirculates: one pass, `pass` is 0.
            let d = nativeIngressPass(n, buf, port: port, timestamp: timestamp)
            if case .drop = d { return d }
            if bridges { bridgeOut(bridge, recirculate: false) }
            return d
        }
        return runIngressPasses(buf, port: port, timestamp: timestamp, pass: pass, bridge: bridge)
    }

    /// What egress reads of a packet ingress passed: the metadata when there is an egress
    /// control (without one nothing reads it again), then whether ingress asked to recirculate
    /// (the word after them).
    @usableFromInline func bridgeOut(_ bridge: UnsafeMutablePointer<UInt64>, recirculate: Bool) {
        if egressFn != nil { bridge.update(from: ctx.slots, count: ctx.slotCount) }
        bridge[ctx.slotCount] = recirculate ? 1 : 0
    }

    /// `runIngress` through the closures (traced or not), outlined: the native call's frame
    /// holds nothing of theirs.
    @usableFromInline @inline(never) func runIngressPasses(_ buf: PacketBuffer, port: UInt16, timestamp: UInt64, pass: Int,
                                         bridge: UnsafeMutablePointer<UInt64>) -> IngressDecision {
        var p = pass
        var instance: InstanceType = pass == 0 ? .normal : .recirculate
        let d: IngressDecision
        if let tr = tracer {
            tr.begin(port: port, length: buf.length, timestamp: timestamp, egress: false)
            d = ingressPass(buf, port: port, timestamp: timestamp, pass: &p, instance: &instance, Traced(t: tr, spans: spans))
            tr.end()
        } else {
            d = ingressPass(buf, port: port, timestamp: timestamp, pass: &p, instance: &instance, Untraced())
        }
        if d != .drop && bridges { bridgeOut(bridge, recirculate: ctx.recirculate) }
        return d
    }

    /// The members of a multicast group, for hosts that replicate (`runIngress` returned
    /// `.multicast`). Valid until the control plane next changes a group; empty if none.
    @inline(__always) public func multicastMembers(group: UInt16) -> UnsafeBufferPointer<MulticastMember> {
        let g = multicastIndex[Int(group)]
        return UnsafeBufferPointer(start: multicastMembers + Int(g.start), count: Int(g.count))
    }

    /// Egress alone for one copy, in place, with the metadata `runIngress` bridged and the
    /// traffic manager's queue values (readable by programs compiled with `queues: true`).
    public func runEgress(_ buf: PacketBuffer, port: UInt16, rid: UInt16 = 0, replica: Bool = false,
                          bridge: UnsafePointer<UInt64>, queue: QueueState = QueueState()) -> EgressDecision {
        if egressFn == nil { return runEgressWithoutControl(bridge: bridge) }
        return runEgressControl(buf, port: port, rid: rid, replica: replica, bridge: bridge, queue: queue)
    }

    /// `runEgress` of a program without an egress control (`hasEgress` false), inlinable: a
    /// host's per-packet code pays a load and a count for it, not a call with queue values.
    @inlinable public func runEgressWithoutControl(bridge: UnsafePointer<UInt64>) -> EgressDecision {
        if recirculates && bridge[recirculateWord] != 0 { return .recirculate }
        counters.sent &+= 1
        return .send
    }

    /// `runEgress` for a program with an egress control, outlined: a copy of a program without
    /// one pays for no frame of it.
    @inline(never) func runEgressControl(_ buf: PacketBuffer, port: UInt16, rid: UInt16, replica: Bool,
                                         bridge: UnsafePointer<UInt64>, queue: QueueState) -> EgressDecision {
        let c = ctx
        c.slots.update(from: bridge, count: c.slotCount)
        c.recirculate = bridge[c.slotCount] != 0
        c.setStd(.enqTimestamp, queue.enqTimestamp)
        c.setStd(.enqQdepth, queue.enqQdepth)
        c.setStd(.deqTimedelta, queue.deqTimedelta)
        c.setStd(.deqQdepth, queue.deqQdepth)
        c.setStd(.deqBufferDepth, queue.deqBufferDepth)
        let instance = replica ? .replica : InstanceType(rawValue: c.std(.instanceType)) ?? .normal
        if let tr = tracer {
            tr.begin(port: port, length: buf.length, timestamp: queue.enqTimestamp, egress: true)
            defer { tr.end() }
            guard egress(buf, port: port, rid: rid, instance: instance, Traced(t: tr, spans: spans)) else { return .drop }
        } else {
            guard egress(buf, port: port, rid: rid, instance: instance, Untraced()) else { return .drop }
        }
        if c.recirculate { return .recirculate }
        counters.sent += 1
        return .send
    }

    /// Run egress on one copy in place. Returns false when the copy is dropped.
    @inline(__always) func egress<T: PassTrace>(_ out: PacketBuffer, port: UInt16, rid: UInt16, instance: InstanceType, _ t: T) -> Bool {
        guard let eg = egressFn else { return true }
        if let n = nativeEntry { return nativeEgress(n, out, port: port, rid: rid, instance: instance) }
        let c = ctx
        // User metadata is carried from ingress; headers are parsed again from the bytes. A
        // recirculation ingress asked for still happens after egress.
        let recirculate = c.recirculate
        c.reset(keepMetadata: true)
        c.recirculate = recirculate
        c.enterEgress(port: port, rid: rid, instance: instance, length: out.length)
        t.egressBegins(port: port, rid: rid, instance: instance)
        let accepted = parse(out)
        t.parsed(c, accepted: accepted)
        if !accepted && program.onParserReject == .drop { counters.parserDrops += 1; t.dropped("egress parser", "the parser rejected the packet"); return false }
        t.stage("egress control")
        eg(c)
        c.exited = false
        t.stage("deparser")
        deparserFn(c)
        if c.std(.drop) != 0 { counters.egressDrops += 1; t.dropped("egress", nil); return false }
        guard deparse(out) else { t.dropped("deparser", "no headroom for the headers"); return false }
        t.deparsed(c, out)
        return true
    }

    @inline(__always) func emit(_ buf: PacketBuffer, port: UInt16) {
        if outputsReady == outputCapacity { growOutputs() }
        outputs[outputsReady] = Unmanaged.passUnretained(buf)
        outputPorts[outputsReady] = port
        outputsReady += 1
        counters.sent &+= 1
    }

    func growOutputs() {
        let cap = max(8, outputCapacity * 2)
        let o = UnsafeMutablePointer<Unmanaged<PacketBuffer>>.allocate(capacity: cap)
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: cap)
        if outputCapacity > 0 {
            o.moveInitialize(from: outputs, count: outputCapacity); p.moveInitialize(from: outputPorts, count: outputCapacity)
            outputs.deallocate(); outputPorts.deallocate()
        }
        outputs = o; outputPorts = p; outputCapacity = cap
    }

    deinit {
        if outputCapacity > 0 { outputs.deallocate(); outputPorts.deallocate() }
        multicastIndex.deallocate(); multicastMembers.deallocate()
    }

    /// Rebuild the data plane's flat copy of the multicast groups (control plane only).
    func rebuildMulticast() {
        let total = groups.values.reduce(0) { $0 + $1.count }
        let members = UnsafeMutablePointer<MulticastMember>.allocate(capacity: max(total, 1))
        multicastIndex.update(repeating: (0, 0), count: 1 << 16)
        var at = 0
        for (g, ms) in groups.sorted(by: { $0.key < $1.key }) {
            multicastIndex[Int(g)] = (Int32(at), Int32(ms.count))
            for m in ms { (members + at).initialize(to: m); at += 1 }
        }
        multicastMembers.deallocate()
        multicastMembers = members
    }

    func poolBuffer() -> PacketBuffer {
        if poolUsed == pool.count { pool.append(PacketBuffer()) }
        poolUsed += 1
        return pool[poolUsed - 1]
    }

    /// The `i`th output of the last `process` call: its port and bytes (valid until the next call).
    /// Inlinable, as `outputPort(_:)`: hosts call these once a packet, from other modules.
    @inlinable public func output(_ i: Int) -> (port: UInt16, buffer: PacketBuffer) {
        precondition(i >= 0 && i < outputCount, "output \(i) of \(outputCount)")
        return (outputPorts[i], outputs[i].takeUnretainedValue())
    }

    /// The bytes of the `i`th output of the last `process` call (valid until the next call), with
    /// no reference to its buffer taken: `output(_:)` costs a retain and a release a packet.
    @inlinable public func outputBytes(_ i: Int) -> UnsafeRawBufferPointer {
        precondition(i >= 0 && i < outputCount, "output \(i) of \(outputCount)")
        return outputs[i]._withUnsafeGuaranteedRef { UnsafeRawBufferPointer(start: $0.data, count: $0.length) }
    }

    /// The port of the `i`th output of the last `process` call (no reference to its buffer taken).
    @inlinable @inline(__always) public func outputPort(_ i: Int) -> UInt16 {
        precondition(i >= 0 && i < outputCount, "output \(i) of \(outputCount)")
        return outputPorts[i]
    }

    /// Convenience for tests and tools (allocates the result): run bytes in, get (port, bytes)
    /// out. A packet larger than a buffer is dropped and counted, never truncated.
    public func process(_ bytes: [UInt8], port: UInt16, timestamp: UInt64 = 0) -> [(port: UInt16, bytes: [UInt8])] {
        let b = inputBuffer
        guard b.load(bytes) else {
            outputsReady = 0
            counters.received += 1
            counters.oversizeDrops += 1
            return []
        }
        process(b, port: port, timestamp: timestamp)
        return (0..<outputCount).map { (outputPorts[$0], outputs[$0].takeUnretainedValue().bytes) }
    }
}

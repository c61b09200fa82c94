import SluiceEmulator
/// What the worker protocol needs from where it runs: a clock, a way to send a datagram to
/// the aggregation service, and one wake-up. An emulated host (`EmulatedAggregationPort`) and a
/// real UDP socket (`UDPAggregationPort`) both provide it, so the protocol is written once.
public protocol AggregationPort: AnyObject {
    /// Now, in picoseconds (any fixed origin).
    var now: Int64 { get }
    /// Send one datagram of `length` bytes, written by `fill`, to the aggregation service.
    func send(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void)
    /// Call the worker's `timerFired()` once, at `time` or soon after. One wake-up is pending at
    /// a time: the earliest asked for since the last `timerFired()` (the worker asks again after
    /// each one). A port whose timers cannot be cancelled must not call `timerFired()` for one it
    /// has since moved, or every stale timer re-arms one of its own and they multiply.
    func wake(at time: Int64)
}

/// A job's settings, the same on every worker of the job.
public struct AggregationConfig: Sendable {
    /// The job number in every packet (the switch checks it against the worker's entry).
    public var job: UInt8
    /// Workers in the job (n): the quantization scale keeps a sum of n values inside int32.
    public var workers: Int
    /// Values per packet (k): 32, 64, 128 or 256, as the switch program was built.
    public var elementsPerPacket: Int
    /// Pool slots the job owns on the switch (s): at most s packets in flight per worker.
    public var poolSlots: Int
    /// Retransmission timeout in picoseconds; nil: adaptive, from the measured round trip
    /// (srtt + 4 rttvar, at least 2 srtt and `minTimeout`, at most 100 ms; 1 ms before the first
    /// sample; round trips are timed from a packet's first transmission). Either way
    /// a packet's timeout doubles with each retransmission of it, up to 64x (RFC 6298 5.5): a
    /// slot waiting for a slow worker, or a descheduled service, is not retransmitted into
    /// every few microseconds.
    public var timeout: Int64?
    /// The adaptive timeout's floor, picoseconds: 10 us suits the emulator's exact clocks;
    /// processes on a real host, whom the scheduler can stop for milliseconds, want about 1 ms.
    public var minTimeout: Int64

    public init(job: UInt8 = 1, workers: Int, elementsPerPacket: Int = 64, poolSlots: Int = 256, timeout: Int64? = nil,
                minTimeout: Int64 = 10_000_000) {
        self.job = job; self.workers = workers; self.elementsPerPacket = elementsPerPacket
        self.poolSlots = poolSlots; self.timeout = timeout; self.minTimeout = minTimeout
    }

    /// What is wrong with these settings, or nil.
    public var problem: String? {
        if SwitchMLFormat.sizeCode(elements: elementsPerPacket) == nil {
            return "elements per packet \(elementsPerPacket) is not a SwitchML packet size (valid: 32, 64, 128, 256)"
        }
        if workers < 1 || workers > 32 { return "\(workers) workers: the switch's bitmaps hold 1 ... 32 workers per job" }
        if poolSlots < 1 || poolSlots > 0x3FFF { return "pool of \(poolSlots) slots (valid: 1 ... 16383)" }
        if let t = timeout, t <= 0 { return "timeout \(t) ps must be positive" }
        if minTimeout <= 0 || minTimeout > 1_000_000_000_000 { return "minimum timeout \(minTimeout) ps (valid: 1 ps ... 1 s)" }
        return nil
    }
}

/// Counters of one worker.
public struct AggregationStats: Sendable, Encodable {
    public var packetsSent = 0
    public var retransmissions = 0
    public var resultsAccepted = 0
    /// Results for a packet no longer outstanding (a copy already taken, another job's, an
    /// earlier operation's) or malformed: discarded.
    public var discarded = 0
    public var timeouts = 0
    /// `timerFired()` calls: wake-ups the port delivered.
    public var timerFirings = 0
}

/// The SwitchML worker protocol for one job: streams a tensor through the switch's pool of
/// slots, `s` packets in flight, each slot reused (alternating shadow sets) as soon as its
/// result is back; per-slot retransmission on timeout; duplicate and stale results ignored;
/// float32 through block floating point with exponents one window ahead (`Quantization`).
///
/// Operations run one after another in the order submitted (`allReduce`); every worker of the
/// job must submit the same sequence with tensors of the same size. Results are written in
/// place. Per packet: no allocation, no existentials (the port is a generic parameter).
public final class AggregationWorker<Port: AggregationPort> {
    public let config: AggregationConfig
    public let port: Port
    public private(set) var stats = AggregationStats()

    enum Tensor {
        case int32(TensorBuffer<Int32>)
        case float32(TensorBuffer<Float>)
        var count: Int {
            switch self { case .int32(let b): b.count; case .float32(let b): b.count }
        }
    }

    struct Operation {
        var tensor: Tensor
        var done: (Int64) -> Void
        /// `leaveSlotsReusable`: one packet per pool slot, sent only where the slot's last use
        /// was set 0 (the others count as done at once).
        var padding = false
    }

    let k: Int
    let sizeCode: UInt8
    // Per slot. Touched by every packet from one thread: no dynamic exclusivity checks.
    @exclusivity(unchecked) var outstanding: [Int]          // local packet index in flight in the slot, -1: none
    @exclusivity(unchecked) var uses: [UInt32]              // times the slot was used: its parity is the set
    @exclusivity(unchecked) var sentAt: [Int64]
    @exclusivity(unchecked) var reducedExponent: [UInt8]    // of the block whose values the slot carries next
    @exclusivity(unchecked) var valueScale: [Double]        // scale of the values in the packet in flight

    @exclusivity(unchecked) var queue: [Operation] = []
    @exclusivity(unchecked) var current: Operation?
    @exclusivity(unchecked) var opSerial: UInt32 = 0
    @exclusivity(unchecked) var baseID: UInt32 = 0          // packet id of local packet 0
    @exclusivity(unchecked) var nextID: UInt32 = 0
    @exclusivity(unchecked) var window = 0                  // W = min(s, blocks)
    @exclusivity(unchecked) var blocks = 0                  // C
    @exclusivity(unchecked) var total = 0                   // packets in this operation
    @exclusivity(unchecked) var nextToSend = 0
    @exclusivity(unchecked) var received = 0

    /// Deadlines by backoff level (a packet's retransmissions so far, at most `maxBackoff`).
    @exclusivity(unchecked) var timers = RetransmissionTimers()
    /// Packets `timerFired` found due (kept to reuse its storage).
    @exclusivity(unchecked) var due: [Int] = []
    @exclusivity(unchecked) var tries: [UInt8]
    static var maxBackoff: Int { RetransmissionTimers.levels - 1 }
    /// The most an adaptive timeout, backed off or not, waits: 100 ms.
    static var maxTimeout: Int64 { 100_000_000_000 }
    @exclusivity(unchecked) var armedAt = Int64.max
    @exclusivity(unchecked) var srtt: Int64 = 0
    @exclusivity(unchecked) var rttvar: Int64 = 0

    public init(config: AggregationConfig, port: Port) throws {
        if let p = config.problem { throw AggregationError(p) }
        self.config = config
        self.port = port
        k = config.elementsPerPacket
        sizeCode = SwitchMLFormat.sizeCode(elements: k)!
        let s = config.poolSlots
        outstanding = Array(repeating: -1, count: s)
        uses = Array(repeating: 0, count: s)
        sentAt = Array(repeating: 0, count: s)
        tries = Array(repeating: 0, count: s)
        reducedExponent = Array(repeating: 0, count: s)
        valueScale = Array(repeating: 0, count: s)
    }

    /// Sum `tensor` over the job's workers, in place; `done` gets the time it completed.
    /// Asynchronous: returns at once; operations run in the order submitted.
    public func allReduce(_ tensor: TensorBuffer<Int32>, done: @escaping (Int64) -> Void = { _ in }) {
        submit(Operation(tensor: .int32(tensor), done: done))
    }

    /// float32 through block floating point: within `Quantization.errorBound` per element.
    public func allReduce(_ tensor: TensorBuffer<Float>, done: @escaping (Int64) -> Void = { _ in }) {
        submit(Operation(tensor: .float32(tensor), done: done))
    }

    /// Ends this worker's use of the job's slots so that the next job on the same aggregator
    /// starts clean: where a slot's last round was on set 0, one more round of zeros on set 1.
    /// Workers start every slot on set 0, and an aggregator answers an update to a completed
    /// set from its registers (a retransmission, as far as it can tell), so a job that started
    /// on slots an earlier job left complete on set 0 would get that job's sums back. After
    /// this, set 0 of every slot is clear: each worker's set-1 update cleared its bit there.
    /// Every worker of the job calls it (they agree on which slots need it: all used the same
    /// slots as often). At most one round trip; asynchronous, queued like `allReduce`.
    public func leaveSlotsReusable(done: @escaping (Int64) -> Void = { _ in }) {
        let scratch = TensorBuffer([Int32](repeating: 0, count: config.poolSlots * k))
        submit(Operation(tensor: .int32(scratch), done: done, padding: true))
    }

    /// Slots whose last round was on set 0 (what `leaveSlotsReusable` pads).
    public var slotsLastOnSetZero: Int { uses.reduce(0) { $0 + Int($1 & 1) } }

    /// True while an operation is running or queued.
    public var busy: Bool { current != nil || !queue.isEmpty }

    func submit(_ op: Operation) {
        queue.append(op)
        if current == nil { startNext() }
    }

    func startNext() {
        guard !queue.isEmpty else { return }
        let op = queue.removeFirst()
        current = op
        opSerial &+= 1
        let count = op.tensor.count
        blocks = (count + k - 1) / k
        window = min(config.poolSlots, blocks)
        if case .float32 = op.tensor { total = blocks + window } else { total = blocks }
        baseID = nextID
        nextID &+= UInt32(truncatingIfNeeded: total)
        nextToSend = 0
        received = 0
        if total == 0 { finish(); return }
        if op.padding {
            // Block q is slot q (window = the pool); a slot last used on set 1 needs nothing.
            nextToSend = window
            for q in 0..<window {
                if uses[q] & 1 == 1 { send(q, first: true) } else { received += 1 }
            }
            if received == total { finish() }
            return
        }
        while nextToSend < window { send(nextToSend, first: true); nextToSend += 1 }
    }

    func finish() {
        let op = current!
        current = nil
        op.done(port.now)
        startNext()
    }

    var timeout: Int64 {
        if let t = config.timeout { return t }
        guard srtt > 0 else { return 1_000_000_000 }
        return min(max(srtt + 4 * rttvar, 2 * srtt, config.minTimeout), Self.maxTimeout)
    }

    // MARK: sending

    /// Send local packet `q`: the values of block q (int32) or q - W (float32), and for
    /// float32 the exponent of block q.
    func send(_ q: Int, first: Bool) {
        let slot = q % window
        if first {
            outstanding[slot] = q
            uses[slot] &+= 1
            tries[slot] = 0
            sentAt[slot] = port.now
        } else {
            tries[slot] = min(tries[slot] + 1, UInt8(Self.maxBackoff))
            stats.retransmissions += 1
        }
        let set = Int((uses[slot] &- 1) & 1)
        let id = baseID &+ UInt32(truncatingIfNeeded: q)
        let length = SwitchMLFormat.payloadBytes(elements: k)
        let k = self.k, size = sizeCode, job = config.job
        switch current!.tensor {
        case .int32(let t):
            let start = q * k
            t.values.withUnsafeBufferPointer { v in
                port.send(length: length) { p in
                    SwitchMLFormat.writeHeader(p, type: SwitchMLFormat.update, size: size, job: job, packet: id,
                                               slot: slot, set: set, e0: 0, e1: 0)
                    let n = max(0, min(k, v.count - start))
                    for i in 0..<n { SwitchMLFormat.putInt32(p, SwitchMLFormat.prefixBytes + 4 * i, v[start + i]) }
                    for i in n..<k { SwitchMLFormat.putInt32(p, SwitchMLFormat.prefixBytes + 4 * i, 0) }
                }
            }
        case .float32(let t):
            let w = window, blocks = self.blocks
            if first && q >= w { valueScale[slot] = Quantization.scale(biased: reducedExponent[slot], workers: config.workers) }
            let f = valueScale[slot]
            t.values.withUnsafeBufferPointer { v in
                var e0: UInt8 = 0
                if q < blocks { e0 = Quantization.exponent(maxMagnitude: Self.maxMagnitude(v, from: q * k, count: k)) }
                port.send(length: length) { p in
                    SwitchMLFormat.writeHeader(p, type: SwitchMLFormat.update, size: size, job: job, packet: id,
                                               slot: slot, set: set, e0: e0, e1: 0)
                    var n = 0
                    let start = (q - w) * k
                    if q >= w {
                        n = max(0, min(k, v.count - start))
                        if n > 0 {
                            Quantization.quantizeBigEndian(v.baseAddress! + start, count: n, scale: f,
                                                           into: p.baseAddress! + SwitchMLFormat.prefixBytes)
                        }
                    }
                    for i in n..<k { SwitchMLFormat.putInt32(p, SwitchMLFormat.prefixBytes + 4 * i, 0) }
                }
            }
        }
        stats.packetsSent += 1
        let level = Int(tries[slot])
        let base = timeout
        // Saturating: a huge fixed timeout backed off must not wrap negative or trap.
        let backoff = level < base.leadingZeroBitCount ? base << level : VirtualTime.never.picoseconds
        let deadline = VirtualTime.after(port.now, config.timeout == nil ? min(backoff, Self.maxTimeout) : backoff)
        timers.push(level: level, deadline: deadline, packet: q, op: opSerial)
        if deadline < armedAt {
            armedAt = deadline
            port.wake(at: armedAt)
        }
    }

    @inline(__always) static func maxMagnitude(_ v: UnsafeBufferPointer<Float>, from start: Int, count: Int) -> Float {
        let end = min(v.count, start + count)
        return end > start ? Quantization.maxMagnitude(v.baseAddress! + start, count: end - start) : 0
    }

    // MARK: receiving

    /// A datagram from the aggregation service.
    public func receive(_ d: UnsafeRawBufferPointer) {
        guard let h = SwitchMLFormat.readHeader(d), h.type == SwitchMLFormat.result, h.job == config.job, h.size == sizeCode,
              d.count >= SwitchMLFormat.payloadBytes(elements: k), let op = current else {
            stats.discarded += 1
            return
        }
        let q = Int(h.packet &- baseID)
        guard q < total, h.slot < window, q % window == h.slot, outstanding[h.slot] == q else {
            stats.discarded += 1
            return
        }
        let slot = h.slot
        // Timed from the first transmission, retransmitted or not. A slot's round trip is mostly
        // the wait for the slowest worker; timing only packets sent once (Karn) keeps the fast
        // ones, holds the timeout under the usual round trip, and with a deep service queue
        // every packet is retransmitted several times (seen: 5x the packets with 256 slots
        // through the socket aggregator). After a real loss the sample is long, which errs on
        // the side of waiting; `maxTimeout` bounds it.
        rttSample(port.now - sentAt[slot])
        outstanding[slot] = -1
        stats.resultsAccepted += 1
        let k = self.k
        let values = UnsafeRawBufferPointer(rebasing: d[SwitchMLFormat.prefixBytes...])
        switch op.tensor {
        case .int32(let t):
            let start = q * k
            t.values.withUnsafeMutableBufferPointer { v in
                let n = max(0, min(k, v.count - start))
                for i in 0..<n { v[start + i] = SwitchMLFormat.getInt32(values, 4 * i) }
            }
        case .float32(let t):
            if q >= window {
                let start = (q - window) * k
                let f = valueScale[slot]
                t.values.withUnsafeMutableBufferPointer { v in
                    let n = max(0, min(k, v.count - start))
                    if n > 0 { Quantization.dequantizeBigEndian(values.baseAddress!, count: n, scale: f, into: v.baseAddress! + start) }
                }
            }
            if q < blocks { reducedExponent[slot] = h.e0 }
        }
        received += 1
        let next = q + window
        if next < total { send(next, first: true) }
        if received == total { finish() }
    }

    func rttSample(_ r: Int64) {
        guard r > 0 else { return }
        if srtt == 0 { srtt = r; rttvar = r / 2; return }
        rttvar = (3 * rttvar + abs(srtt - r)) / 4
        srtt = (7 * srtt + r) / 8
    }

    // MARK: timers

    /// The wake-up asked for with `AggregationPort.wake` arrived: retransmit what timed out.
    public func timerFired() {
        stats.timerFirings += 1
        let now = port.now
        armedAt = .max
        due.removeAll(keepingCapacity: true)
        withLiveness { isLive in timers.popDue(now: now, into: &due, isLive: isLive) }
        // Sent after the pops: a retransmission's deadline is later than now, so none of them
        // would have been due in this round anyway, and the order is the same (earliest first).
        for q in due {
            stats.timeouts += 1
            send(q, first: false)
        }
        armForEarliestLive()
    }

    /// `body` gets the test of whether a deadline is live: its packet, of the running operation,
    /// still waits for its result in its slot.
    @inline(__always)
    func withLiveness(_ body: ((RetransmissionTimers.Entry) -> Bool) -> Void) {
        let running = current != nil, serial = opSerial, total = self.total, window = self.window
        outstanding.withUnsafeBufferPointer { out in
            body { e in running && e.op == serial && e.packet < total && out[e.packet % window] == e.packet }
        }
    }

    /// Ask for a wake-up at the earliest deadline of a packet still waiting (stale deadlines,
    /// of packets whose results came, are dropped first, so they cost no wake-up of their own).
    func armForEarliestLive() {
        withLiveness { isLive in timers.dropStale(isLive: isLive) }
        if let d = timers.earliestDeadline, d < armedAt {
            armedAt = d
            port.wake(at: d)
        }
    }
}

public struct AggregationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Frames from outside the emulator (a capture), to be injected at one node's port with their
/// original spacing. Bytes are kept back to back: one allocation however many frames.
public struct InjectedTrace: Sendable {
    public let node: String
    public let port: UInt16
    var bytes: [UInt8] = []
    var offsets: [Int] = [0]
    /// Capture timestamps (nanoseconds), as recorded.
    var timestamps: [Int64] = []

    /// Frames to inject at `node`: a switch receives them on `port` (its program sees that
    /// ingress port); a host sends them out of its NIC (`port` is its link's port).
    public init(node: String, port: UInt16) {
        self.node = node
        self.port = port
    }

    public mutating func append(timestampNanoseconds t: Int64, bytes frame: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: frame)
        offsets.append(bytes.count)
        timestamps.append(t)
    }

    public mutating func append(timestampNanoseconds t: Int64, bytes frame: [UInt8]) {
        frame.withUnsafeBytes { append(timestampNanoseconds: t, bytes: $0) }
    }

    public var count: Int { timestamps.count }
}

/// What became of an injected trace's frames.
public struct InjectionResult: Sendable, Encodable {
    public var node: String
    public var port: UInt16
    public var frames: Int
    public var injected: UInt64 = 0
    /// Frames larger than the largest link MTU allows (they cannot be on any emulated wire):
    /// not injected.
    public var oversize: UInt64 = 0
    /// Simulated time of the first and last injection (picoseconds).
    public var first: Int64?
    public var last: Int64?
}

/// A trace scheduled in a run: where it enters and when each frame does.
struct TraceState {
    var trace: InjectedTrace
    /// Switch index, or -(host index + 1).
    var role: Int32
    /// Injection times, one per frame.
    var times: [VirtualTime]
    var result: InjectionResult
}

extension Emulator {
    /// Inject `trace` when the run starts: frame i enters at `start + (t_i - t_0) / speed`
    /// (`speed` 2 replays twice as fast; the first frame enters at `start`). Call before `run`.
    /// Frames are copied as they are: the program's parser decides what they mean, bad ones
    /// included.
    public func inject(_ trace: InjectedTrace, speed: Double = 1, start: Int64 = 0) throws {
        guard speed > 0, speed.isFinite else {
            throw EmulatorError("trace at \(trace.node):\(trace.port): speed must be a positive number (got \(speed))")
        }
        guard let n = spec.node(named: trace.node) else {
            let names = spec.nodes.map(\.name)
            throw EmulatorError("trace: no node named '\(trace.node)'; nodes: \(names.prefix(20).joined(separator: ", "))\(names.count > 20 ? ", …" : "")")
        }
        let role = nodeRole[n]
        if role < 0 {
            let host = hosts[Int(-role - 1)]
            guard host.nic >= 0 else { throw EmulatorError("trace: host '\(trace.node)' has no link to send the frames on") }
            let port = dirs[Int(host.nic)].fromPort
            guard trace.port == port else {
                throw EmulatorError("trace: host '\(trace.node)' has one port, \(port) (got \(trace.port)); use \(trace.node):\(port)")
            }
        } else {
            guard trace.port < 512 else { throw EmulatorError("trace: port \(trace.port) of switch '\(trace.node)' is out of range (valid: 0 to 511)") }
        }
        // Offsets in picoseconds, in 128 bits: captures may span decades (a first record
        // stamped 0), and pcapng stamps can be any 64-bit value.
        let t0 = trace.timestamps.first ?? 0
        var times: [VirtualTime] = []
        times.reserveCapacity(trace.count)
        for (i, t) in trace.timestamps.enumerated() {
            let gap = max(Int128(t) - Int128(t0), 0) * Int128(VirtualTime.picosecondsPerNanosecond)
            let scaled = (Double(gap) / speed).rounded()
            guard scaled.isFinite, scaled < Double(Int64.max / 2), Int128(start) + Int128(scaled) < Int128(Int64.max / 2) else {
                throw EmulatorError("trace at \(trace.node):\(trace.port): frame \(i + 1) comes \(Double(gap) / Double(VirtualTime.picosecondsPerSecond)) s after the first; at speed \(speed) that is beyond the simulable time (about 53 days); cut the capture or raise --speed")
            }
            times.append(VirtualTime(picoseconds: start + Int64(scaled)))
        }
        traces.append(TraceState(trace: trace, role: role, times: times,
                                 result: InjectionResult(node: trace.node, port: trace.port, frames: trace.count)))
        if started, let first = times.first {
            events.push(max(first, clock), .inject, target: Int32(traces.count - 1), arg: 0)
        }
    }

    /// Schedule every trace's first frame (at `start`).
    func startTraces() {
        for (t, tr) in traces.enumerated() where !tr.times.isEmpty {
            events.push(tr.times[0], .inject, target: Int32(t), arg: 0)
        }
    }

    /// Frame `i` of trace `t` enters the network; the next one is scheduled.
    func injectFrame(trace t: Int, frame i: Int) {
        let from = traces[t].trace.offsets[i], len = traces[t].trace.offsets[i + 1] - from
        let role = traces[t].role, port = traces[t].trace.port
        if len > pool.maxFrame {
            traces[t].result.oversize += 1
        } else {
            let p = pool.allocate()
            let b = pool.reset(p, length: len)
            traces[t].trace.bytes.withUnsafeBufferPointer { src in
                b.update(from: src.baseAddress! + from, count: len)
            }
            pool.wrote(p, upTo: len)
            traces[t].result.injected += 1
            if traces[t].result.first == nil { traces[t].result.first = now }
            traces[t].result.last = now
            // The switch or host may schedule more (never another trace), so the trace is
            // indexed again afterwards rather than held by pointer.
            if role >= 0 {
                switchIngress(Int(role), packet: p, port: port, recirculated: false)
            } else {
                enqueue(Int(hosts[Int(-role - 1)].nic), p)
            }
        }
        if i + 1 < traces[t].times.count {
            events.push(max(traces[t].times[i + 1], clock), .inject, target: Int32(t), arg: Int32(i + 1))
        }
    }

    /// Per trace: frames injected and refused.
    public var injections: [InjectionResult] { traces.map(\.result) }
}

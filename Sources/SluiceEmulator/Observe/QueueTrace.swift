/// Every enqueue at a switch's egress queue, when `EmulatorOptions.queueTrace` asks for it:
/// the time, the link direction and the bytes queued once the packet joined (itself included;
/// 0 when it went straight onto an idle wire). That is the depth a program reads as
/// `enq_qdepth`, so telemetry that reports it can be checked against this trace exactly.
/// Three flat arrays, appended per packet (amortized, no per-packet allocation).
struct QueueTrace: Codable {
    var times: [Int64] = []
    var directions: [Int32] = []
    var bytes: [UInt32] = []

    @inline(__always) mutating func record(time: VirtualTime, direction: Int, bytes b: UInt32) {
        times.append(time.picoseconds)
        directions.append(Int32(truncatingIfNeeded: direction))
        bytes.append(b)
    }

    /// The enqueues at direction `d`, in time order.
    func entries(direction d: Int) -> [QueueTraceEntry] {
        var out: [QueueTraceEntry] = []
        for i in 0..<times.count where directions[i] == d { out.append(QueueTraceEntry(time: times[i], bytes: bytes[i])) }
        return out
    }
}

/// One enqueue of the queue trace.
public struct QueueTraceEntry: Sendable, Equatable {
    /// Virtual time of the enqueue (picoseconds).
    public var time: Int64
    /// Bytes queued once the packet joined, itself included (0: sent at once).
    public var bytes: UInt32
}

extension Emulator {
    /// The enqueues at switch `name`'s port `port`, in time order (empty unless
    /// `EmulatorOptions.queueTrace` was set).
    public func queueTrace(switch name: String, port: UInt16) throws -> [QueueTraceEntry] {
        queueLog.entries(direction: try queueDirection(switch: name, port: port))
    }

    /// The link direction that leaves switch `name` at `port`, or an error naming what exists.
    func queueDirection(switch name: String, port: UInt16) throws -> Int {
        guard let s = switches.first(where: { $0.name == name }) else {
            throw EmulatorError("no switch named '\(name)'; switches: \(switches.map(\.name).joined(separator: ", "))")
        }
        let d = s.direction(port: port)
        guard d >= 0 else { throw EmulatorError("switch '\(name)' has no link on port \(port)") }
        return Int(d)
    }

    /// The switch ports that saw an enqueue, as (switch, port), in the order of their links.
    public var queueTracePorts: [(switch: String, port: UInt16)] {
        var seen = [Bool](repeating: false, count: dirCount)
        for d in queueLog.directions { seen[Int(d)] = true }
        return (0..<dirCount).filter { seen[$0] }.map { d in (spec.nodes[Int(dirs[d].fromNode)].name, dirs[d].fromPort) }
    }
}

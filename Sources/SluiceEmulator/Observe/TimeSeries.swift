/// Queue depth and bytes sent per link direction, sampled at a fixed interval. Each sample
/// holds the largest queue since the previous one (spikes are never missed) and the bytes that
/// went onto the wire in the interval (a frame being serialized at a sample counts in part on
/// each side of it, so utilization never reads over 100%). Memory stays bounded: past `maxSamples`, neighbouring samples are merged
/// (max of depths, sum of bytes) and the interval doubles.
struct TimeSeries: Codable {
    static let maxSamples = 4096
    var times: [Int64] = []
    /// [sample][direction], flattened.
    var queueBytes: [UInt32] = []
    var sentBytes: [UInt32] = []
    var directions = 0
    /// Record every `stride`-th sample call (doubles when merging).
    var stride = 1
    var calls = 0
    var pendingMax: [Int] = []

    mutating func record(time: VirtualTime, dirs: UnsafeMutablePointer<LinkDirection>, count: Int) {
        if directions == 0 { directions = count; pendingMax = Array(repeating: 0, count: count) }
        calls += 1
        for d in 0..<count { pendingMax[d] = max(pendingMax[d], dirs[d].sampleMaxQueue, dirs[d].queueBytes); dirs[d].sampleMaxQueue = dirs[d].queueBytes }
        guard calls % stride == 0 else { return }
        times.append(time.picoseconds)
        for d in 0..<count {
            queueBytes.append(UInt32(clamping: pendingMax[d]))
            let sent = dirs[d].serializedBytes(at: time)
            sentBytes.append(UInt32(clamping: sent &- min(sent, dirs[d].sampleTxBytes)))
            dirs[d].sampleTxBytes = max(sent, dirs[d].sampleTxBytes)
            pendingMax[d] = 0
        }
        if times.count >= TimeSeries.maxSamples { halve() }
    }

    mutating func halve() {
        let n = times.count / 2
        var t: [Int64] = [], q: [UInt32] = [], s: [UInt32] = []
        t.reserveCapacity(n); q.reserveCapacity(n * directions); s.reserveCapacity(n * directions)
        for i in 0..<n {
            t.append(times[2 * i + 1])
            for d in 0..<directions {
                q.append(max(queueBytes[2 * i * directions + d], queueBytes[(2 * i + 1) * directions + d]))
                s.append(UInt32(clamping: UInt64(sentBytes[2 * i * directions + d]) + UInt64(sentBytes[(2 * i + 1) * directions + d])))
            }
        }
        times = t; queueBytes = q; sentBytes = s
        stride *= 2
    }

    var count: Int { times.count }

    /// The series of a parallel run, from its partitions' (each sampled at the same times, so
    /// the same samples and strides): direction d's figures from partition `owner[d]`, the one
    /// that sends on it and so keeps its queue and counts (a value in, a value out: partitions
    /// on other threads or ranks hand theirs over alike).
    static func merging(_ parts: [TimeSeries], owner: [Int]) -> TimeSeries {
        guard var m = parts.first, m.directions > 0 else { return parts.first ?? TimeSeries() }
        for i in 0..<m.times.count {
            for d in 0..<m.directions where owner[d] != 0 {
                let p = parts[owner[d]]
                m.queueBytes[i * m.directions + d] = p.queueBytes[i * m.directions + d]
                m.sentBytes[i * m.directions + d] = p.sentBytes[i * m.directions + d]
            }
        }
        for d in 0..<m.directions { m.pendingMax[d] = parts[owner[d]].pendingMax[d] }
        return m
    }
    func queue(_ sample: Int, _ d: Int) -> UInt32 { queueBytes[sample * directions + d] }
    func sent(_ sample: Int, _ d: Int) -> UInt32 { sentBytes[sample * directions + d] }
}

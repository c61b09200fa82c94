import SluiceEmulator

/// The host-based collectives in-network aggregation is compared with. All of them run on
/// the emulator's reliable transport (`HostAPI.send`), so they pay for headers, acks and
/// retransmissions like any TCP-like flow, and they move the real values (as message
/// attachments), so their sums are checked like the switch's.
public enum BaselineScheme: String, CaseIterable, Hashable, Sendable {
    /// Ring allreduce: reduce-scatter then all-gather over n - 1 steps each, every segment cut
    /// into chunks that are forwarded as soon as they are reduced (pipelined). Each worker
    /// sends and receives 2(n-1)/n x S.
    case ring
    /// Halving-doubling (Rabenseifner): recursive-halving reduce-scatter then
    /// recursive-doubling all-gather, log2 n rounds each, exchanging with partner `rank ^ d`.
    /// n must be a power of two. Also 2(n-1)/n x S per worker, in 2 log2 n rounds.
    case tree
    /// One parameter server (a host that is not a worker): every worker sends its whole
    /// tensor, the server sums and sends the result back to all. Its link carries n x S.
    case ps
    /// Sharded parameter server: worker j also serves shard j (S/n); an all-to-all of
    /// shards, then of results. 2(n-1)/n x S per worker, like ring, in two steps.
    case psSharded = "ps-sharded"
}

/// One run of a baseline collective on emulated hosts: attaches one application per worker
/// (and per server) that sums the workers' buffers in place. Run the emulator, then read
/// `outcome`.
public final class BaselineRun<T: AllReduceScalar> {
    public let scheme: BaselineScheme
    public let workers: [String]
    var finished: [Int64?]

    /// Elements per message (ring chunks, parameter-server chunks): 16 Ki elements = 64 KiB,
    /// small enough that pipelining hides all but a few microseconds per step, large enough
    /// that a 100 MB tensor is some thousands of messages.
    public static var defaultChunkElements: Int { 16_384 }

    /// `servers`: for `.ps`, exactly one host that is not a worker; empty otherwise.
    public init(_ scheme: BaselineScheme, emulator: Emulator, workers: [String], servers: [String] = [],
                buffers: [TensorBuffer<T>], chunkElements: Int = BaselineRun.defaultChunkElements) throws {
        let n = workers.count
        guard n >= 2 else { throw AggregationError("\(scheme.rawValue): \(n) worker(s) (valid: 2 or more)") }
        guard buffers.count == n else {
            throw AggregationError("\(n) workers but \(buffers.count) buffers (valid: one buffer per worker)")
        }
        let count = buffers[0].count
        guard buffers.allSatisfy({ $0.count == count }) else {
            throw AggregationError("buffers of different sizes \(buffers.map(\.count)) (valid: every worker reduces a tensor of the same size)")
        }
        guard count >= n else {
            throw AggregationError("\(scheme.rawValue): a tensor of \(count) elements for \(n) workers (valid: at least one element per worker)")
        }
        guard chunkElements >= 1 else { throw AggregationError("chunk of \(chunkElements) elements (valid: 1 or more)") }
        if scheme == .tree, n & (n - 1) != 0 {
            throw AggregationError("tree (halving-doubling): \(n) workers (valid: a power of two)")
        }
        if scheme == .ps {
            guard servers.count == 1 else { throw AggregationError("ps: \(servers.count) server hosts (valid: exactly one)") }
            guard !workers.contains(servers[0]) else { throw AggregationError("ps: the server '\(servers[0])' is also a worker (valid: a separate host)") }
        } else if !servers.isEmpty {
            throw AggregationError("\(scheme.rawValue): server hosts given (valid: only ps has a separate server)")
        }
        var indices: [Int] = []
        for name in workers + servers {
            guard let i = emulator.hostNames.firstIndex(of: name) else {
                throw AggregationError("no host named '\(name)' (hosts: \(emulator.hostNames.joined(separator: ", ")))")
            }
            indices.append(i)
        }
        guard Set(indices).count == indices.count else { throw AggregationError("a host is named twice in \(workers + servers)") }
        self.scheme = scheme
        self.workers = workers
        finished = Array(repeating: nil, count: n)
        let plan = Plan(count: count, workers: n, chunk: chunkElements, hosts: indices)
        for rank in 0..<n {
            let done: (Int64) -> Void = { [unowned self] t in self.finished[rank] = t }
            let app: any Application
            switch scheme {
            case .ring: app = RingMember(plan: plan, rank: rank, buffer: buffers[rank], done: done)
            case .tree: app = HalvingDoublingMember(plan: plan, rank: rank, buffer: buffers[rank], done: done)
            case .ps: app = ShardClient(plan: plan, rank: rank, buffer: buffers[rank], server: indices[n], done: done)
            case .psSharded: app = ShardedMember(plan: plan, rank: rank, buffer: buffers[rank], done: done)
            }
            try emulator.attach(app, host: workers[rank])
        }
        if scheme == .ps {
            try emulator.attach(ParameterServer<T>(plan: plan, clients: Array(indices[0..<n])), host: servers[0])
        }
    }

    public var outcome: CollectiveOutcome {
        var o = CollectiveOutcome(workers: workers.count)
        o.finished = finished
        return o
    }
}

/// How a tensor is cut: n segments (balanced, the first `count % n` one element longer), each
/// cut into chunks of at most `chunk` elements.
struct Plan {
    let count: Int
    let workers: Int
    let chunk: Int
    /// Emulator host indices of the workers in rank order (then the server, for ps).
    let hosts: [Int]

    func segment(_ s: Int) -> Range<Int> {
        let base = count / workers, extra = count % workers
        let start = s * base + min(s, extra)
        return start..<(start + base + (s < extra ? 1 : 0))
    }
    /// Chunk `c` of `range`.
    func chunk(_ c: Int, of range: Range<Int>) -> Range<Int> {
        let lo = range.lowerBound + c * chunk
        return lo..<min(range.upperBound, lo + chunk)
    }
    func chunks(of range: Range<Int>) -> Int { (range.count + chunk - 1) / chunk }
    /// Every segment has the most chunks the first one has (or one fewer): a fixed count per
    /// step keeps tags simple.
    var chunksPerSegment: Int { chunks(of: segment(0)) }

    static func tag(_ step: Int, _ chunk: Int) -> UInt64 { UInt64(step) << 32 | UInt64(chunk) }
    static func untag(_ tag: UInt64) -> (step: Int, chunk: Int) { (Int(tag >> 32), Int(tag & 0xFFFF_FFFF)) }
}

extension HostAPI {
    /// Send `range` of `buffer` to host `to` as one message (its values lent, not copied:
    /// `ValuesAttachment`).
    func sendValues<T: AllReduceScalar>(_ buffer: TensorBuffer<T>, _ range: Range<Int>, to: Int, tag: UInt64) {
        send(to: to, bytes: range.count * TensorBuffer<T>.elementBytes, tag: tag, attachment: buffer.lend(range))
    }
}

extension TensorBuffer {
    /// Add (or, `replace`, copy) `message`'s values into `range`.
    func take(_ message: ReceivedMessage, into range: Range<Int>, replace: Bool) {
        let incoming = message.attachment as! ValuesAttachment<T>
        precondition(incoming.count == range.count, "a collective's message of \(incoming.count) values for \(range.count) elements")
        willWrite(range)
        incoming.take { src in
            values.withUnsafeMutableBufferPointer { v in
                let dst = UnsafeMutableBufferPointer(rebasing: v[range])
                if replace { _ = dst.update(fromContentsOf: src) } else { T.accumulate(dst, src) }
            }
        }
    }
}

/// Ring allreduce. At step s (0 ..< 2(n-1)) rank i sends segment (i - s) mod n to rank i + 1;
/// the receiver adds it (s < n - 1) or copies it (the all-gather) and forwards the same chunk
/// at step s + 1, so chunks flow around the ring without waiting for whole segments.
final class RingMember<T: AllReduceScalar>: Application {
    let plan: Plan, rank: Int, buffer: TensorBuffer<T>, done: (Int64) -> Void
    var received = 0

    init(plan: Plan, rank: Int, buffer: TensorBuffer<T>, done: @escaping (Int64) -> Void) {
        self.plan = plan; self.rank = rank; self.buffer = buffer; self.done = done
    }

    var n: Int { plan.workers }
    var next: Int { plan.hosts[(rank + 1) % n] }
    func segment(step s: Int, of r: Int) -> Range<Int> { plan.segment(((r - s) % n + n) % n) }

    func start(_ host: HostAPI) {
        let seg = segment(step: 0, of: rank)
        for c in 0..<plan.chunks(of: seg) { host.sendValues(buffer, plan.chunk(c, of: seg), to: next, tag: Plan.tag(0, c)) }
    }

    func received(_ message: ReceivedMessage, _ host: HostAPI) {
        let (s, c) = Plan.untag(message.tag)
        // The sender (rank - 1) sent its segment (rank - 1 - s): the same as ours at step s + 1.
        let range = plan.chunk(c, of: segment(step: s + 1, of: rank))
        buffer.take(message, into: range, replace: s >= n - 1)
        if s + 1 < 2 * (n - 1) { host.sendValues(buffer, range, to: next, tag: Plan.tag(s + 1, c)) }
        received += 1
        if received == expected { done(host.now) }
    }

    /// Chunks this rank receives over the 2(n-1) steps (segments differ in length by at most
    /// one element, so their chunk counts can differ: count them).
    var expected: Int { (0..<(2 * (n - 1))).reduce(0) { $0 + plan.chunks(of: segment(step: $1 + 1, of: rank)) } }
}

/// Halving-doubling. Reduce-scatter: for d = n/2, n/4, ..., 1 rank i exchanges with i ^ d
/// the half of its current range it gives up (the lower half goes to the partner whose d bit
/// is clear) and adds what it gets into the half it keeps. All-gather: for d = 1, 2, ...,
/// n/2 it sends its whole range and copies the partner's next to it. A round starts when the
/// previous one's data has arrived; a partner's early message waits in `early`.
final class HalvingDoublingMember<T: AllReduceScalar>: Application {
    let plan: Plan, rank: Int, buffer: TensorBuffer<T>, done: (Int64) -> Void
    let rounds: Int
    var round = 0
    var range: Range<Int>
    var early: [Int: ReceivedMessage] = [:]

    init(plan: Plan, rank: Int, buffer: TensorBuffer<T>, done: @escaping (Int64) -> Void) {
        self.plan = plan; self.rank = rank; self.buffer = buffer; self.done = done
        rounds = plan.workers.trailingZeroBitCount
        range = 0..<plan.count
    }

    /// The partner's distance in round r: n/2 ... 1 then 1 ... n/2.
    func distance(_ r: Int) -> Int { r < rounds ? plan.workers >> (r + 1) : 1 << (r - rounds) }

    /// Round r of the reduce-scatter halves `range`: (kept, given).
    func halves(_ r: Int) -> (keep: Range<Int>, give: Range<Int>) {
        let mid = range.lowerBound + range.count / 2
        let lower = range.lowerBound..<mid, upper = mid..<range.upperBound
        return rank & distance(r) == 0 ? (lower, upper) : (upper, lower)
    }

    func start(_ host: HostAPI) { send(host) }

    func send(_ host: HostAPI) {
        let partner = plan.hosts[rank ^ distance(round)]
        let out = round < rounds ? halves(round).give : range
        host.sendValues(buffer, out, to: partner, tag: Plan.tag(round, 0))
    }

    func received(_ message: ReceivedMessage, _ host: HostAPI) {
        let r = Plan.untag(message.tag).step
        guard r == round else { early[r] = message; return }
        var m = message
        while true {
            if round < rounds {
                range = halves(round).keep
                buffer.take(m, into: range, replace: false)
            } else {
                // The partner's range is the same size, on the side its d bit says.
                let partnerRange: Range<Int>
                if rank & distance(round) == 0 {
                    partnerRange = range.upperBound..<(range.upperBound + (m.attachment as! ValuesAttachment<T>).count)
                    buffer.take(m, into: partnerRange, replace: true)
                    range = range.lowerBound..<partnerRange.upperBound
                } else {
                    let c = (m.attachment as! ValuesAttachment<T>).count
                    partnerRange = (range.lowerBound - c)..<range.lowerBound
                    buffer.take(m, into: partnerRange, replace: true)
                    range = partnerRange.lowerBound..<range.upperBound
                }
            }
            round += 1
            if round == 2 * rounds { done(host.now); return }
            send(host)
            guard let next = early.removeValue(forKey: round) else { return }
            m = next
        }
    }
}

/// A worker of the single parameter server: sends every chunk of its tensor to the server,
/// copies every result chunk back.
final class ShardClient<T: AllReduceScalar>: Application {
    let plan: Plan, rank: Int, buffer: TensorBuffer<T>, server: Int, done: (Int64) -> Void
    var received = 0
    init(plan: Plan, rank: Int, buffer: TensorBuffer<T>, server: Int, done: @escaping (Int64) -> Void) {
        self.plan = plan; self.rank = rank; self.buffer = buffer; self.server = server; self.done = done
    }
    var whole: Range<Int> { 0..<plan.count }
    func start(_ host: HostAPI) {
        for c in 0..<plan.chunks(of: whole) { host.sendValues(buffer, plan.chunk(c, of: whole), to: server, tag: Plan.tag(0, c)) }
    }
    func received(_ message: ReceivedMessage, _ host: HostAPI) {
        buffer.take(message, into: plan.chunk(Plan.untag(message.tag).chunk, of: whole), replace: true)
        received += 1
        if received == plan.chunks(of: whole) { done(host.now) }
    }
}

/// The single parameter server: adds each chunk's n contributions, then sends the sum to
/// every worker.
final class ParameterServer<T: AllReduceScalar>: Application {
    let plan: Plan, clients: [Int]
    let sum: TensorBuffer<T>
    var counts: [Int]
    init(plan: Plan, clients: [Int]) {
        self.plan = plan; self.clients = clients
        sum = TensorBuffer(count: plan.count)
        counts = Array(repeating: 0, count: plan.chunks(of: 0..<plan.count))
    }
    func start(_ host: HostAPI) {}
    func received(_ message: ReceivedMessage, _ host: HostAPI) {
        let c = Plan.untag(message.tag).chunk
        let range = plan.chunk(c, of: 0..<plan.count)
        sum.take(message, into: range, replace: counts[c] == 0)
        counts[c] += 1
        if counts[c] == clients.count {
            for w in clients { host.sendValues(sum, range, to: w, tag: Plan.tag(1, c)) }
        }
    }
}

/// Sharded parameter server: rank j owns segment j. Every rank sends each other rank its
/// chunks of that rank's segment (step 0); the owner adds them into its own buffer and, when
/// a chunk has all n - 1 contributions, sends the sum to every other rank (step 1).
final class ShardedMember<T: AllReduceScalar>: Application {
    let plan: Plan, rank: Int, buffer: TensorBuffer<T>, done: (Int64) -> Void
    var counts: [Int]
    var results = 0
    let expectedResults: Int
    init(plan: Plan, rank: Int, buffer: TensorBuffer<T>, done: @escaping (Int64) -> Void) {
        self.plan = plan; self.rank = rank; self.buffer = buffer; self.done = done
        counts = Array(repeating: 0, count: plan.chunks(of: plan.segment(rank)))
        expectedResults = (0..<plan.workers).filter { $0 != rank }.reduce(0) { $0 + plan.chunks(of: plan.segment($1)) }
    }
    func start(_ host: HostAPI) {
        // Round-robin over the owners, chunk by chunk, so every owner gets work from the start.
        let maxChunks = (0..<plan.workers).map { plan.chunks(of: plan.segment($0)) }.max()!
        for c in 0..<maxChunks {
            for d in 1..<plan.workers {
                let owner = (rank + d) % plan.workers
                let seg = plan.segment(owner)
                if c < plan.chunks(of: seg) { host.sendValues(buffer, plan.chunk(c, of: seg), to: plan.hosts[owner], tag: Plan.tag(0, c)) }
            }
        }
    }
    func received(_ message: ReceivedMessage, _ host: HostAPI) {
        let (step, c) = Plan.untag(message.tag)
        if step == 0 {
            let range = plan.chunk(c, of: plan.segment(rank))
            buffer.take(message, into: range, replace: false)
            counts[c] += 1
            if counts[c] == plan.workers - 1 {
                for d in 1..<plan.workers { host.sendValues(buffer, range, to: plan.hosts[(rank + d) % plan.workers], tag: Plan.tag(1, c)) }
            }
        } else {
            guard let owner = plan.hosts.firstIndex(of: message.from) else { return }
            buffer.take(message, into: plan.chunk(c, of: plan.segment(owner)), replace: true)
        }
        if step == 0 {
            if counts[c] == plan.workers - 1 { ownComplete += 1 }
        } else {
            results += 1
        }
        if results == expectedResults, ownComplete == counts.count {
            done(host.now)
        }
    }
    var ownComplete = 0
}

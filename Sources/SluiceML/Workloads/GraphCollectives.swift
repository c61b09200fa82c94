/// Collectives as operations on a `GraphBuilder`: the messages NCCL-style algorithms
/// exchange, cut into chunks that are forwarded as soon as they arrive (pipelined). Only sizes
/// and timing: the values themselves are `BaselineRun`'s business.
///
/// Every function takes the group (ranks in order), what each member's first message waits
/// for (`after[i]`, e.g. its gradient bucket being computed), and returns per member a mark
/// that is done when that member has its result.
public enum AllReduceAlgorithm: String, CaseIterable, Sendable {
    /// Ring: reduce-scatter then all-gather, 2(n-1) steps; each member sends 2(n-1)/n x S.
    case ring
    /// Double binary tree (NCCL): two binary trees over the ranks, the second the mirror of the
    /// first (its inner nodes are the first one's leaves), each reducing half of the data to
    /// its root and broadcasting it back.
    case tree
    /// Halving-doubling (Rabenseifner): log2 n exchange rounds each way; n a power of two.
    case halvingDoubling = "halving-doubling"
    /// In-network aggregation: every member streams its data through the switch running
    /// `switchml` (all members one hop from it) and gets the sum back.
    case inNetwork = "in-network"
}

extension GraphBuilder {
    /// `bytes` cut into `parts` sizes that differ by at most one.
    static func split(_ bytes: Int, _ parts: Int) -> [Int] {
        (0..<parts).map { bytes / parts + ($0 < bytes % parts ? 1 : 0) }
    }
    /// `bytes` cut into messages of at most `chunk` bytes (at least one message).
    static func chunks(_ bytes: Int, _ chunk: Int) -> [Int] {
        guard bytes > chunk else { return [max(bytes, 1)] }
        let n = (bytes + chunk - 1) / chunk
        return split(bytes, n)
    }

    public func allReduce(_ algorithm: AllReduceAlgorithm, group: [Int], bytes: Int, chunk: Int, after: Frontier) -> [Int] {
        switch algorithm {
        case .ring: ring(group: group, bytes: bytes, chunk: chunk, steps: 2 * (group.count - 1), after: after)
        case .tree: doubleBinaryTree(group: group, bytes: bytes, chunk: chunk, after: after)
        case .halvingDoubling: halvingDoubling(group: group, bytes: bytes, chunk: chunk, after: after)
        case .inNetwork: group.indices.map { i in aggregate(group[i], bytes: bytes, after: Self.deps(after, i)) }
        }
    }

    /// Ring reduce-scatter: each member ends with its 1/n of the reduced data.
    public func reduceScatter(group: [Int], bytes: Int, chunk: Int, after: Frontier) -> [Int] {
        ring(group: group, bytes: bytes, chunk: chunk, steps: group.count - 1, after: after)
    }
    /// Ring all-gather of `bytes` in all (each member contributes 1/n).
    public func allGather(group: [Int], bytes: Int, chunk: Int, after: Frontier) -> [Int] {
        ring(group: group, bytes: bytes, chunk: chunk, steps: group.count - 1, after: after)
    }

    /// A group of one: nothing to exchange, done when its own data is ready.
    func alone(_ group: [Int], _ after: Frontier) -> [Int] {
        group.indices.map { mark(group[$0], after: Self.deps(after, $0)) }
    }

    /// `steps` ring steps: at step t member i sends segment (i - t) mod n to member i + 1,
    /// chunk by chunk, each chunk as soon as the same chunk of step t - 1 arrived from i - 1.
    func ring(group: [Int], bytes: Int, chunk: Int, steps: Int, after: Frontier) -> [Int] {
        let n = group.count
        guard n > 1 else { return alone(group, after) }
        let segments = Self.split(bytes, n)
        let chunked = segments.map { Self.chunks($0, chunk) }
        var previous = [[Int]](repeating: [], count: n)   // sends of step t - 1, by sender position
        var into = [[Int]](repeating: [], count: n)       // every send into member i
        for t in 0..<steps {
            var current = [[Int]](repeating: [], count: n)
            for i in 0..<n {
                let seg = ((i - t) % n + n) % n
                let from = (i - 1 + n) % n
                for (c, size) in chunked[seg].enumerated() {
                    var deps = Self.deps(after, i)
                    // The same segment arrived from i - 1 at step t - 1 (its segment (i - 1) - (t - 1)).
                    if t > 0, c < previous[from].count { deps.append(previous[from][c]) }
                    let s = send(group[i], to: group[(i + 1) % n], bytes: size, after: deps)
                    current[i].append(s)
                    into[(i + 1) % n].append(s)
                }
            }
            previous = current
        }
        return (0..<n).map { i in mark(group[i], after: Self.deps(after, i) + into[i]) }
    }

    /// Two binary trees (heap layout over positions; member p in the first, n - 1 - p in the
    /// mirrored second), each carrying half: chunks reduce from the leaves to the root and come
    /// back down.
    func doubleBinaryTree(group: [Int], bytes: Int, chunk: Int, after: Frontier) -> [Int] {
        let n = group.count
        guard n > 1 else { return alone(group, after) }
        var finals = [[Int]](repeating: [], count: n)    // per member: the operations its result waits for
        for (t, half) in Self.split(bytes, 2).enumerated() where half > 0 {
            let member = { (p: Int) in t == 0 ? p : n - 1 - p }   // position -> member index
            let pieces = Self.chunks(half, chunk)
            for size in pieces {
                // Reduce: children before parents (higher positions first).
                var up = [Int?](repeating: nil, count: n)  // position -> its send to its parent
                for p in stride(from: n - 1, through: 1, by: -1) {
                    var deps = Self.deps(after, member(p))
                    for child in [2 * p + 1, 2 * p + 2] where child < n { deps.append(up[child]!) }
                    up[p] = send(group[member(p)], to: group[member((p - 1) / 2)], bytes: size, after: deps)
                }
                // Broadcast from the root: a node forwards once it has the chunk.
                var have = [[Int]](repeating: [], count: n)  // position -> what "has the result" waits for
                have[0] = Self.deps(after, member(0)) + [1, 2].filter { $0 < n }.map { up[$0]! }
                for p in 0..<n {
                    for child in [2 * p + 1, 2 * p + 2] where child < n {
                        let s = send(group[member(p)], to: group[member(child)], bytes: size, after: have[p])
                        have[child] = [s]
                    }
                    finals[member(p)] += have[p]
                }
            }
        }
        return (0..<n).map { i in mark(group[i], after: Self.deps(after, i) + finals[i]) }
    }

    /// Recursive halving reduce-scatter then recursive doubling all-gather with partner
    /// i ^ d; a round starts once the previous round's data arrived.
    func halvingDoubling(group: [Int], bytes: Int, chunk: Int, after: Frontier) -> [Int] {
        let n = group.count
        precondition(n & (n - 1) == 0, "halving-doubling needs a power of two ranks")
        guard n > 1 else { return alone(group, after) }
        var rounds: [(d: Int, bytes: Int)] = []
        var d = n / 2, size = bytes
        while d >= 1 { size = (size + 1) / 2; rounds.append((d, size)); d /= 2 }
        for r in rounds.reversed() { rounds.append((r.d, r.bytes)) }
        var received = [[Int]](repeating: [], count: n)   // what member i got in the last round
        for r in rounds {
            var next = [[Int]](repeating: [], count: n)
            for i in 0..<n {
                let partner = i ^ r.d
                for size in Self.chunks(r.bytes, chunk) {
                    next[partner].append(send(group[i], to: group[partner], bytes: size, after: Self.deps(after, i) + received[i]))
                }
            }
            received = next
        }
        return (0..<n).map { i in mark(group[i], after: Self.deps(after, i) + received[i]) }
    }

    /// Member i sends `matrix[i][j]` bytes to member j (chunked); done when all of a member's
    /// incoming data arrived.
    public func allToAll(group: [Int], matrix: [[Int]], chunk: Int, after: Frontier) -> [Int] {
        let n = group.count
        var into = [[Int]](repeating: [], count: n)
        for i in 0..<n {
            for k in 1..<max(n, 1) {
                let j = (i + k) % n   // staggered order, as NCCL's all-to-all posts them
                guard matrix[i][j] > 0 else { continue }
                for size in Self.chunks(matrix[i][j], chunk) {
                    into[j].append(send(group[i], to: group[j], bytes: size, after: Self.deps(after, i)))
                }
            }
        }
        return (0..<n).map { i in mark(group[i], after: Self.deps(after, i) + into[i]) }
    }

    /// `bytes` from one rank to another, chunked; returns the mark on `to` when all arrived.
    public func pointToPoint(from: Int, to: Int, bytes: Int, chunk: Int, after: [Int], receiverAfter: [Int] = []) -> Int {
        let sends = Self.chunks(bytes, chunk).map { send(from, to: to, bytes: $0, after: after) }
        return mark(to, after: receiverAfter + sends)
    }
}

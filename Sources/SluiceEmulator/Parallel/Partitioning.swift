/// A topology cut into partitions that run side by side (threads, or processes under MPI):
/// every node belongs to one partition, and a link whose ends are in different partitions is
/// cut. Packets cross a cut only over a link with a delay, so a partition can run ahead of the
/// others by the smallest such delay (the lookahead) without missing a packet: conservative
/// parallel simulation's rule, as ns-3's distributed simulator applies it.
public struct Partitioning: Sendable, Equatable {
    /// Partition of each node (index: node).
    public let partitionOf: [Int32]
    public let count: Int
    /// Links whose ends are in different partitions, in link order.
    public let cutLinks: [Int]
    /// The smallest time a packet takes across a cut link, wire to receiver (propagation delay
    /// plus the receiving switch's pipeline latency), picoseconds: how far each partition may
    /// run past the others. `Int64.max` when nothing is cut.
    public let lookahead: Int64

    /// Partitions as given: `assignment[node]` in 0..<count, every partition with a node.
    public init(_ spec: TopologySpec, assignment: [Int], count: Int) throws {
        guard count >= 1 else { throw EmulatorError("partitions: \(count); give at least 1") }
        guard count <= spec.nodes.count else {
            throw EmulatorError("\(count) partitions for \(spec.nodes.count) nodes: a partition needs at least one node; use at most \(spec.nodes.count)")
        }
        guard assignment.count == spec.nodes.count else {
            throw EmulatorError("partitions: \(assignment.count) assignments for \(spec.nodes.count) nodes")
        }
        var used = [Bool](repeating: false, count: count)
        for (n, p) in assignment.enumerated() {
            guard (0..<count).contains(p) else {
                throw EmulatorError("node '\(spec.nodes[n].name)' has partition \(p); valid: 0 to \(count - 1)")
            }
            used[p] = true
        }
        if let empty = used.firstIndex(of: false) {
            throw EmulatorError("partition \(empty) has no node; number the partitions 0 to \(count - 1) without gaps")
        }
        var cut: [Int] = []
        var lookahead = Int64.max
        for (i, l) in spec.links.enumerated() where assignment[l.a.node] != assignment[l.b.node] {
            let a = spec.nodes[l.a.node], b = spec.nodes[l.b.node]
            // Each direction: propagation delay, then the receiver's pipeline latency.
            let ab = l.delay &+ (b.switchSpec?.pipelineLatency ?? 0)
            let ba = l.delay &+ (a.switchSpec?.pipelineLatency ?? 0)
            let least = min(ab, ba)
            guard least > 0 else {
                throw EmulatorError("link \(a.name):\(l.a.port) -- \(b.name):\(l.b.port)\(l.origin.isEmpty ? "" : " (\(l.origin))") has zero delay and joins partition \(assignment[l.a.node]) to partition \(assignment[l.b.node]): a packet on it would arrive in the same instant it was sent, before the other partition could hear of it; put both ends in one partition, or give the link a delay")
            }
            cut.append(i)
            lookahead = min(lookahead, least)
        }
        partitionOf = assignment.map(Int32.init)
        self.count = count
        cutLinks = cut
        self.lookahead = lookahead
    }

    /// Every node in partition 0.
    public static func single(_ spec: TopologySpec) -> Partitioning {
        // Cannot fail: one partition, every node in it, nothing cut.
        try! Partitioning(spec, assignment: Array(repeating: 0, count: spec.nodes.count), count: 1)
    }

    /// The topology file's `partition:` of every node, when it gives one for every node.
    public static func fromFile(_ spec: TopologySpec) throws -> Partitioning? {
        let given = spec.nodes.map(\.partition)
        guard given.contains(where: { $0 != nil }) else { return nil }
        if let n = given.firstIndex(where: { $0 == nil }) {
            throw EmulatorError("node '\(spec.nodes[n].name)' has no partition while others have one; give `partition:` to every node, or to none (automatic)")
        }
        let a = given.map { $0! }
        return try Partitioning(spec, assignment: a, count: (a.max() ?? 0) + 1)
    }

    /// Balanced by nodes, cutting few links: a switch with hosts goes with its hosts (a rack
    /// or an edge switch and its servers), those groups fill the partitions in node order
    /// (the generators number leaves and pods in order, so neighbours stay together), and
    /// every other switch (spines, aggregation, cores), nearest the hosts first, joins the
    /// partition it has the most links to, the lightest on a tie. Refused when that leaves a
    /// partition empty or would cut a zero-delay link: give `partition:` per node then.
    public static func automatic(_ spec: TopologySpec, count: Int) throws -> Partitioning {
        let n = spec.nodes.count
        guard count >= 1 else { throw EmulatorError("partitions: \(count); give at least 1") }
        guard count <= n else {
            throw EmulatorError("\(count) partitions for \(n) nodes: a partition needs at least one node; use at most \(n)")
        }
        if count == 1 { return single(spec) }
        var neighbours = [[Int]](repeating: [], count: n)
        for l in spec.links { neighbours[l.a.node].append(l.b.node); neighbours[l.b.node].append(l.a.node) }
        var part = [Int](repeating: -1, count: n)
        // Groups: each switch with the hosts attached to it; a host with no switch alone.
        var groups: [[Int]] = []
        var grouped = [Bool](repeating: false, count: n)
        for s in 0..<n where !spec.nodes[s].isHost {
            let hosts = neighbours[s].filter { spec.nodes[$0].isHost && !grouped[$0] }
            guard !hosts.isEmpty else { continue }
            for h in hosts { grouped[h] = true }
            grouped[s] = true
            groups.append([s] + hosts)
        }
        for h in 0..<n where spec.nodes[h].isHost && !grouped[h] { grouped[h] = true; groups.append([h]) }
        let total = groups.reduce(0) { $0 + $1.count }
        var weight = [Int](repeating: 0, count: count)
        // Fill partitions in order: partition p takes groups until it holds its share.
        var p = 0, placed = 0
        for (i, g) in groups.enumerated() {
            let groupsLeft = groups.count - i
            if p < count - 1 && weight[p] > 0 && (placed + g.count / 2 >= total * (p + 1) / count || groupsLeft <= count - 1 - p) { p += 1 }
            for x in g { part[x] = p }
            weight[p] += g.count
            placed += g.count
        }
        // The other switches, breadth first from the placed ones.
        var frontier = (0..<n).filter { part[$0] >= 0 }
        while true {
            var next: [Int] = []
            var seen = Set<Int>()
            for x in frontier { for y in neighbours[x] where part[y] < 0 && seen.insert(y).inserted { next.append(y) } }
            if next.isEmpty { break }
            next.sort()
            for y in next {
                var links = [Int](repeating: 0, count: count)
                for z in neighbours[y] where part[z] >= 0 { links[part[z]] += 1 }
                var best = 0
                for q in 1..<count where links[q] > links[best] || (links[q] == links[best] && weight[q] < weight[best]) { best = q }
                part[y] = best
                weight[best] += 1
            }
            frontier = next
        }
        // Nodes with no link at all: the lightest partitions.
        for x in 0..<n where part[x] < 0 {
            let q = weight.indices.min { weight[$0] < weight[$1] }!
            part[x] = q; weight[q] += 1
        }
        if let empty = weight.firstIndex(of: 0) {
            throw EmulatorError("cannot cut '\(spec.name)' into \(count) partitions automatically (partition \(empty) would be empty); give `partition:` per node in the topology file, or use fewer")
        }
        return try Partitioning(spec, assignment: part, count: count)
    }

    /// Per partition, the partitions it shares a cut link with (ascending): those its packets
    /// reach in one hop, which its window's messages go to under MPI.
    public func peers(_ spec: TopologySpec) -> [[Int]] {
        var linked = [[Bool]](repeating: [Bool](repeating: false, count: count), count: count)
        for l in cutLinks {
            let a = Int(partitionOf[spec.links[l].a.node]), b = Int(partitionOf[spec.links[l].b.node])
            linked[a][b] = true; linked[b][a] = true
        }
        return linked.map { row in row.indices.filter { row[$0] } }
    }

    /// Nodes in each partition.
    public var sizes: [Int] {
        var s = [Int](repeating: 0, count: count)
        for p in partitionOf { s[Int(p)] += 1 }
        return s
    }
}

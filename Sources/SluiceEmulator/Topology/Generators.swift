import Yams

/// Topologies made from a few numbers: nodes and links that a file's `generator` expands to
/// before its own `nodes` and `links` apply. Hosts are `h1..hN` and use port 0; a switch's ports
/// count from 1, host-facing ports first.
///
/// - `leaf-spine {spines: S, leaves: L, hosts-per-leaf: H}`: nodes `spine1..spineS`,
///   `leaf1..leafL`, `h1..h(L*H)`. Host i hangs off leaf ceil(i/H). Leaf ports 1..H go to its
///   hosts in order, H+1..H+S to spines 1..S; spine port j goes to leaf j.
/// - `fat-tree {k}` (k even): k pods of k/2 aggregation and k/2 edge switches, (k/2)^2 cores,
///   k^3/4 hosts. Nodes `core1..`, `agg<pod>-<i>`, `edge<pod>-<i>` (pod and i from 1), `h1..`.
///   `edge<p>-<i>`: ports 1..k/2 to its hosts, k/2+j to `agg<p>-<j>`. `agg<p>-<j>`: port i to
///   `edge<p>-<i>`, k/2+m to `core<(j-1)*k/2+m>`. `core<c>`: port p to pod p's aggregation
///   switch j = (c-1)/(k/2)+1. Hosts are numbered pod by pod, edge by edge: edge<p>-<i>'s m-th
///   host is h<(p-1)*(k/2)^2 + (i-1)*k/2 + m>.
/// - `dumbbell {hosts-per-side: N, bottleneck-rate?}`: switches `left` and `right`; `h1..hN` on
///   left ports 1..N, `h(N+1)..h(2N)` on right ports 1..N; the bottleneck joins port N+1 of each
///   and has `bottleneck-rate` (default: the link default).
/// - `star {hosts: N}`: switch `sw`, `h1..hN` on its ports 1..N.
///
/// Generated links take `defaults.link`; generated switches take `defaults.switch` and can be
/// changed one by one under `nodes`.
enum Generators {
    struct GeneratedNode: Hashable, Sendable {
        var name: String
        var isHost: Bool
    }
    struct Link: Hashable, Sendable {
        var a: Endpoint
        var b: Endpoint
        /// A rate other than the link default (the dumbbell's bottleneck).
        var rate: UInt64?
    }
    struct Topology: Hashable, Sendable {
        var nodes: [GeneratedNode] = []
        var links: [Link] = []

        mutating func node(_ name: String, host: Bool = false) -> Int {
            nodes.append(GeneratedNode(name: name, isHost: host)); return nodes.count - 1
        }
        mutating func link(_ a: Int, _ pa: Int, _ b: Int, _ pb: Int, rate: UInt64? = nil) {
            links.append(Link(a: Endpoint(node: a, port: UInt16(pa)), b: Endpoint(node: b, port: UInt16(pb)), rate: rate))
        }
    }

    static let names = ["leaf-spine", "fat-tree", "dumbbell", "star"]
    /// Most nodes a generator makes, so a typo cannot ask for a billion.
    static let maxNodes = 1 << 20

    static func leafSpine(spines: Int, leaves: Int, hostsPerLeaf: Int) -> Topology {
        var t = Topology()
        let spine = (1...spines).map { t.node("spine\($0)") }
        let leaf = (1...leaves).map { t.node("leaf\($0)") }
        let hosts = (1...leaves * hostsPerLeaf).map { t.node("h\($0)", host: true) }
        for (i, h) in hosts.enumerated() { t.link(leaf[i / hostsPerLeaf], i % hostsPerLeaf + 1, h, 0) }
        for (l, lf) in leaf.enumerated() {
            for (s, sp) in spine.enumerated() { t.link(lf, hostsPerLeaf + s + 1, sp, l + 1) }
        }
        return t
    }

    static func fatTree(k: Int) -> Topology {
        var t = Topology()
        let half = k / 2
        let core = (1...half * half).map { t.node("core\($0)") }
        let agg = (1...k).map { p in (1...half).map { t.node("agg\(p)-\($0)") } }
        let edge = (1...k).map { p in (1...half).map { t.node("edge\(p)-\($0)") } }
        let hosts = (1...k * half * half).map { t.node("h\($0)", host: true) }
        for p in 0..<k {
            for i in 0..<half {
                for m in 0..<half { t.link(edge[p][i], m + 1, hosts[(p * half + i) * half + m], 0) }
            }
        }
        for p in 0..<k {
            for i in 0..<half {
                for j in 0..<half { t.link(edge[p][i], half + j + 1, agg[p][j], i + 1) }
            }
        }
        for p in 0..<k {
            for j in 0..<half {
                for m in 0..<half { t.link(agg[p][j], half + m + 1, core[j * half + m], p + 1) }
            }
        }
        return t
    }

    static func dumbbell(hostsPerSide: Int, bottleneckRate: UInt64? = nil) -> Topology {
        var t = Topology()
        let left = t.node("left"), right = t.node("right")
        let hosts = (1...2 * hostsPerSide).map { t.node("h\($0)", host: true) }
        for (i, h) in hosts.enumerated() {
            t.link(i < hostsPerSide ? left : right, i % hostsPerSide + 1, h, 0)
        }
        t.link(left, hostsPerSide + 1, right, hostsPerSide + 1, rate: bottleneckRate)
        return t
    }

    static func star(hosts: Int) -> Topology {
        var t = Topology()
        let sw = t.node("sw")
        for i in 1...hosts { t.link(sw, i, t.node("h\(i)", host: true), 0) }
        return t
    }

    /// `generator: {name: {parameters}}`, checked.
    static func read(_ node: Node, in source: TopologySource) throws(TopologyError) -> Topology {
        let outer = try Fields(node, path: "generator", allowed: names, in: source)
        guard let first = outer.pairs.first else {
            throw source.error(node, "generator", "no generator named", valid: names.joined(separator: ", "))
        }
        if outer.pairs.count > 1 {
            throw source.error(outer.pairs[1].keyNode, "generator", "more than one generator", valid: "one of " + names.joined(separator: ", "))
        }
        let name = first.key, value = first.value
        let path = "generator.\(name)"
        let limit = 65_535
        switch name {
        case "leaf-spine":
            let f = try Fields(value, path: path, allowed: ["spines", "leaves", "hosts-per-leaf"], in: source)
            let s = try source.integer(try f.required("spines", in: source, valid: "1 to \(limit)"), f.path("spines"), in: 1...limit)
            let l = try source.integer(try f.required("leaves", in: source, valid: "1 to \(limit)"), f.path("leaves"), in: 1...limit)
            let hNode = try f.required("hosts-per-leaf", in: source, valid: "1 to \(limit)")
            let h = try source.integer(hNode, f.path("hosts-per-leaf"), in: 1...limit)
            guard h + s <= limit else {
                throw source.error(hNode, f.path("hosts-per-leaf"), "a leaf would need \(h + s) ports", valid: "hosts-per-leaf + spines at most \(limit)")
            }
            guard s + l + l * h <= maxNodes else {
                throw source.error(value, path, "\(s + l + l * h) nodes is too many", valid: "at most \(maxNodes) nodes")
            }
            return leafSpine(spines: s, leaves: l, hostsPerLeaf: h)
        case "fat-tree":
            let f = try Fields(value, path: path, allowed: ["k"], in: source)
            let valid = "an even number from 2 to 128"
            let kNode = try f.required("k", in: source, valid: valid)
            let k = try source.integer(kNode, f.path("k"), in: 2...128, valid: valid)
            guard k % 2 == 0 else { throw source.error(kNode, f.path("k"), "\(k) is odd", valid: valid) }
            return fatTree(k: k)
        case "dumbbell":
            let f = try Fields(value, path: path, allowed: ["hosts-per-side", "bottleneck-rate"], in: source)
            let n = try source.integer(try f.required("hosts-per-side", in: source, valid: "1 to \(limit - 1)"), f.path("hosts-per-side"), in: 1...limit - 1)
            let rate = try f["bottleneck-rate"].map { r throws(TopologyError) in try source.rate(r, f.path("bottleneck-rate")) }
            return dumbbell(hostsPerSide: n, bottleneckRate: rate)
        default:
            let f = try Fields(value, path: path, allowed: ["hosts"], in: source)
            let n = try source.integer(try f.required("hosts", in: source, valid: "1 to \(limit)"), f.path("hosts"), in: 1...limit)
            return star(hosts: n)
        }
    }
}

/// Which nodes a path of links joins: the connected components of the topology's link graph.
///
/// Traffic between hosts that no path joins is refused when the topology is read: the
/// transport would retransmit into the void forever (its timeout doubling up to a second of
/// virtual time) and the run would never end, so the answer is an error naming the flow.
public struct Reachability: Sendable {
    /// Component of each node (index: node); two nodes share one exactly when a path joins them.
    let component: [Int]

    public init(_ spec: TopologySpec) {
        // Union-find over the links, with path halving.
        var parent = Array(spec.nodes.indices)
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        for l in spec.links where spec.nodes.indices.contains(l.a.node) && spec.nodes.indices.contains(l.b.node) {
            let a = root(l.a.node), b = root(l.b.node)
            if a != b { parent[max(a, b)] = min(a, b) }
        }
        component = spec.nodes.indices.map(root)
    }

    /// Whether a path of links joins nodes `a` and `b` (a node reaches itself).
    public func connects(_ a: Int, _ b: Int) -> Bool {
        a == b || (component.indices.contains(a) && component.indices.contains(b) && component[a] == component[b])
    }

    /// `h5 cannot be reached from h1: no path of links between them`: the problem, for errors
    /// that add what they are about (a flow, a job).
    public static func problem(from source: String, to destination: String) -> String {
        "\(destination) cannot be reached from \(source): no path of links between them"
    }

    /// What a topology with traffic between two hosts needs.
    public static let valid = "hosts connected through switches"
}

import SluiceControlPlane
import SluiceIR
import SluiceSupport
import SluiceControlPlane

/// Installs shortest-path routes into the switches of a topology that ask for them
/// (`routing: true`), the way a fabric's controller would at boot: hop-count distances to
/// every host, one next hop as a plain `forward`, several equal-cost ones as an ECMP group.
/// What the entries look like is each program's business (its `RouteInstaller`: for the
/// built-in ones, `ECMPRouter.Routes`); the controller knows no program by name.
///
/// Hosts are leaves: a path never runs through a host other than its destination. Switches
/// that do not route (`routing: false`, any program) still carry traffic in the graph: their
/// entries are their own business.
public enum RoutingController {
    /// Shortest-path (hop count) routes to every host, installed on every switch whose
    /// SwitchSpec has routing == true; equal-cost next hops become ECMP groups (one group per
    /// distinct set of ports on a switch, members in port order).
    ///
    /// Per routed switch, through its program's `routes` (nil: the program cannot be routed,
    /// and `routedPrograms` names those that can): the switch's MAC, each group's buckets,
    /// and a /32 for each reachable host. Unreachable hosts get no route and are listed in the
    /// summary.
    public static func install(_ topology: TopologySpec, routes: (Int) -> (any RouteInstaller)?, routedPrograms: [String],
                               controlPlane: (Int) -> (any ControlPlane)?) throws -> RoutingSummary {
        let nodes = topology.nodes
        let routed = topology.switches.filter { nodes[$0].switchSpec?.routing == true }
        // Every check before the first entry, so a bad topology changes no switch.
        var planes: [Int: any ControlPlane] = [:]
        var installers: [Int: any RouteInstaller] = [:]
        for s in routed {
            let spec = nodes[s].switchSpec!
            guard let installer = routes(s) else {
                let names = routedPrograms.joined(separator: ", ")
                throw RoutingError("switch '\(nodes[s].name)' runs '\(spec.program)' with routing: true; the routing controller installs routes only into \(names) (use one of those programs, or routing: false with an entries file)")
            }
            guard let cp = controlPlane(s) else {
                throw RoutingError("switch '\(nodes[s].name)': no control plane to install routes into")
            }
            planes[s] = cp
            installers[s] = installer
        }

        let (plans, unreachable) = plan(topology, routed: routed, graph: Graph(topology))

        var routes: [RoutingSummary.Route] = []
        var groups: [Int: [RoutingSummary.Group]] = [:]
        for s in routed {
            let cp = planes[s]!, installer = installers[s]!, plan = plans[s]!, name = nodes[s].name
            func attempt(_ table: String, _ what: @autoclosure () -> String, _ body: () throws -> Void) throws {
                do { try body() } catch {
                    throw RoutingError("switch '\(name)': table '\(table)': cannot install \(what()): \(error)")
                }
            }
            let mac = installer.switchMAC(nodes[s].mac)
            try attempt(mac.table, "the switch MAC \(macText(nodes[s].mac))") {
                try cp.setDefault(mac.table, mac.action)
            }
            guard plan.groups.count <= Int(UInt16.max) else {
                throw RoutingError("switch '\(name)': table 'ecmp_nhop': \(plan.groups.count) ECMP groups needed, group ids are 16 bits (at most \(UInt16.max))")
            }
            let kind = nodes[s].switchSpec!.groups, bucketCount = nodes[s].switchSpec!.groupBuckets
            var tables: [UInt16: RouteGroupEntries] = [:]
            for g in plan.groups {
                let members = g.members.map(\.member)
                let group: RouteGroupEntries
                do { group = try installer.group(id: g.id, kind: kind, members: members, buckets: bucketCount) } catch {
                    throw RoutingError("switch '\(name)': group \(g.id): \(error)")
                }
                for (b, entry) in group.entries.enumerated() {
                    try attempt(group.table, "bucket \(b) of group \(g.id) -> \(g.members[group.buckets[b]].text)") {
                        try cp.insert(group.table, entry)
                    }
                }
                tables[g.id] = group
            }
            for r in plan.routes {
                let ip = nodes[r.host].host!.ipv4
                let action: ActionCall
                let what: String
                if let g = r.group, let group = tables[g] {
                    action = group.routeAction
                    what = "group \(g) (\(r.nextHops.count) members, \(group.buckets.count) buckets)"
                } else {
                    let hop = r.nextHops[0]
                    action = installer.forward(NextHopMember(port: hop.port, mac: hop.mac))
                    what = hop.text
                }
                let route = installer.route(ipv4: ip, prefixLength: 32, action)
                try attempt(route.table, "the route to \(nodes[r.host].name) (\(ipv4Text(ip))/32) -> \(what)") {
                    try cp.insert(route.table, route.entry)
                }
                routes.append(r)
            }
            groups[s] = plan.groups.map { g in
                var g = g
                g.buckets = tables[g.id]!.buckets
                return g
            }
        }
        return RoutingSummary(names: nodes.map(\.name), switches: routed, routes: routes, groups: groups, unreachable: unreachable)
    }

    /// Shortest-path next hops from each of the `routed` switches to every host, and the
    /// (switch, host) pairs with no path.
    static func plan(_ topology: TopologySpec, routed: [Int], graph: Graph) -> (plans: [Int: SwitchPlan], unreachable: [RoutingSummary.Pair]) {
        let nodes = topology.nodes
        var plans = Dictionary(uniqueKeysWithValues: routed.map { ($0, SwitchPlan(switchNode: $0)) })
        var unreachable: [RoutingSummary.Pair] = []
        for h in topology.hosts {
            let dist = graph.distances(to: h, nodes: nodes)
            for s in routed {
                guard dist[s] > 0 else {
                    unreachable.append(RoutingSummary.Pair(switchNode: s, host: h))
                    continue
                }
                // Neighbours one hop closer; a host other than the destination is never a way through.
                let hops = graph.neighbours[s]
                    .filter { ($0.node == h || !nodes[$0.node].isHost) && dist[$0.node] == dist[s] - 1 }
                    .map { RoutingSummary.NextHop(port: $0.port, node: $0.node, mac: nodes[$0.node].mac, rate: $0.rate) }
                plans[s]!.add(host: h, distance: dist[s], hops: hops)
            }
        }
        return (plans, unreachable)
    }

    /// The topology as ports and neighbours per node (self-links ignored), each list in port
    /// order; without the links that are down (`linkUp[l]` false) and every link of a node
    /// that is down. `linkRate` replaces the links' rates (a rate changed during the run).
    struct Graph {
        var neighbours: [[(port: UInt16, node: Int, rate: UInt64)]]

        init(_ t: TopologySpec, linkUp: [Bool]? = nil, nodeUp: [Bool]? = nil, linkRate: [UInt64]? = nil) {
            neighbours = Array(repeating: [], count: t.nodes.count)
            for (i, l) in t.links.enumerated() where l.a.node != l.b.node {
                if let up = linkUp, !up[i] { continue }
                if let up = nodeUp, !up[l.a.node] || !up[l.b.node] { continue }
                let rate = linkRate?[i] ?? l.rate
                neighbours[l.a.node].append((l.a.port, l.b.node, rate))
                neighbours[l.b.node].append((l.b.port, l.a.node, rate))
            }
            for i in neighbours.indices { neighbours[i].sort { $0.port < $1.port } }
        }

        /// Hop counts to `host` (-1: unreachable), by breadth-first search from it that never
        /// expands another host.
        func distances(to host: Int, nodes: [NodeSpec]) -> [Int] {
            var dist = Array(repeating: -1, count: neighbours.count)
            dist[host] = 0
            var queue = [host], head = 0
            while head < queue.count {
                let u = queue[head]
                head += 1
                if u != host && nodes[u].isHost { continue }
                for (_, v, _) in neighbours[u] where dist[v] < 0 {
                    dist[v] = dist[u] + 1
                    queue.append(v)
                }
            }
            return dist
        }
    }

    /// What one switch gets: a route per reachable host and its groups, ids from 1 in order of
    /// first use (hosts in node order), one per distinct port set.
    struct SwitchPlan {
        let switchNode: Int
        var routes: [RoutingSummary.Route] = []
        var groups: [RoutingSummary.Group] = []
        var groupOfPorts: [[UInt16]: UInt16] = [:]

        mutating func add(host: Int, distance: Int, hops: [RoutingSummary.NextHop]) {
            var group: UInt16? = nil
            if hops.count > 1 {
                let ports = hops.map(\.port)
                if let g = groupOfPorts[ports] {
                    group = g
                } else {
                    // Past 65535 groups the id wraps; `install` refuses such a plan before using it.
                    let g = UInt16(truncatingIfNeeded: groups.count + 1)
                    groupOfPorts[ports] = g
                    groups.append(RoutingSummary.Group(id: g, members: hops))
                    group = g
                }
            }
            routes.append(RoutingSummary.Route(switchNode: switchNode, host: host, distance: distance, nextHops: hops, group: group))
        }
    }
}

/// Routes could not be installed. The message names the switch, and the table when an entry
/// was refused.
public struct RoutingError: Error, CustomStringConvertible, Hashable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the routing controller installed, for tests, logs and reports.
public struct RoutingSummary: Hashable, Sendable {
    /// A neighbour one hop closer to the destination, and how to reach it.
    public struct NextHop: Hashable, Sendable {
        public var port: UInt16
        public var node: Int
        /// The neighbour's MAC: the destination MAC of frames sent to it.
        public var mac: UInt64
        /// The rate of the link to it, bits per second (the member's weight in weighted groups).
        public var rate: UInt64 = 0
        var text: String { "forward(port \(port), \(macText(mac)))" }
        /// As a group member: weighted by the link's rate in Mb/s (WCMP); equal groups ignore it.
        var member: NextHopMember { NextHopMember(port: port, mac: mac, weight: max(1, Int(rate / 1_000_000))) }
    }

    /// The route of one switch to one host.
    public struct Route: Hashable, Sendable {
        public var switchNode: Int
        public var host: Int
        /// Hops from the switch to the host (1: directly attached).
        public var distance: Int
        /// In port order; one for a plain forward.
        public var nextHops: [NextHop]
        /// The ECMP group the route uses, nil for a plain forward.
        public var group: UInt16?
    }

    /// A next-hop group of a switch: the hash scaled onto the bucket count picks a bucket,
    /// bucket b sends to `members[buckets[b]]` (equal groups: bucket i is member i).
    public struct Group: Hashable, Sendable {
        public var id: UInt16
        public var members: [NextHop]
        public var buckets: [Int] = []
    }

    /// A routed switch and a host it has no path to.
    public struct Pair: Hashable, Sendable {
        public var switchNode: Int
        public var host: Int
    }

    /// Node names by index (for reports).
    public var names: [String]
    /// The routed switches, in node order.
    public var switches: [Int]
    /// Every installed route, by switch in node order, then host in node order.
    public var routes: [Route]
    /// The ECMP groups of each routed switch, by id.
    public var groups: [Int: [Group]]
    public var unreachable: [Pair]

    public func routes(on switchNode: Int) -> [Route] { routes.filter { $0.switchNode == switchNode } }
    public func route(on switchNode: Int, to host: Int) -> Route? {
        routes.first { $0.switchNode == switchNode && $0.host == host }
    }

    /// A few lines for a log: totals, then per switch its routes and groups, then what is
    /// unreachable.
    public func textReport() -> String {
        let groupCount = groups.values.reduce(0) { $0 + $1.count }
        let viaGroups = routes.filter { $0.group != nil }.count
        var lines = ["routing: \(switches.count) switch\(switches.count == 1 ? "" : "es"), \(routes.count) route\(routes.count == 1 ? "" : "s") (\(viaGroups) through ECMP groups), \(groupCount) group\(groupCount == 1 ? "" : "s"), \(unreachable.count) unreachable"]
        for s in switches {
            let rs = routes(on: s), gs = groups[s] ?? []
            lines.append("  \(names[s]): \(rs.count) route\(rs.count == 1 ? "" : "s"), \(gs.count) group\(gs.count == 1 ? "" : "s")")
            for g in gs {
                let members = g.members.map { "\($0.port) (\(names[$0.node]))" }.joined(separator: ", ")
                lines.append("    group \(g.id): ports \(members)")
            }
        }
        if !unreachable.isEmpty {
            let shown = unreachable.prefix(20).map { "\(names[$0.host]) from \(names[$0.switchNode])" }
            lines.append("  unreachable: \(shown.joined(separator: ", "))\(unreachable.count > 20 ? ", ... (\(unreachable.count - 20) more)" : "")")
        }
        return lines.joined(separator: "\n")
    }
}

import SluiceControlPlane
import SluiceIR

extension RoutingController {
    /// Shortest paths again after links or switches went down or came back, or a link's rate
    /// changed (`linkUp`, `nodeUp`, `linkRate`: what the controller knows), written over what
    /// `previous` installed. In weighted and resilient groups a member's weight is its link's
    /// rate, so a group whose weights changed is regrouped like one whose members changed.
    ///
    /// Per routed switch that is up: a next-hop group whose ports did not change keeps its id
    /// and buckets (nothing is written); a changed one is derived from the old group it
    /// overlaps most (its id, and through the program's `regroup` its buckets: resilient groups
    /// move only the flows of members that left); the rest get new ids. A route whose next
    /// hops or group changed is rewritten; a host no longer reachable loses its route (its
    /// packets then take the table's default); one reachable again gets it back.
    static func recompute(_ topology: TopologySpec, previous: RoutingSummary, linkUp: [Bool], nodeUp: [Bool], linkRate: [UInt64]? = nil,
                          routes: (Int) -> (any RouteInstaller)?, controlPlane: (Int) -> (any ControlPlane)?)
        throws -> (summary: RoutingSummary, change: String) {
        let nodes = topology.nodes
        let live = previous.switches.filter { nodeUp[$0] }
        let (plans, unreachable) = plan(topology, routed: live, graph: Graph(topology, linkUp: linkUp, nodeUp: nodeUp, linkRate: linkRate))
        var summary = previous
        summary.unreachable = previous.unreachable.filter { !nodeUp[$0.switchNode] } + unreachable
        var changedRoutes = 0, removedRoutes = 0, rewrittenGroups = 0
        for s in live {
            guard let installer = routes(s), let cp = controlPlane(s) else {
                throw RoutingError("switch '\(nodes[s].name)': no control plane to install routes into")
            }
            let name = nodes[s].name
            func attempt(_ what: @autoclosure () -> String, _ body: () throws -> Void) throws {
                do { try body() } catch { throw RoutingError("switch '\(name)': cannot install \(what()): \(error)") }
            }
            let kind = nodes[s].switchSpec!.groups, bucketCount = nodes[s].switchSpec!.groupBuckets
            let plan = plans[s]!
            let old = previous.groups[s] ?? []
            var claimed = Set<UInt16>()
            var idOfPorts: [[UInt16]: UInt16] = [:]
            var groups: [RoutingSummary.Group] = []
            var rewritten = Set<UInt16>()
            var actions: [UInt16: ActionCall] = [:]
            var nextID = (old.map(\.id).max() ?? 0) &+ 1
            // The same members, and for groups that weigh them the same weights.
            func same(_ o: RoutingSummary.Group, _ g: RoutingSummary.Group) -> Bool {
                o.members.map(\.port) == g.members.map(\.port) && (kind == .equal || o.members.map(\.member.weight) == g.members.map(\.member.weight))
            }
            // Unchanged groups first, so none of them is taken as the base of another.
            for g in plan.groups {
                let ports = g.members.map(\.port)
                if let o = old.first(where: { same($0, g) }), !claimed.contains(o.id) {
                    claimed.insert(o.id)
                    idOfPorts[ports] = o.id
                    groups.append(o)
                    actions[o.id] = try installer.group(id: o.id, kind: kind, members: o.members.map(\.member), buckets: bucketCount).routeAction
                }
            }
            for g in plan.groups where idOfPorts[g.members.map(\.port)] == nil {
                let ports = Set(g.members.map(\.port))
                // The unclaimed old group sharing the most members (the lowest id on a tie).
                var base: RoutingSummary.Group? = nil
                var shared = 0
                for o in old where !claimed.contains(o.id) {
                    let n = o.members.filter { ports.contains($0.port) }.count
                    if n > shared { base = o; shared = n }
                }
                let id: UInt16
                if let b = base { id = b.id } else { id = nextID; nextID &+= 1 }
                claimed.insert(id)
                let members = g.members.map(\.member)
                let entries: RouteGroupEntries
                do {
                    if let b = base {
                        entries = try installer.regroup(id: id, kind: kind, previous: b.members.map { (m: RoutingSummary.NextHop) in m.member }, previousBuckets: b.buckets,
                                                        members: members, buckets: bucketCount)
                    } else {
                        entries = try installer.group(id: id, kind: kind, members: members, buckets: bucketCount)
                    }
                } catch {
                    throw RoutingError("switch '\(name)': group \(id): \(error)")
                }
                for (i, entry) in entries.entries.enumerated() {
                    try attempt("bucket \(i) of group \(id) -> \(g.members[entries.buckets[i]].text)") { try cp.upsert(entries.table, entry) }
                }
                idOfPorts[g.members.map(\.port)] = id
                var kept = g
                kept.id = id
                kept.buckets = entries.buckets
                groups.append(kept)
                rewritten.insert(id)
                actions[id] = entries.routeAction
            }
            rewrittenGroups += rewritten.count

            var routesNow: [RoutingSummary.Route] = []
            for var r in plan.routes {
                r.group = r.nextHops.count > 1 ? idOfPorts[r.nextHops.map(\.port)] : nil
                let before = previous.route(on: s, to: r.host)
                let same = before.map { $0.nextHops.map(\.port) == r.nextHops.map(\.port) && $0.group == r.group } ?? false
                if !same || r.group.map(rewritten.contains) == true {
                    let ip = nodes[r.host].host!.ipv4
                    let action = r.group.map { actions[$0]! } ?? installer.forward(r.nextHops[0].member)
                    let route = installer.route(ipv4: ip, prefixLength: 32, action)
                    try attempt("the route to \(nodes[r.host].name)") { try cp.upsert(route.table, route.entry) }
                    if !same { changedRoutes += 1 }
                }
                routesNow.append(r)
            }
            for before in previous.routes(on: s) where !routesNow.contains(where: { $0.host == before.host }) {
                let ip = nodes[before.host].host!.ipv4
                let route = installer.route(ipv4: ip, prefixLength: 32, installer.forward(before.nextHops[0].member))
                try attempt("the removal of the route to \(nodes[before.host].name)") {
                    if let h = try cp.find(route.table, route.entry.matches, priority: route.entry.priority) { try cp.delete(h) }
                }
                removedRoutes += 1
            }
            summary.routes = summary.routes.filter { $0.switchNode != s } + routesNow
            summary.groups[s] = groups.sorted { $0.id < $1.id }
        }
        // Routes by switch in node order, then host in node order, as `install` lists them.
        summary.routes.sort { ($0.switchNode, $0.host) < ($1.switchNode, $1.host) }
        let change = "changed \(changedRoutes) route\(changedRoutes == 1 ? "" : "s"), removed \(removedRoutes), "
            + "rewrote \(rewrittenGroups) group\(rewrittenGroups == 1 ? "" : "s") on \(live.count) switch\(live.count == 1 ? "" : "es")"
        return (summary, change)
    }
}

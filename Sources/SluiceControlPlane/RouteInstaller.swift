import SluiceIR

/// How a next-hop group spreads flows over its members.
public enum NextHopGroupKind: String, Hashable, Sendable, CaseIterable {
    /// One bucket per member: plain ECMP (the hash scaled onto the member count).
    case equal
    /// A fixed number of buckets shared out in proportion to the members' weights (WCMP).
    case weighted
    /// A fixed number of buckets, weighted, where removing a member hands out only its own
    /// buckets and adding one takes buckets only from the members above their share: the
    /// flows of the other members keep their next hop.
    case resilient
}

/// A next hop as a routing controller sees it: the port to send on, the neighbour's MAC (the
/// destination MAC of frames sent to it) and its share of a weighted group.
public struct NextHopMember: Hashable, Sendable {
    public var port: UInt16
    public var mac: UInt64
    public var weight: Int
    public init(port: UInt16, mac: UInt64, weight: Int = 1) { self.port = port; self.mac = mac; self.weight = weight }
}

/// A next-hop group as a program lays it out: the entries of its buckets, the member of each
/// bucket, and the action a route to the group takes.
public struct RouteGroupEntries: Sendable {
    public var table: String
    public var entries: [TableEntry]
    /// The member index of each bucket.
    public var buckets: [Int]
    public var routeAction: ActionCall
    public init(table: String, entries: [TableEntry], buckets: [Int], routeAction: ActionCall) {
        self.table = table; self.entries = entries; self.buckets = buckets; self.routeAction = routeAction
    }
}

/// What a routing controller needs to know of a program to write shortest-path routes into it:
/// which tables and actions hold the switch's MAC, next-hop groups and routes. The controller
/// computes the routes and writes the entries; the program (here) says what they look like, so
/// the controller knows no program by name.
public protocol RouteInstaller: Sendable {
    /// The table whose default action sets the switch's MAC, and that action.
    func switchMAC(_ mac: UInt64) -> (table: String, action: ActionCall)
    /// The action that sends a packet to one next hop.
    func forward(_ hop: NextHopMember) -> ActionCall
    /// Next-hop group `id` over `members` (`buckets` applies to weighted and resilient groups).
    func group(id: UInt16, kind: NextHopGroupKind, members: [NextHopMember], buckets: Int) throws(ControlPlaneError) -> RouteGroupEntries
    /// The entry that routes `ipv4/prefixLength` with `action`, and its table.
    func route(ipv4: UInt32, prefixLength: Int, _ action: ActionCall) -> (table: String, entry: TableEntry)
    /// Group `id` once its members changed (a link failed or came back): it had `previous`,
    /// bucket b held `previous[previousBuckets[b]]`; it now has `members`. The returned
    /// buckets index `members`. Resilient and weighted groups should keep the buckets of the
    /// members that stay; the default builds the group afresh, as `group` does.
    func regroup(id: UInt16, kind: NextHopGroupKind, previous: [NextHopMember], previousBuckets: [Int],
                 members: [NextHopMember], buckets: Int) throws(ControlPlaneError) -> RouteGroupEntries
}

extension RouteInstaller {
    public func regroup(id: UInt16, kind: NextHopGroupKind, previous: [NextHopMember], previousBuckets: [Int],
                        members: [NextHopMember], buckets: Int) throws(ControlPlaneError) -> RouteGroupEntries {
        try group(id: id, kind: kind, members: members, buckets: buckets)
    }
}

extension RouteInstaller {
    /// Whether `program` has the tables and actions this installer writes, with keys and
    /// parameters of the right kinds and widths: one entry of each kind it writes (the switch's
    /// MAC, a group of each kind, a route to one hop and to a group), checked as the control
    /// plane would check it. The error says which table or action does not fit, so a program
    /// file routed "as" a built-in program is refused before any entry is written.
    public func check(_ program: Program) throws(ControlPlaneError) {
        let rules = EntryRules(program)
        let hop = NextHopMember(port: 1, mac: 0x0200_0000_0001)
        let mac = switchMAC(0x0200_0000_0002)
        _ = try rules.defaultAction(mac.table, mac.action)
        let direct = route(ipv4: 0x0A00_0001, prefixLength: 32, forward(hop))
        _ = try rules.entry(direct.table, direct.entry)
        for kind in NextHopGroupKind.allCases {
            let g = try group(id: 1, kind: kind, members: [hop, NextHopMember(port: 2, mac: 0x0200_0000_0003)], buckets: 4)
            for e in g.entries { _ = try rules.entry(g.table, e) }
            let viaGroup = route(ipv4: 0x0A00_0002, prefixLength: 32, g.routeAction)
            _ = try rules.entry(viaGroup.table, viaGroup.entry)
        }
    }
}

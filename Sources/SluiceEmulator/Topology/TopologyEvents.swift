import SluiceControlPlane
import SluiceSupport
import Yams

/// A topology file's `events` and `routing` sections: changes to the network during the run.
///
/// ```yaml
/// events:
///   - {at: 2ms, link: leaf1:p5-spine1:p1, down}
///   - {at: 4ms, link: [leaf1:p5, spine1:p1], up}
///   - {at: 3ms, link: leaf1:p5-spine1:p1, rate: 25Gbps, loss: 1%}
///   - {at: 3ms, switch: s1, entries: more.txt}
///   - {at: 5ms, switch: spine2, down}
/// routing: {recompute: true, detection: 1ms}
/// ```
///
/// Each entry has `at` (a time) and one target: `link` (its two endpoints, `a:p-b:q` or a list
/// of two, in either order) or `switch` (a switch's name). Then the changes: `down` or `up`
/// (no value, or `true`), and for a link `rate` and `loss`, for a switch `entries` (relative to
/// the topology file). Several changes in one entry happen at once, in the order written.
extension TopologyReader {
    static let eventKeys = ["at", "link", "switch", "down", "up", "rate", "loss", "entries"]
    static let eventExample = "- {at: 2ms, link: s1:p1-s2:p1, down}"
    static let routingKeys = ["recompute", "detection"]

    func readEvents(_ node: Node, topology: TopologySpec, links: LinkTable) throws(TopologyError) -> [NetworkEvent] {
        let items = try source.sequence(node, "events", valid: Self.eventExample)
        var events: [NetworkEvent] = []
        for (i, item) in items.enumerated() {
            let path = "events[\(i)]"
            let f = try Fields(item, path: path, allowed: Self.eventKeys, in: source)
            let atNode = try f.required("at", in: source, valid: "a time such as 2ms")
            let time = try source.time(atNode, f.path("at"))

            let target: NetworkEvent.Target
            let isLink: Bool
            switch (f["link"], f["switch"]) {
            case (let l?, nil):
                target = try readEventLink(l, field: f.path("link"), topology: topology, links: links)
                isLink = true
            case (nil, let s?):
                target = .node(try readEventSwitch(s, field: f.path("switch"), topology: topology))
                isLink = false
            case (.some, .some):
                throw source.error(f["switch"], f.path("switch"), "an event changes one link or one switch", valid: "link or switch, not both")
            case (nil, nil):
                throw source.error(item, f.path("link"), "missing: what changes", valid: "link: a:p-b:q, or switch: NAME")
            }

            let own = isLink ? ["down", "up", "rate", "loss"] : ["down", "up", "entries"]
            var changes: [NetworkEvent.Change] = []
            for pair in f.pairs where !["at", "link", "switch"].contains(pair.key) {
                let field = f.path(pair.key)
                guard own.contains(pair.key) else {
                    throw source.error(pair.keyNode, field, "a \(isLink ? "link" : "switch") event has no '\(pair.key)'", valid: own.joined(separator: ", "))
                }
                switch pair.key {
                case "down", "up":
                    if case .scalar(let s) = pair.value, TopologySource.isNull(s) {
                        // `{at: 2ms, link: …, down}`
                    } else if try source.bool(pair.value, field) == false {
                        throw source.error(pair.value, field, "'\(pair.key): false' changes nothing",
                                           valid: "\(pair.key) with no value, or \(pair.key == "down" ? "up" : "down") for the opposite")
                    }
                    changes.append(pair.key == "down" ? .down : .up)
                case "rate":
                    changes.append(.rate(try source.rate(pair.value, field)))
                case "loss":
                    let p = try source.probability(pair.value, field)
                    guard p < 1 else { throw source.error(pair.value, field, "a link that loses every packet", valid: "a probability below 1, or down") }
                    changes.append(.loss(p))
                default:   // entries
                    let name = try source.scalar(pair.value, field, expected: "an entries file")
                    let file = TopologyFile.resolve(name, against: source.baseDirectory)
                    let text: String
                    do { text = try FileIO.readText(file) } catch {
                        throw source.error(pair.value, field, "cannot read '\(file)': \(error.reason)", valid: "an entries file, relative to the topology file")
                    }
                    changes.append(.entries(file: file, text: text))
                }
            }
            if changes.contains(.down) && changes.contains(.up) {
                throw source.error(f["up"], f.path("up"), "down and up at once", valid: "one of down, up")
            }
            guard !changes.isEmpty else {
                throw source.error(item, path, "changes nothing", valid: own.joined(separator: ", "))
            }
            for c in changes { events.append(NetworkEvent(time: time, target: target, change: c, origin: source.origin(item))) }
        }
        return events
    }

    /// `a:p-b:q` or `[a:p, b:q]`: an existing link, in either order.
    func readEventLink(_ node: Node, field: String, topology: TopologySpec, links: LinkTable) throws(TopologyError) -> NetworkEvent.Target {
        let valid = "two endpoints of a link, as a:p1-b:p2 or [a:p1, b:p2]"
        let a: Endpoint, b: Endpoint
        if case .sequence(let s) = node {
            guard s.count == 2 else { throw source.error(node, field, "expected two endpoints, got \(s.count)", valid: valid) }
            a = try links.endpoint(s[0], field: field + "[0]")
            b = try links.endpoint(s[1], field: field + "[1]")
        } else {
            let text = try source.scalar(node, field, expected: valid)
            // The first endpoint's port name runs from its colon to the first '-' after it
            // (node names may hold '-', as fat-tree's agg1-2 do; port names may not).
            guard let colon = text.firstIndex(of: ":"),
                  let dash = text[colon...].firstIndex(of: "-") else {
                throw source.error(node, field, "'\(text)' is not two endpoints", valid: valid)
            }
            a = try links.endpoint(String(text[..<dash]), at: node, field: field)
            b = try links.endpoint(String(text[text.index(after: dash)...]), at: node, field: field)
        }
        guard topology.links.contains(where: { ($0.a == a && $0.b == b) || ($0.a == b && $0.b == a) }) else {
            let name = { (e: Endpoint) in "\(topology.nodes[e.node].name):p\(e.port)" }
            let mine = topology.links.filter { $0.a.node == a.node || $0.b.node == a.node }
                .map { $0.a.node == a.node ? "\(name($0.a))-\(name($0.b))" : "\(name($0.b))-\(name($0.a))" }
            throw source.error(node, field, "no link joins \(name(a)) and \(name(b))",
                               valid: mine.isEmpty ? "a link of the topology" : "the links of \(topology.nodes[a.node].name): " + TopologySource.choices(mine))
        }
        return .link(a, b)
    }

    /// A switch's node index.
    func readEventSwitch(_ node: Node, field: String, topology: TopologySpec) throws(TopologyError) -> Int {
        let name = try source.scalar(node, field, expected: "a switch name")
        let switches = topology.switches.map { topology.nodes[$0].name }
        guard let n = topology.node(named: name), !topology.nodes[n].isHost else {
            let problem = topology.node(named: name) != nil ? "'\(name)' is a host; an event takes a switch or a link"
                : "unknown switch '\(name)'" + TopologySource.didYouMean(name, switches)
            throw source.error(node, field, problem, valid: TopologySource.choices(switches))
        }
        return n
    }

    /// `routing: {recompute: true, detection: 1ms}`.
    func readRoutingPolicy(_ node: Node, topology: TopologySpec) throws(TopologyError) -> RoutingPolicy {
        let f = try Fields(node, path: "routing", allowed: Self.routingKeys, in: source)
        var p = RoutingPolicy()
        if let r = f["recompute"] { p.recompute = try source.bool(r, f.path("recompute")) }
        if let d = f["detection"] { p.detection = try source.time(d, f.path("detection")) }
        if let d = f["detection"], !p.recompute {
            throw source.error(d, f.path("detection"), "a detection delay without recompute: true does nothing (nothing recomputes the routes)",
                               valid: "recompute: true beside it, or no detection")
        }
        if p.recompute && !topology.nodes.contains(where: { $0.switchSpec?.routing == true }) {
            throw source.error(f["recompute"], f.path("recompute"), "no switch takes its routes from the routing controller",
                               valid: "a switch with routing: true (the default without an entries file), or recompute: false")
        }
        return p
    }
}

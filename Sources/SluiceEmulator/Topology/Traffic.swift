import SluiceRuntime
import Yams

/// The `traffic` section of a topology file: a list of flows, each written out (`from`, `to`)
/// or a pattern over all hosts in node order that expands to several flows.
///
/// - Every entry: `kind` (`udp` or `bulk`), `size` (payload bytes each flow delivers), `start`
///   (default 0), `sport` (default 10000 + the flow's index in the expanded list), `dport`
///   (default 20000). UDP flows also take `rate` (required) and `payload` (bytes per datagram,
///   default 1400; at least 8, the flow tag, and at most the host link's MTU - 28). Bulk flows
///   use the transport, whose segments follow the MTU, so they take neither.
/// - `pattern: shift, offset: k`: host i sends to host (i + k) mod n.
/// - `pattern: permutation`: every host sends to one other and receives from one other, a
///   random derangement drawn from the run's seed and the entry's position (`seed: s` in the
///   entry replaces the run's seed).
/// - `pattern: incast, to: h1, from: [h2, h3]`: each `from` host sends to `to` (`from` is a
///   host or a list; default: every other host).
enum Traffic {
    static let patterns = ["shift", "permutation", "incast"]
    static let common = ["kind", "size", "rate", "payload", "start", "sport", "dport"]
    static let keys = ["pattern", "from", "to", "offset", "seed"] + common

    static func read(_ node: Node, topology: TopologySpec, in source: TopologySource, seed: UInt64) throws(TopologyError) -> [FlowSpec] {
        let items = try source.sequence(node, "traffic", valid: "- {kind: udp, from: h1, to: h2, rate: 10Gbps, size: 1MB}")
        let hosts = topology.hosts
        let hostNames = hosts.map { topology.nodes[$0].name }
        var mtu: [Int: Int] = [:]
        for l in topology.links { mtu[l.a.node] = l.mtu; mtu[l.b.node] = l.mtu }
        let reach = Reachability(topology)
        var flows: [FlowSpec] = []

        for (i, item) in items.enumerated() {
            let path = "traffic[\(i)]"
            let f = try Fields(item, path: path, allowed: keys, in: source)

            // Who sends to whom.
            var pattern: String? = nil
            if let p = f["pattern"] {
                let name = try source.scalar(p, f.path("pattern"), expected: "a pattern")
                guard patterns.contains(name) else {
                    throw source.error(p, f.path("pattern"), "unknown pattern '\(name)'" + TopologySource.didYouMean(name, patterns), valid: patterns.joined(separator: ", "))
                }
                pattern = name
            }
            let own: [String]
            switch pattern {
            case nil: own = ["from", "to"]
            case "shift": own = ["offset"]
            case "permutation": own = ["seed"]
            default: own = ["from", "to"]
            }
            if let extra = f.pairs.first(where: { !own.contains($0.key) && !common.contains($0.key) && $0.key != "pattern" }) {
                let what = pattern.map { "pattern \($0)" } ?? "a single flow (no pattern)"
                throw source.error(extra.keyNode, f.path(extra.key), "does not apply to \(what)", valid: (["pattern"] + own + common).joined(separator: ", "))
            }

            func host(_ n: Node, _ field: String) throws(TopologyError) -> Int {
                let name = try source.scalar(n, field, expected: "a host name")
                guard let index = topology.node(named: name) else {
                    throw source.error(n, field, "unknown host '\(name)'" + TopologySource.didYouMean(name, hostNames), valid: TopologySource.choices(hostNames))
                }
                guard topology.nodes[index].isHost else {
                    throw source.error(n, field, "'\(name)' is a switch, not a host", valid: TopologySource.choices(hostNames))
                }
                return index
            }

            var pairs: [(src: Int, dst: Int, at: Node)] = []
            switch pattern {
            case nil:
                let from = try host(try f.required("from", in: source, valid: "a host"), f.path("from"))
                let toNode = try f.required("to", in: source, valid: "a host")
                let to = try host(toNode, f.path("to"))
                pairs = [(from, to, toNode)]
            case "shift":
                let offsetNode = try f.required("offset", in: source, valid: "a whole number of hosts")
                let offset = try source.integer(offsetNode, f.path("offset"), in: Int(Int32.min)...Int(Int32.max))
                guard !hosts.isEmpty, (offset % hosts.count + hosts.count) % hosts.count != 0 else {
                    throw source.error(offsetNode, f.path("offset"), "\(offset) would send each host to itself", valid: "not a multiple of \(hosts.count), the number of hosts")
                }
                pairs = shift(hosts.count, offset: offset).map { (hosts[$0.0], hosts[$0.1], item) }
            case "permutation":
                guard hosts.count >= 2 else {
                    throw source.error(f["pattern"], f.path("pattern"), "a permutation needs at least 2 hosts, there are \(hosts.count)", valid: "shift, incast or single flows")
                }
                var s = seed
                if let n = f["seed"] {
                    let text = try source.scalar(n, f.path("seed"), expected: "a whole number")
                    guard let v = UInt64(text.filter { $0 != "_" }) else {
                        throw source.error(n, f.path("seed"), "'\(text)' is not a whole number", valid: "0 to \(UInt64.max)")
                    }
                    s = v
                }
                let d = derangement(hosts.count, seed: s ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15))
                pairs = d.enumerated().map { (hosts[$0.offset], hosts[$0.element], item) }
            default:
                let toNode = try f.required("to", in: source, valid: "a host")
                let to = try host(toNode, f.path("to"))
                if let fromNode = f["from"], case .scalar = fromNode {
                    pairs = [(try host(fromNode, f.path("from")), to, fromNode)]
                } else if let fromNode = f["from"] {
                    let list = try source.sequence(fromNode, f.path("from"), valid: "a host or a list of hosts, e.g. [h2, h3]")
                    for (j, n) in list.enumerated() {
                        let h = try host(n, f.path("from") + "[\(j)]")
                        pairs.append((h, to, n))
                    }
                } else {
                    pairs = hosts.filter { $0 != to }.map { ($0, to, toNode) }
                }
            }

            // What each flow is.
            let kindNode = try f.required("kind", in: source, valid: "udp, bulk")
            let kindName = try source.scalar(kindNode, f.path("kind"), expected: "udp or bulk")
            let sizeNode = try f.required("size", in: source, valid: "a size such as 1MiB")
            let size = try source.size(sizeNode, f.path("size"))
            guard size > 0 else { throw source.error(sizeNode, f.path("size"), "a flow of 0 bytes", valid: "a size above 0") }
            let start = try f["start"].map { n throws(TopologyError) in try source.time(n, f.path("start")) } ?? 0
            let sport = try f["sport"].map { n throws(TopologyError) in try source.integer(n, f.path("sport"), in: 1...65535) }
            let dport = try f["dport"].map { n throws(TopologyError) in try source.integer(n, f.path("dport"), in: 1...65535) } ?? 20_000
            var kind = FlowSpec.Kind.bulk
            var payload = 1400
            switch kindName {
            case "udp":
                let rateNode = try f.required("rate", in: source, valid: "a rate such as 10Gbps")
                kind = .udp(rate: try source.rate(rateNode, f.path("rate")))
                if let p = f["payload"] { payload = try source.size(p, f.path("payload")) }
                let smallest = pairs.map { mtu[$0.src] ?? 65535 }.min() ?? 65535
                guard payload >= 8, payload + 28 <= smallest else {
                    throw source.error(f["payload"] ?? item, f.path("payload"), "\(payload) bytes does not fit",
                                       valid: "8 to \(smallest - 28) bytes: the tag, up to the MTU (\(smallest)) less IPv4 and UDP headers")
                }
            case "bulk":
                for key in ["rate", "payload"] {
                    if let extra = f.pairs.first(where: { $0.key == key }) {
                        throw source.error(extra.keyNode, f.path(key), "does not apply to bulk flows (the transport sets their pace and segment size)",
                                           valid: (["pattern"] + own + common).filter { $0 != "rate" && $0 != "payload" }.joined(separator: ", "))
                    }
                }
            default:
                throw source.error(kindNode, f.path("kind"), "unknown flow kind '\(kindName)'" + TopologySource.didYouMean(kindName, ["udp", "bulk"]), valid: "udp, bulk")
            }

            for p in pairs {
                if p.src == p.dst {
                    throw source.error(p.at, f.path("to"), "'\(topology.nodes[p.src].name)' would send to itself", valid: "a different host")
                }
                let index = flows.count
                guard reach.connects(p.src, p.dst) else {
                    let from = topology.nodes[p.src].name, to = topology.nodes[p.dst].name
                    throw source.error(p.at, path, "flow \(index) (\(from) -> \(to)): " + Reachability.problem(from: from, to: to), valid: Reachability.valid)
                }
                guard sport != nil || index <= 65535 - 10_000 else {
                    throw source.error(item, path, "flow \(index) has no default source port left", valid: "sport, or fewer flows")
                }
                flows.append(FlowSpec(kind: kind, src: p.src, dst: p.dst, bytes: size, payload: payload, start: start,
                                      srcPort: UInt16(sport ?? 10_000 + index), dstPort: UInt16(dport), origin: source.origin(item)))
            }
        }
        return flows
    }

    /// Host i sends to host (i + offset) mod count (positions in the host list).
    static func shift(_ count: Int, offset: Int) -> [(Int, Int)] {
        (0..<count).map { i in (i, ((i + offset) % count + count) % count) }
    }

    /// A random permutation of 0..<count with no fixed point, uniform over all of them (shuffle
    /// and retry; about e tries on average). The same seed gives the same result everywhere.
    static func derangement(_ count: Int, seed: UInt64) -> [Int] {
        precondition(count >= 2)
        var rng = SplitMix64(seed: seed)
        while true {
            var p = Array(0..<count)
            for i in stride(from: count - 1, to: 0, by: -1) {
                // Fisher-Yates with a multiply-shift draw: no modulo, same on every platform.
                let j = Int(rng.next().multipliedFullWidth(by: UInt64(i + 1)).high)
                p.swapAt(i, j)
            }
            if !p.enumerated().contains(where: { $0.offset == $0.element }) { return p }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceControlPlane
import SluiceIR
import SluiceRuntime
import Yams

// MARK: - the document

/// A value and where it was set, so a later check can point at it.
struct Setting<Value> {
    var value: Value
    var node: Node
    var field: String
}

/// Switch fields from `defaults.switch`, a kind or a node; later ones override earlier ones.
struct SwitchFields {
    var program: Setting<String>?
    var entries: Setting<String>?
    var routing: Setting<RoutingField>?
    var pipelineLatency: Int64?
    var buffer: Int?
    var groups: NextHopGroupKind?
    var groupBuckets: Int?

    static let keys = ["program", "entries", "routing", "pipeline-latency", "buffer", "groups", "group-buckets"]

    init() {}

    init(_ f: Fields, in source: TopologySource) throws(TopologyError) {
        if let n = f["program"] {
            // A built-in program's name, or a program file's path (checked when the switch is read).
            let text = try source.scalar(n, f.path("program"), expected: "a program name or a program file")
            program = Setting(value: ProgramFile.looksLikePath(text) ? text : try source.name(n, f.path("program")), node: n, field: f.path("program"))
        }
        if let n = f["entries"] {
            entries = Setting(value: try source.scalar(n, f.path("entries"), expected: "a file name"), node: n, field: f.path("entries"))
        }
        if let n = f["routing"] { routing = Setting(value: try RoutingField(n, f.path("routing"), in: source), node: n, field: f.path("routing")) }
        if let n = f["pipeline-latency"] { pipelineLatency = try source.time(n, f.path("pipeline-latency")) }
        if let n = f["buffer"] { buffer = try source.size(n, f.path("buffer")) }
        if let n = f["groups"] {
            let text = try source.scalar(n, f.path("groups"), expected: "a group kind")
            guard let g = NextHopGroupKind(rawValue: text) else {
                throw source.error(n, f.path("groups"), "unknown next-hop group kind '\(text)'",
                                   valid: NextHopGroupKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            groups = g
        }
        if let n = f["group-buckets"] { groupBuckets = try source.integer(n, f.path("group-buckets"), in: 1...4096) }
    }

    func overlaid(by o: SwitchFields) -> SwitchFields {
        var r = self
        if let v = o.program { r.program = v }
        if let v = o.entries { r.entries = v }
        if let v = o.routing { r.routing = v }
        if let v = o.pipelineLatency { r.pipelineLatency = v }
        if let v = o.buffer { r.buffer = v }
        if let v = o.groups { r.groups = v }
        if let v = o.groupBuckets { r.groupBuckets = v }
        return r
    }
}

/// A switch's `routing`: true, false, or the name of a program the routing controller fills
/// whose route tables this switch's program shares (a program file made from it, or a variant).
enum RoutingField: Equatable {
    case on, off
    case like(String)

    init(_ node: Node, _ field: String, in source: TopologySource) throws(TopologyError) {
        let text = try source.scalar(node, field, expected: "true, false or a program name")
        if let b = TopologySource.boolean(text) {
            self = b ? .on : .off
            return
        }
        let names = source.programs.routedNames
        guard names.contains(text) else {
            throw source.error(node, field, "'\(text)' is neither a boolean nor a program the routing controller fills" + TopologySource.didYouMean(text, names),
                               valid: "true, false, or one of \(names.joined(separator: ", ")) (route this switch's program as that program's tables are routed)")
        }
        self = .like(text)
    }
}

/// A node before addresses are assigned and programs checked.
struct NodeDraft {
    var name: String
    var isHost: Bool
    /// Where it was declared (a `nodes` entry, or the generator) and its field path.
    var node: Node?
    var field: String
    var generated: Bool
    var switchFields = SwitchFields()
    var ipv4: Setting<UInt32>?
    var mac: Setting<UInt64>?
    var partition: Int?
}

/// One reading of one document.
struct TopologyReader {
    let source: TopologySource
    let seed: UInt64

    static let topLevel = ["name", "topology", "traffic", "jobs", "transport", "until", "events", "routing"]
    static let topologyKeys = ["generator", "defaults", "kinds", "nodes", "links"]
    static let linkKeys = ["rate", "delay", "mtu", "loss", "queue", "capture"]
    static let hostKeys = ["kind", "ipv4", "mac", "partition"]
    static let switchKeys = ["kind"] + SwitchFields.keys + ["mac", "partition"]

    func read(_ root: Node) throws(TopologyError) -> TopologySpec {
        let top = try Fields(root, path: "", allowed: Self.topLevel, in: source)
        let name = try top["name"].map { n throws(TopologyError) in try source.scalar(n, "name", expected: "a name") }
            ?? defaultName
        let topologyNode = try top.required("topology", in: source, valid: "a mapping of " + Self.topologyKeys.joined(separator: ", "))
        let topo = try Fields(topologyNode, path: "topology", allowed: Self.topologyKeys, in: source)

        // Defaults.
        var linkDefaults = LinkSpec(a: Endpoint(node: 0, port: 0), b: Endpoint(node: 0, port: 0))
        var switchDefaults = SwitchFields()
        if let d = topo["defaults"] {
            let defaults = try Fields(d, path: "defaults", allowed: ["link", "switch"], in: source)
            if let l = defaults["link"] {
                linkDefaults = try readLink(try Fields(l, path: "defaults.link", allowed: Self.linkKeys, in: source), over: linkDefaults)
            }
            if let s = defaults["switch"] {
                switchDefaults = try SwitchFields(try Fields(s, path: "defaults.switch", allowed: SwitchFields.keys, in: source), in: source)
            }
        }

        // Kinds.
        var kinds: [(name: String, isHost: Bool, fields: SwitchFields)] = []
        if let k = topo["kinds"] {
            let m = try source.mapping(k, "kinds", valid: "name: {kind: switch, program: …}")
            for (keyNode, value) in m {
                let kindName = try source.name(keyNode, "kinds")
                let path = "kinds.\(kindName)"
                if kindName == "host" || kindName == "switch" {
                    throw source.error(keyNode, path, "'\(kindName)' is a built-in kind", valid: kindName == "switch" ? "defaults.switch for every switch, or another name" : "another name")
                }
                if kinds.contains(where: { $0.name == kindName }) { throw source.error(keyNode, path, "given twice") }
                let f = try Fields(value, path: path, allowed: ["kind"] + SwitchFields.keys, in: source)
                var isHost = false
                if let kn = f["kind"] {
                    let base = try source.scalar(kn, f.path("kind"), expected: "host or switch")
                    guard base == "host" || base == "switch" else {
                        throw source.error(kn, f.path("kind"), "unknown kind '\(base)'" + TopologySource.didYouMean(base, ["host", "switch"]), valid: "host, switch")
                    }
                    isHost = base == "host"
                }
                if isHost, let extra = f.pairs.first(where: { $0.key != "kind" }) {
                    throw source.error(extra.keyNode, f.path(extra.key), "a host has no '\(extra.key)'", valid: "kind")
                }
                kinds.append((kindName, isHost, try SwitchFields(f, in: source)))
            }
        }

        // Generator.
        var drafts: [NodeDraft] = []
        var generatedLinks: [Generators.Link] = []
        if let g = topo["generator"] {
            let generated = try Generators.read(g, in: source)
            for n in generated.nodes {
                drafts.append(NodeDraft(name: n.name, isHost: n.isHost, node: g, field: "nodes.\(n.name)", generated: true))
            }
            generatedLinks = generated.links
        }
        var index: [String: Int] = [:]
        for (i, d) in drafts.enumerated() { index[d.name] = i }

        // Nodes.
        if let ns = topo["nodes"] {
            let m = try source.mapping(ns, "nodes", valid: "name: {kind: host} or name: {kind: switch, program: …}")
            let kindNames = ["host", "switch"] + kinds.map(\.name)
            for (keyNode, value) in m {
                let name = try source.name(keyNode, "nodes")
                let path = "nodes.\(name)"
                let existing = index[name]
                if let e = existing, !drafts[e].generated {
                    throw source.error(keyNode, path, "given twice (first on line \(drafts[e].node?.mark?.line ?? 1))")
                }
                let all = ["kind", "ipv4", "mac", "partition"] + SwitchFields.keys
                let f = try Fields(value, path: path, allowed: all, in: source)
                var isHost: Bool
                var template = SwitchFields()
                if let kn = f["kind"] {
                    let k = try source.scalar(kn, f.path("kind"), expected: "a kind")
                    if k == "host" { isHost = true } else if k == "switch" { isHost = false } else if let t = kinds.first(where: { $0.name == k }) {
                        isHost = t.isHost; template = t.fields
                    } else {
                        throw source.error(kn, f.path("kind"), "unknown kind '\(k)'" + TopologySource.didYouMean(k, kindNames), valid: kindNames.joined(separator: ", "))
                    }
                    if let e = existing, drafts[e].isHost != isHost {
                        throw source.error(kn, f.path("kind"), "the generator made '\(name)' a \(drafts[e].isHost ? "host" : "switch")",
                                           valid: drafts[e].isHost ? "host" : "switch or a switch kind")
                    }
                } else if let e = existing {
                    isHost = drafts[e].isHost
                } else {
                    throw source.error(value, f.path("kind"), "missing", valid: kindNames.joined(separator: ", "))
                }
                let allowed = isHost ? Self.hostKeys : Self.switchKeys
                if let extra = f.pairs.first(where: { !allowed.contains($0.key) }) {
                    throw source.error(extra.keyNode, f.path(extra.key), "a \(isHost ? "host" : "switch") has no '\(extra.key)'",
                                       valid: allowed.joined(separator: ", "))
                }
                var d = existing.map { drafts[$0] } ?? NodeDraft(name: name, isHost: isHost, node: keyNode, field: path, generated: false)
                d.node = keyNode; d.field = path; d.generated = false
                if !isHost { d.switchFields = d.switchFields.overlaid(by: template).overlaid(by: try SwitchFields(f, in: source)) }
                if let n = f["ipv4"] { d.ipv4 = Setting(value: try source.ipv4(n, f.path("ipv4")), node: n, field: f.path("ipv4")) }
                if let n = f["mac"] { d.mac = Setting(value: try source.mac(n, f.path("mac")), node: n, field: f.path("mac")) }
                if let n = f["partition"] {
                    d.partition = try source.integer(n, f.path("partition"), in: 0...65535,
                                                     valid: "a partition number from 0 (parallel runs: sluice emulate --threads N)")
                }
                if let e = existing { drafts[e] = d } else { index[name] = drafts.count; drafts.append(d) }
            }
        }

        var spec = TopologySpec(name: name)
        spec.nodes = try resolveNodes(drafts, switchDefaults: switchDefaults)

        // Links: the generator's, then the file's.
        var links = LinkTable(source: source, nodes: spec.nodes, drafts: drafts)
        for l in generatedLinks {
            var link = linkDefaults
            link.a = l.a; link.b = l.b
            if let r = l.rate { link.rate = r }
            let who = "the generated link \(spec.nodes[l.a.node].name):\(l.a.port) -- \(spec.nodes[l.b.node].name):\(l.b.port)"
            try links.add(link, by: who, at: topo["generator"], field: "generator")
        }
        if let ls = topo["links"] {
            let items = try source.sequence(ls, "links", valid: "- endpoints: [\"s1:p1\", \"h1:eth0\"]")
            for (i, item) in items.enumerated() {
                let path = "links[\(i)]"
                let f = try Fields(item, path: path, allowed: ["endpoints"] + Self.linkKeys, in: source)
                let endpointsNode = try f.required("endpoints", in: source, valid: "[\"node:port\", \"node:port\"]")
                let ends = try source.sequence(endpointsNode, f.path("endpoints"), valid: "[\"node:port\", \"node:port\"]")
                guard ends.count == 2 else {
                    throw source.error(endpointsNode, f.path("endpoints"), "expected two endpoints, got \(ends.count)", valid: "[\"node:port\", \"node:port\"]")
                }
                var link = try readLink(f, over: linkDefaults)
                link.a = try links.endpoint(ends[0], field: "\(path).endpoints[0]")
                link.b = try links.endpoint(ends[1], field: "\(path).endpoints[1]")
                link.origin = source.origin(item)
                try links.add(link, by: path, at: item, field: "\(path).endpoints", ends: ends)
            }
        }
        try links.checkHosts()
        spec.links = links.links

        if let t = top["traffic"] {
            spec.flows = try Traffic.read(t, topology: spec, in: source, seed: seed)
        }
        if let u = top["until"] { spec.until = try source.time(u, "until") }
        if let t = top["transport"] {
            let text = try source.scalar(t, "transport", expected: "a packet shape")
            guard let shape = TransportShape(rawValue: text) else {
                throw source.error(t, "transport", "unknown packet shape '\(text)'" + TopologySource.didYouMean(text, TransportShape.allCases.map(\.rawValue)),
                                   valid: TransportShape.allCases.map(\.rawValue).joined(separator: ", "))
            }
            spec.transport = shape
        }
        if let j = top["jobs"] { spec.jobs = try readJobs(j, topology: spec) }
        if let r = top["routing"] { spec.routing = try readRoutingPolicy(r, topology: spec) }
        if let e = top["events"] { spec.events = try readEvents(e, topology: spec, links: links) }
        return spec
    }

    var defaultName: String {
        var base = Substring(source.file)
        if let slash = base.lastIndex(of: "/") { base = base[base.index(after: slash)...] }
        for ext in [".yaml", ".yml"] where base.hasSuffix(ext) { base = base.dropLast(ext.count) }
        return String(base)
    }

    /// Link fields over `base`; `queue` changes only the fields it names.
    func readLink(_ f: Fields, over base: LinkSpec) throws(TopologyError) -> LinkSpec {
        var l = base
        if let n = f["rate"] { l.rate = try source.rate(n, f.path("rate")) }
        if let n = f["delay"] { l.delay = try source.time(n, f.path("delay")) }
        if let n = f["mtu"] { l.mtu = try source.integer(n, f.path("mtu"), in: 68...65535) }
        if let n = f["loss"] {
            l.loss = try source.probability(n, f.path("loss"))
            guard l.loss < 1 else { throw source.error(n, f.path("loss"), "a link that loses every packet", valid: "a probability below 1") }
        }
        if let n = f["capture"] {
            // true, false, or a snap length: capture, cutting frames to that many bytes.
            if case .scalar(let text) = n, text.string.first?.isNumber == true {
                l.captureSnaplen = try source.integer(n, f.path("capture"), in: 14...262_144,
                                                      valid: "true, false, or a snap length in bytes from 14 to 262144 (capture: 128)")
                l.capture = true
            } else {
                l.capture = try source.bool(n, f.path("capture"))
            }
        }
        if let q = f["queue"] {
            let qf = try Fields(q, path: f.path("queue"), allowed: ["limit", "ecn"], in: source)
            if let n = qf["limit"] {
                let limit = try source.units(n, qf.path("limit"), expected: "a size such as 4MB or a packet count such as 1000p", Units.queueLimit)
                switch limit {
                case .bytes(let b): l.queue.limitBytes = b; l.queue.limitPackets = nil
                case .packets(let p): l.queue.limitPackets = p; l.queue.limitBytes = nil
                }
            }
            if let n = qf["ecn"] {
                if case .scalar = n {
                    guard try source.bool(n, qf.path("ecn")) == false else {
                        throw source.error(n, qf.path("ecn"), "ECN needs thresholds", valid: "{kmin: 64KB, kmax: 64KB, pmax: 1}, or off")
                    }
                    l.queue.ecn = nil
                } else {
                    let ef = try Fields(n, path: qf.path("ecn"), allowed: ["kmin", "kmax", "pmax"], in: source)
                    let kminNode = try ef.required("kmin", in: source, valid: "a size such as 64KB")
                    let kmin = try source.size(kminNode, ef.path("kmin"))
                    let kmax = try ef["kmax"].map { n throws(TopologyError) in try source.size(n, ef.path("kmax")) } ?? kmin
                    guard kmax >= kmin else {
                        throw source.error(ef["kmax"], ef.path("kmax"), "\(kmax) bytes is below kmin (\(kmin) bytes)", valid: "at least kmin")
                    }
                    var pmax = 1.0
                    if let p = ef["pmax"] {
                        pmax = try source.probability(p, ef.path("pmax"))
                        guard pmax > 0 else { throw source.error(p, ef.path("pmax"), "0 would never mark", valid: "a probability above 0, at most 1") }
                    }
                    l.queue.ecn = ECNSpec(kmin: kmin, kmax: kmax, pmax: pmax)
                }
            }
        }
        return l
    }
}

/// Links as they are added, with the checks that need all of them: ports used once, hosts on
/// exactly one link.
struct LinkTable {
    let source: TopologySource
    let nodes: [NodeSpec]
    let drafts: [NodeDraft]
    var links: [LinkSpec] = []
    /// Who uses a port: "links[0] (line 12)" or "the generated link leaf1:5 -- spine1:1".
    var used: [Endpoint: String] = [:]
    var hostLink: [Int: String] = [:]
    let index: [String: Int]

    init(source: TopologySource, nodes: [NodeSpec], drafts: [NodeDraft]) {
        self.source = source; self.nodes = nodes; self.drafts = drafts
        var index: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { index[n.name] = i }
        self.index = index
    }

    /// `node:port`, with the port number the trailing integer of the port name.
    func endpoint(_ node: Node, field: String) throws(TopologyError) -> Endpoint {
        try endpoint(try source.scalar(node, field, expected: "node:port"), at: node, field: field)
    }

    /// `text` (`node:port`) read as an endpoint; errors point at `node`.
    func endpoint(_ text: String, at node: Node, field: String) throws(TopologyError) -> Endpoint {
        guard let colon = text.lastIndex(of: ":") else {
            throw source.error(node, field, "'\(text)' has no port", valid: "node:port, e.g. s1:p1 or h1:eth0")
        }
        let name = String(text[..<colon]), portName = text[text.index(after: colon)...]
        guard let n = index[name] else {
            throw source.error(node, field, "unknown node '\(name)' in '\(text)'" + TopologySource.didYouMean(name, nodes.map(\.name)),
                               valid: TopologySource.choices(nodes.map(\.name)))
        }
        let digits = portName.reversed().prefix { $0.isASCII && $0.isNumber }.reversed()
        guard !digits.isEmpty else {
            throw source.error(node, field, "port '\(portName)' in '\(text)' has no number", valid: "a port name ending in a number, e.g. p1, eth0, 3")
        }
        guard let port = UInt16(String(digits)) else {
            throw source.error(node, field, "port number \(String(digits)) in '\(text)' is out of range", valid: "0 to 65535")
        }
        return Endpoint(node: n, port: port)
    }

    mutating func add(_ link: LinkSpec, by who: String, at where_: Node?, field: String, ends: [Node]? = nil) throws(TopologyError) {
        let line = where_?.mark?.line ?? 1
        let user = ends == nil ? who : "\(who) (line \(line))"
        if link.a.node == link.b.node {
            throw source.error(ends?[1] ?? where_, field, "both ends are on '\(nodes[link.a.node].name)'", valid: "two different nodes")
        }
        for (i, e) in [link.a, link.b].enumerated() {
            let at = ends?[i] ?? where_
            let f = ends == nil ? field : "\(field)[\(i)]"
            let name = nodes[e.node].name
            if nodes[e.node].isHost, let other = hostLink[e.node] {
                throw source.error(at, f, "host '\(name)' already has a link: \(other)", valid: "exactly one link per host")
            }
            if let other = used[e] {
                var free: UInt16 = 1
                while used[Endpoint(node: e.node, port: free)] != nil && free < .max { free += 1 }
                throw source.error(at, f, "port \(e.port) of '\(name)' is already used by \(other)", valid: "a free port, e.g. \(name):p\(free)")
            }
        }
        guard link.a != link.b else { throw source.error(where_, field, "both ends are the same port") }
        for e in [link.a, link.b] {
            used[e] = user
            if nodes[e.node].isHost { hostLink[e.node] = user }
        }
        links.append(link)
    }

    /// Every host has its one link.
    func checkHosts() throws(TopologyError) {
        for (n, node) in nodes.enumerated() where node.isHost && hostLink[n] == nil {
            throw source.error(drafts[n].node, drafts[n].field, "host '\(node.name)' has no link", valid: "exactly one link per host")
        }
    }
}

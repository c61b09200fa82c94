#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluicePrograms
import SluiceIR
import SluiceRuntime
import Yams

/// Reads a topology file (YAML, shaped like containerlab's) into a `TopologySpec`: generators
/// expanded, defaults and kinds applied, units converted, names resolved, traffic patterns
/// expanded. Every problem is a `TopologyError` naming the file, line, field and what would be
/// valid; the first one found is thrown.
///
/// ```yaml
/// name: leafspine-16                 # optional; default: the file name without .yaml
/// topology:
///   generator:                       # optional; makes nodes and links first
///     leaf-spine: {spines: 2, leaves: 4, hosts-per-leaf: 4}
///   defaults:                        # for every link / switch unless it says otherwise
///     link: {rate: 100Gbps, delay: 1us, mtu: 9000, loss: 0, capture: false,
///            queue: {limit: 4MB, ecn: {kmin: 64KB, kmax: 64KB, pmax: 1.0}}}
///     switch: {program: ecmp-router, pipeline-latency: 0ns}
///   kinds:                           # named node templates
///     tor: {program: ecmp-router, entries: tor.entries}
///   nodes:                           # new nodes, or changes to generated ones (by name)
///     s1: {kind: switch, program: ipv4-router, entries: s1.entries, routing: false,
///          pipeline-latency: 500ns, buffer: 16MiB}
///     t1: {kind: tor}
///     h1: {kind: host, ipv4: 10.0.0.1, mac: "02:00:00:00:00:01"}
///   links:                           # added after the generator's
///     - endpoints: ["s1:p1", "h1:eth0"]
///     - endpoints: ["s1:p2", "t1:p1"]
///       rate: 10Gbps
///       delay: 2us
///       queue: {limit: 1000p, ecn: off}
///       capture: true
/// traffic:
///   - {kind: udp, from: h1, to: h2, rate: 45Gbps, size: 10MB, payload: 4000B, start: 0us}
///   - {kind: bulk, from: h1, to: h3, size: 1MiB, sport: 4000, dport: 4791}
///   - {pattern: shift, offset: 8, kind: udp, rate: 45Gbps, size: 10000000, payload: 4000}
///   - {pattern: permutation, kind: bulk, size: 1MiB}
///   - {pattern: incast, to: h1, from: [h2, h3, h4], kind: bulk, size: 1MiB}
/// until: 10ms                        # optional end of the run
/// ```
///
/// Fields:
/// - Links: `rate` (bps, Kbps, Mbps, Gbps, Tbps; default 100Gbps), `delay` (ps, ns, us, ms, s;
///   default 1us), `mtu` (bytes of IP packet, 68 to 65535; default 9000), `loss` (a probability
///   below 1: `0.001` or `0.1%`; default 0), `queue.limit` (a size: B, KB, MB, GB, KiB, MiB, GiB
///   or a plain number of bytes; or packets: `1000p`, `1000 packets`; default 4MiB),
///   `queue.ecn` (`{kmin, kmax, pmax}`: sizes and a probability; `kmax` defaults to `kmin`,
///   `pmax` to 1; `off` for none; default none), `capture` (bool; default false). A link's
///   `queue` changes only the fields it names.
/// - Endpoints are `node:port`; the port number is the trailing integer of the port name
///   (`p3` is 3, `eth0` is 0, `3` is 3). A port joins one link; a host has exactly one link.
/// - Nodes: `kind` is `host`, `switch` or a name under `kinds` (required for a new node).
///   Switches: `program` (a name from `sluice programs`; required here, in the kind or in
///   `defaults.switch`), `entries` (an entries file, relative to the topology file),
///   `routing` (let the routing controller install routes; default: true without `entries`),
///   `pipeline-latency` (a time), `buffer` (a size shared by the switch's queues), `groups`
///   (how routing builds next-hop groups: `equal`, plain ECMP, the default; `weighted`, buckets
///   in proportion to each member's link rate; `resilient`, weighted buckets where a removed
///   member's flows alone move), `group-buckets` (buckets of weighted/resilient groups, 1 ...
///   4096, default 64). Hosts:
///   `ipv4` (default: the k-th host in node order is 10.0.0.0 + k). Both: `mac` (default: node
///   index n gets 02:00:00:00:00:00 + n + 1).
/// - Generators (see `Generators` for names and port layouts): `leaf-spine {spines, leaves,
///   hosts-per-leaf}`, `fat-tree {k}`, `dumbbell {hosts-per-side, bottleneck-rate}`,
///   `star {hosts}`. Their nodes come first, in the generator's order, then the file's.
/// - Traffic (see `Traffic`): `kind` `udp` (needs `rate`) or `bulk`; `size` (bytes to deliver),
///   `payload` (bytes per packet, default 1400), `start` (default 0), `sport` (default 10000 +
///   the flow's index), `dport` (default 20000); `from`/`to` hosts, or a `pattern`: `shift`
///   (`offset`), `permutation` (seeded), `incast` (`to`, optional `from` list).
///
/// Quantities are exact: decimals are read as integers (`1.5us` is 1,500,000 ps), and a value
/// that is not a whole number of the base unit is an error.
public enum TopologyFile {
    /// Reads and parses the file at `path`; entries files are relative to its directory.
    /// `seed` drives the random traffic patterns (`permutation`).
    public static func load(path: String, seed: UInt64 = 1) throws(TopologyError) -> TopologySpec {
        try load(path: path, seed: seed, programs: ProgramRegistry.all.map(\.name))
    }

    static func load(path: String, seed: UInt64, programs: [String]) throws(TopologyError) -> TopologySpec {
        let text = try readText(path)
        return try parse(text, file: path, baseDirectory: directory(of: path), seed: seed, programs: programs)
    }

    /// Parses a topology document. `file` names it in errors; `baseDirectory` is where relative
    /// entries paths start.
    public static func parse(_ text: String, file: String, baseDirectory: String, seed: UInt64 = 1) throws(TopologyError) -> TopologySpec {
        try parse(text, file: file, baseDirectory: baseDirectory, seed: seed,
                  programs: ProgramRegistry.all.map(\.name))
    }

    /// `programs`: the names a switch's `program` may take (tests pass their own).
    static func parse(_ text: String, file: String, baseDirectory: String, seed: UInt64, programs: [String]) throws(TopologyError) -> TopologySpec {
        let source = TopologySource(file: file, baseDirectory: baseDirectory, programs: programs)
        if let line = NestingLimit.firstLineTooDeep(text) {
            throw TopologyError(file: file, line: line, field: "", problem: "nested more than \(NestingLimit.maxDepth) levels deep",
                                valid: "a topology nests a few levels; this looks like damaged or generated YAML")
        }
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: text) else {
                throw source.error(nil, "", "the document is empty", valid: "a mapping with 'topology'")
            }
            root = r
        } catch let e as TopologyError {
            throw e
        } catch let e as YamlError {
            throw source.yamlError(e)
        } catch {
            throw source.error(nil, "", "malformed YAML: \(error)")
        }
        return try TopologyReader(source: source, seed: seed).read(root)
    }

    // MARK: files

    static func readText(_ path: String) throws(TopologyError) -> String {
        do { return try FileIO.readText(path) } catch {
            if error.unreadable { throw .unreadable(path, reason: error.reason) }
            throw TopologyError(file: path, line: nil, field: "", problem: "'\(path)': \(error.reason)")
        }
    }

    static func isReadable(_ path: String) -> Int32? {
        guard let f = fopen(path, "rb") else { return errno }
        defer { fclose(f) }
        var byte: UInt8 = 0
        _ = fread(&byte, 1, 1, f)
        return ferror(f) != 0 ? errno : nil
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `relative` against `base`, unless it is absolute or base is the current directory.
    static func resolve(_ relative: String, against base: String) -> String {
        if relative.hasPrefix("/") || base.isEmpty || base == "." { return relative }
        return base.hasSuffix("/") ? base + relative : base + "/" + relative
    }
}

// MARK: - reading YAML nodes with errors that point at them

/// The document being read: its name for errors, where relative paths start, which programs exist.
struct TopologySource {
    let file: String
    let baseDirectory: String
    let programs: [String]

    func error(_ node: Node?, _ field: String, _ problem: String, valid: String? = nil) -> TopologyError {
        TopologyError(file: file, line: node?.mark?.line ?? 1, field: field, problem: problem, valid: valid)
    }

    func origin(_ node: Node?) -> String { "\(file):\(node?.mark?.line ?? 1)" }

    func yamlError(_ e: YamlError) -> TopologyError {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let text = "malformed YAML: " + problem + (context.map { " " + $0.text } ?? "")
            return TopologyError(file: file, line: mark.line, field: "", problem: text)
        case .reader(let problem, _, _, _):
            return TopologyError(file: file, line: 1, field: "", problem: "malformed YAML: \(problem)")
        default:
            return TopologyError(file: file, line: 1, field: "", problem: "malformed YAML: \(e)")
        }
    }

    /// What kind of YAML value a node is, for "expected X, got Y".
    static func shape(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return isNull(s) ? "nothing" : "'\(s.string)'"
        }
    }

    static func isNull(_ s: Node.Scalar) -> Bool {
        s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// The text of a scalar that is there.
    func scalar(_ node: Node, _ field: String, expected: String) throws(TopologyError) -> String {
        guard case .scalar(let s) = node, !TopologySource.isNull(s) else {
            throw error(node, field, "expected \(expected), got \(TopologySource.shape(node))")
        }
        return s.string
    }

    func mapping(_ node: Node, _ field: String, valid: String) throws(TopologyError) -> Node.Mapping {
        guard case .mapping(let m) = node else {
            throw error(node, field, "expected a mapping, got \(TopologySource.shape(node))", valid: valid)
        }
        return m
    }

    func sequence(_ node: Node, _ field: String, valid: String) throws(TopologyError) -> [Node] {
        guard case .sequence(let s) = node else {
            throw error(node, field, "expected a list, got \(TopologySource.shape(node))", valid: valid)
        }
        return Array(s)
    }

    func units<T>(_ node: Node, _ field: String, expected: String, _ convert: (String) throws(Units.Problem) -> T) throws(TopologyError) -> T {
        let text = try scalar(node, field, expected: expected)
        do { return try convert(text) } catch { throw self.error(node, field, error.message, valid: error.valid) }
    }

    func rate(_ node: Node, _ field: String) throws(TopologyError) -> UInt64 {
        try units(node, field, expected: "a rate such as 100Gbps", Units.rate)
    }
    func time(_ node: Node, _ field: String) throws(TopologyError) -> Int64 {
        try units(node, field, expected: "a time such as 1us", Units.time)
    }
    func size(_ node: Node, _ field: String) throws(TopologyError) -> Int {
        try units(node, field, expected: "a size such as 4MiB", Units.size)
    }
    func probability(_ node: Node, _ field: String) throws(TopologyError) -> Double {
        try units(node, field, expected: "a probability such as 0.001", Units.probability)
    }

    func bool(_ node: Node, _ field: String) throws(TopologyError) -> Bool {
        let text = try scalar(node, field, expected: "true or false")
        switch text {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default: throw error(node, field, "'\(text)' is not a boolean", valid: "true, false")
        }
    }

    /// A whole number in `range`.
    func integer(_ node: Node, _ field: String, in range: ClosedRange<Int>, valid: String? = nil) throws(TopologyError) -> Int {
        let text = try scalar(node, field, expected: "a whole number")
        let digits = text.filter { $0 != "_" }
        let rangeText = valid ?? "\(range.lowerBound) to \(range.upperBound)"
        guard let v = Int(digits) else {
            throw error(node, field, "'\(text)' is not a whole number", valid: rangeText)
        }
        guard range.contains(v) else { throw error(node, field, "\(text) is out of range", valid: rangeText) }
        return v
    }

    /// A name (of a node, a kind, ...): a non-empty string without ':' or spaces.
    func name(_ node: Node, _ field: String) throws(TopologyError) -> String {
        let text = try scalar(node, field, expected: "a name")
        guard !text.contains(where: { $0 == ":" || $0 == " " || $0 == "\t" || $0 == "/" }) else {
            throw error(node, field, "'\(text)' is not a valid name", valid: "letters, digits, '-', '_' and '.'")
        }
        return text
    }

    func ipv4(_ node: Node, _ field: String) throws(TopologyError) -> UInt32 {
        let text = try scalar(node, field, expected: "an IPv4 address")
        guard let v = ValueSyntax.ipv4(text) else { throw error(node, field, "'\(text)' is not an IPv4 address", valid: "a.b.c.d, e.g. 10.0.0.1") }
        return v
    }

    func mac(_ node: Node, _ field: String) throws(TopologyError) -> UInt64 {
        let text = try scalar(node, field, expected: "a MAC address")
        guard let v = ValueSyntax.mac(text) else { throw error(node, field, "'\(text)' is not a MAC address", valid: "six hex bytes, e.g. 02:00:00:00:00:01") }
        return v
    }
}

/// A YAML mapping whose keys were checked: each is allowed, and none is given twice.
struct Fields {
    let node: Node
    let path: String
    let pairs: [(key: String, keyNode: Node, value: Node)]

    /// `path`: the mapping's own field path (empty at the top). `allowed` in the order to list them.
    init(_ node: Node, path: String, allowed: [String], in source: TopologySource) throws(TopologyError) {
        let m = try source.mapping(node, path, valid: allowed.joined(separator: ", "))
        self.node = node; self.path = path
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (k, v) in m {
            let key = try source.scalar(k, path, expected: "a field name")
            let field = Fields.join(path, key)
            if let first = pairs.first(where: { $0.key == key }) {
                throw source.error(k, field, "given twice (first on line \(first.keyNode.mark?.line ?? 1))")
            }
            if !allowed.contains(key) {
                throw source.error(k, field, "unknown field" + TopologySource.didYouMean(key, allowed), valid: allowed.joined(separator: ", "))
            }
            pairs.append((key, k, v))
        }
        self.pairs = pairs
    }

    subscript(key: String) -> Node? { pairs.first { $0.key == key }?.value }
    func path(_ key: String) -> String { Fields.join(path, key) }
    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// A field that must be there.
    func required(_ key: String, in source: TopologySource, valid: String? = nil) throws(TopologyError) -> Node {
        guard let v = self[key] else { throw source.error(node, path(key), "missing", valid: valid) }
        return v
    }
}

extension TopologySource {
    /// `; did you mean 'x'?` for the nearest of `names` (a third of the word's length apart, up to
    /// 3, or a longer name the word begins: `ecmp` for `ecmp-router`), or nothing.
    static func didYouMean(_ word: String, _ names: [String]) -> String {
        Suggest.didYouMean(word, names, maxDistance: max(1, min(3, word.count / 3)), prefixes: true).map { "; " + $0 } ?? ""
    }

    /// A list of names for "(valid: …)": all of them if few, else the first three and the last.
    static func choices(_ names: [String]) -> String {
        if names.isEmpty { return "none" }
        if names.count <= 10 { return names.joined(separator: ", ") }
        return names.prefix(3).joined(separator: ", ") + ", …, " + names.last!
    }
}

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
    var routing: Setting<Bool>?
    var pipelineLatency: Int64?
    var buffer: Int?
    var groups: ECMPRouter.GroupKind?
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
        if let n = f["routing"] { routing = Setting(value: try source.bool(n, f.path("routing")), node: n, field: f.path("routing")) }
        if let n = f["pipeline-latency"] { pipelineLatency = try source.time(n, f.path("pipeline-latency")) }
        if let n = f["buffer"] { buffer = try source.size(n, f.path("buffer")) }
        if let n = f["groups"] {
            let text = try source.scalar(n, f.path("groups"), expected: "a group kind")
            guard let g = ECMPRouter.GroupKind(rawValue: text) else {
                throw source.error(n, f.path("groups"), "unknown next-hop group kind '\(text)'",
                                   valid: ECMPRouter.GroupKind.allCases.map(\.rawValue).joined(separator: ", "))
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
}

/// One reading of one document.
struct TopologyReader {
    let source: TopologySource
    let seed: UInt64

    static let topLevel = ["name", "topology", "traffic", "jobs", "transport", "until"]
    static let topologyKeys = ["generator", "defaults", "kinds", "nodes", "links"]
    static let linkKeys = ["rate", "delay", "mtu", "loss", "queue", "capture"]
    static let hostKeys = ["kind", "ipv4", "mac"]
    static let switchKeys = ["kind"] + SwitchFields.keys + ["mac"]

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
                let all = ["kind", "ipv4", "mac"] + SwitchFields.keys
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
        return spec
    }

    /// `jobs:` entries: `{name, workload, hosts, switch, ...parameters}`. `hosts` is a list of
    /// host names, `all` (every host in node order) or a count (the first N hosts).
    func readJobs(_ node: Node, topology: TopologySpec) throws(TopologyError) -> [JobSpec] {
        let items = try source.sequence(node, "jobs", valid: "- {workload: ddp, hosts: all, model: 100MB}")
        let hostNames = topology.hosts.map { topology.nodes[$0].name }
        let reach = Reachability(topology)
        var jobs: [JobSpec] = []
        for (i, item) in items.enumerated() {
            let path = "jobs[\(i)]"
            let m = try source.mapping(item, path, valid: "workload, hosts, name, switch and the workload's parameters")
            var job = JobSpec(name: "job\(i + 1)", workload: "", hosts: hostNames, origin: source.origin(item), baseDirectory: source.baseDirectory)
            var sawWorkload = false
            var hostsNode: Node? = nil, switchNode: Node? = nil
            for (k, v) in m {
                let key = try source.scalar(k, path, expected: "a field name")
                let field = Fields.join(path, key)
                if job.parameters.contains(where: { $0.key == key }) { throw source.error(k, field, "given twice") }
                switch key {
                case "workload": job.workload = try source.scalar(v, field, expected: "a workload name"); sawWorkload = true
                case "name": job.name = try source.name(v, field)
                case "switch": job.aggregator = try source.scalar(v, field, expected: "a switch name"); switchNode = v
                case "hosts":
                    hostsNode = v
                    if case .scalar = v {
                        let text = try source.scalar(v, field, expected: "all, a count or a list of hosts")
                        if text == "all" { job.hosts = hostNames }
                        else if let n = Int(text), n >= 1, n <= hostNames.count { job.hosts = Array(hostNames.prefix(n)) }
                        else {
                            throw source.error(v, field, "'\(text)'", valid: "all, a count from 1 to \(hostNames.count), or a list of host names")
                        }
                    } else {
                        let list = try source.sequence(v, field, valid: "a list of host names, e.g. [h1, h2]")
                        var names: [String] = []
                        for (j, n) in list.enumerated() {
                            let name = try source.scalar(n, field + "[\(j)]", expected: "a host name")
                            guard hostNames.contains(name) else {
                                throw source.error(n, field + "[\(j)]", "unknown host '\(name)'" + TopologySource.didYouMean(name, hostNames), valid: TopologySource.choices(hostNames))
                            }
                            guard !names.contains(name) else { throw source.error(n, field + "[\(j)]", "'\(name)' is listed twice", valid: "each host once: one rank per host") }
                            names.append(name)
                        }
                        job.hosts = names
                    }
                default:
                    let text = try source.scalar(v, field, expected: "a value such as 100MB, 2ms or ring")
                    job.parameters.append(.init(key: key, text: text, origin: source.origin(v)))
                }
            }
            guard sawWorkload else { throw source.error(item, path + ".workload", "missing", valid: "a workload name such as ddp, fsdp, pipeline, moe, background") }
            // Every rank talks to others (and to the aggregating switch): all must share a path.
            if let first = job.hosts.first, let a = topology.node(named: first) {
                var ends = job.hosts.dropFirst().map { (name: $0, node: hostsNode ?? item, field: path + ".hosts") }
                if let sw = job.aggregator { ends.append((sw, switchNode ?? item, path + ".switch")) }
                for end in ends {
                    guard let b = topology.node(named: end.name), !reach.connects(a, b) else { continue }
                    throw source.error(end.node, end.field, "job '\(job.name)' (\(first) -> \(end.name)): " + Reachability.problem(from: first, to: end.name),
                                       valid: Reachability.valid)
                }
            }
            jobs.append(job)
        }
        return jobs
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
        if let n = f["capture"] { l.capture = try source.bool(n, f.path("capture")) }
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

    /// Assigns MACs and host addresses, applies switch defaults, checks programs and entries.
    func resolveNodes(_ drafts: [NodeDraft], switchDefaults: SwitchFields) throws(TopologyError) -> [NodeSpec] {
        var nodes: [NodeSpec] = []
        var macs: [UInt64: String] = [:]
        var addresses: [UInt32: String] = [:]
        var hostNumber: UInt32 = 0
        for (n, d) in drafts.enumerated() {
            let origin = d.generated ? "" : source.origin(d.node)
            let mac = d.mac?.value ?? (0x0200_0000_0000 | UInt64(n + 1))
            if let other = macs[mac] {
                throw source.error(d.mac?.node ?? d.node, d.mac?.field ?? d.field, "\(Self.macText(mac)) is already the MAC of '\(other)'", valid: "a MAC no other node has")
            }
            macs[mac] = d.name
            if d.isHost {
                hostNumber += 1
                let address = d.ipv4?.value ?? (0x0A00_0000 &+ hostNumber)
                if let other = addresses[address] {
                    throw source.error(d.ipv4?.node ?? d.node, d.ipv4?.field ?? d.field,
                                       "\(Self.ipv4Text(address)) is already the address of '\(other)'", valid: "an address no other host has")
                }
                addresses[address] = d.name
                nodes.append(NodeSpec(name: d.name, kind: .host(HostSpec(ipv4: address)), mac: mac, origin: origin))
            } else {
                let f = switchDefaults.overlaid(by: d.switchFields)
                guard let program = f.program else {
                    let hint = d.generated ? "set defaults.switch.program" : "set it here, in its kind or in defaults.switch"
                    throw source.error(d.node, d.field, "switch '\(d.name)' has no program; \(hint)", valid: source.programs.joined(separator: ", "))
                }
                // A program file (`sluice compile P --emit program`), relative to the topology file.
                let isFile = ProgramFile.looksLikePath(program.value)
                let programName = isFile ? TopologyFile.resolve(program.value, against: source.baseDirectory) : program.value
                if isFile {
                    do { _ = try ProgramFile.load(path: programName) } catch {
                        throw source.error(program.node, program.field, "\(error)", valid: "a program file that `sluice compile PROGRAM --emit program` wrote, relative to the topology file")
                    }
                } else if !source.programs.contains(program.value) {
                    throw source.error(program.node, program.field, "unknown program '\(program.value)'" + TopologySource.didYouMean(program.value, source.programs),
                                       valid: source.programs.joined(separator: ", ") + ", or a program file (.json)")
                }
                var entries: String? = nil
                if let e = f.entries {
                    let path = TopologyFile.resolve(e.value, against: source.baseDirectory)
                    if let code = TopologyFile.isReadable(path) {
                        throw source.error(e.node, e.field, "cannot read '\(path)': \(FileIO.reason(code))",
                                           valid: "an entries file, relative to the topology file")
                    }
                    entries = path
                }
                let routing = f.routing?.value ?? (entries == nil)
                if routing && !RoutingController.programs.contains(program.value) {
                    // Caught here rather than when the emulator starts, so the error has a line.
                    let names = RoutingController.programs.joined(separator: ", ")
                    let problem = "the routing controller fills only switches running \(names), and '\(d.name)' runs '\(program.value)'"
                    let valid = "program: one of \(names), or an entries file instead of routing"
                    if let r = f.routing { throw source.error(r.node, r.field, problem, valid: valid) }
                    throw source.error(program.node, program.field, problem + " with no entries file", valid: valid)
                }
                let s = SwitchSpec(program: programName, entries: entries, routing: routing,
                                   pipelineLatency: f.pipelineLatency ?? 0, buffer: f.buffer,
                                   groups: f.groups ?? .equal, groupBuckets: f.groupBuckets ?? 64)
                nodes.append(NodeSpec(name: d.name, kind: .switch(s), mac: mac, origin: origin))
            }
        }
        return nodes
    }

    static func ipv4Text(_ a: UInt32) -> String { SluiceEmulator.ipv4Text(a) }
    static func macText(_ m: UInt64) -> String {
        (0..<6).map { i in
            let b = UInt8(truncatingIfNeeded: m >> UInt64(40 - 8 * i))
            return (b < 16 ? "0" : "") + String(b, radix: 16)
        }.joined(separator: ":")
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
        let text = try source.scalar(node, field, expected: "node:port")
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

#if canImport(Glibc)
import SluiceControlPlane
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceIR
import SluiceRuntime
import Yams

// MARK: - reading YAML nodes with errors that point at them

/// The document being read: its name for errors, where relative paths start, which programs exist.
struct TopologySource {
    let file: String
    let baseDirectory: String
    let programs: ProgramResolver

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
        guard let b = Self.boolean(text) else { throw error(node, field, "'\(text)' is not a boolean", valid: "true, false") }
        return b
    }

    /// The spellings of a boolean that topology files take, or nil for any other text.
    static func boolean(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default: return nil
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

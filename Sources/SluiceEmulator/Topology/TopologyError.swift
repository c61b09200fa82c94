/// What is wrong with a topology file, and where: rendered as
/// `file:line: field: what is wrong (valid: …)`, for example
/// `leafspine.yaml:12: links[3].rate: unknown unit 'Gbs' in '100Gbs' (valid: bps, Kbps, Mbps, Gbps, Tbps)`.
///
/// `field` is a path into the document (`links[3].rate`, `nodes.s1.program`, `traffic[0].from`;
/// sequence indices count from 0; paths under `topology:` leave that prefix out, except for an
/// unknown key of `topology` itself, `topology.nodez`). A file that cannot be read has no line and renders as just its
/// problem: `cannot read 'x.yaml': no such file`.
public struct TopologyError: Error, CustomStringConvertible, Hashable, Sendable {
    /// The topology file as the caller named it.
    public var file: String
    /// 1-based; nil when the file could not be read at all.
    public var line: Int?
    /// Where in the document; empty for problems of the document as a whole.
    public var field: String
    public var problem: String
    /// What would have been accepted, if there is a short answer.
    public var valid: String?

    public init(file: String, line: Int?, field: String, problem: String, valid: String? = nil) {
        self.file = file; self.line = line; self.field = field; self.problem = problem; self.valid = valid
    }

    /// `cannot read 'path': reason`.
    public static func unreadable(_ path: String, reason: String) -> TopologyError {
        TopologyError(file: path, line: nil, field: "", problem: "cannot read '\(path)': \(reason)")
    }

    public var description: String {
        var s = ""
        if let line { s += "\(file):\(line): " }
        if !field.isEmpty { s += field + ": " }
        s += problem
        if let valid { s += " (valid: \(valid))" }
        return s
    }
}

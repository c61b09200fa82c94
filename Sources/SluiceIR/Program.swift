/// A switch program as plain data: what every backend compiles and what the verifier checks.
///
/// The IR refers to everything by name (headers, fields, tables, actions, externs); backends
/// resolve names to integer slots once, when they compile. It is built by the `Sluice` DSL, but any
/// producer may build it directly.
public struct Program: Hashable, Sendable, Codable {
    public var name: String
    public var headerTypes: [HeaderType]
    /// Header instances in declaration order. A stack is one instance with `stackSize > 0`.
    public var headers: [HeaderInstance]
    /// User metadata: always valid, zero at the start of every packet, carried to egress.
    public var metadata: [FieldDecl]
    public var parser: Parser
    public var actions: [Action]
    public var tables: [Table]
    public var registers: [Register]
    public var counters: [Counter]
    public var meters: [Meter]
    public var digests: [Digest]
    public var ingress: [Stmt]
    /// Runs once per copy after the traffic manager; `nil` means the program has no egress stage.
    public var egress: [Stmt]?
    public var deparser: Deparser
    /// What a parser `reject` does: drop the packet (and count it), or run ingress with
    /// `standard.parserError` set so that the program decides.
    public var onParserReject: ParserRejectPolicy
    /// Error names a `verify` may raise, beyond the standard ones.
    public var errors: [String]
    public var doc: String
    /// Headers that carry metadata between the switch and its controller (P4's
    /// `@controller_header`); nil or empty when the program has none. Optional so that program
    /// files without them read and write as before.
    public var controllerHeaders: [ControllerHeader]?

    public init(
        name: String, headerTypes: [HeaderType] = [], headers: [HeaderInstance] = [],
        metadata: [FieldDecl] = [], parser: Parser = Parser(states: []), actions: [Action] = [],
        tables: [Table] = [], registers: [Register] = [], counters: [Counter] = [],
        meters: [Meter] = [], digests: [Digest] = [], ingress: [Stmt] = [], egress: [Stmt]? = nil,
        deparser: Deparser = Deparser(), onParserReject: ParserRejectPolicy = .drop,
        errors: [String] = [], doc: String = ""
    ) {
        self.name = name; self.headerTypes = headerTypes; self.headers = headers
        self.metadata = metadata; self.parser = parser; self.actions = actions; self.tables = tables
        self.registers = registers; self.counters = counters; self.meters = meters
        self.digests = digests; self.ingress = ingress; self.egress = egress
        self.deparser = deparser; self.onParserReject = onParserReject; self.errors = errors
        self.doc = doc
    }
}

/// A header that carries metadata between the switch and its controller, as P4's
/// `@controller_header("packet_in")` and `("packet_out")` do: what the program sends to the CPU
/// port starts with its `packetIn` header (the controller sees the header's fields as PacketIn
/// metadata and the rest as the payload); a controller's PacketOut enters at the CPU port with a
/// `packetOut` header built from its metadata in front of the payload.
public struct ControllerHeader: Hashable, Sendable, Codable {
    public enum Direction: String, Hashable, Sendable, Codable, CaseIterable {
        case packetIn = "packet_in", packetOut = "packet_out"
    }
    public var direction: Direction
    /// A header instance (not a stack) of the program.
    public var header: String
    public init(_ direction: Direction, header: String) { self.direction = direction; self.header = header }
}

public enum ParserRejectPolicy: String, Hashable, Sendable, Codable, CaseIterable { case drop, `continue` }

/// A field of a header type, of user metadata or of an action's parameters.
public struct FieldDecl: Hashable, Sendable, Codable {
    public var name: String
    /// 1 to 128 bits. Fields wider than 64 bits can be copied, compared for equality, sliced and
    /// matched in tables, but not used in arithmetic.
    public var width: Int
    /// Signed fields compare and shift as two's complement.
    public var signed: Bool
    public init(_ name: String, _ width: Int, signed: Bool = false) {
        self.name = name; self.width = width; self.signed = signed
    }
}

public struct HeaderType: Hashable, Sendable, Codable {
    public var name: String
    public var fields: [FieldDecl]
    public init(_ name: String, fields: [FieldDecl]) { self.name = name; self.fields = fields }
    public var bitWidth: Int { fields.reduce(0) { $0 + $1.width } }
    public var byteWidth: Int { bitWidth / 8 }
    public func field(named n: String) -> FieldDecl? { fields.first { $0.name == n } }
    /// Bit offset of a field from the start of the header (big-endian, network order).
    public func bitOffset(of n: String) -> Int? {
        var off = 0
        for f in fields { if f.name == n { return off }; off += f.width }
        return nil
    }
}

public struct HeaderInstance: Hashable, Sendable, Codable {
    public var name: String
    public var type: String
    /// 0 for a plain header; N for a header stack of N elements.
    public var stackSize: Int
    public init(_ name: String, type: String, stackSize: Int = 0) {
        self.name = name; self.type = type; self.stackSize = stackSize
    }
    public var isStack: Bool { stackSize > 0 }
}

public struct Deparser: Hashable, Sendable, Codable {
    /// Statements run before emitting: typically checksum updates.
    public var statements: [Stmt]
    /// Emit order. Invalid headers (and invalid stack elements) are skipped.
    public var emit: [String]
    public init(statements: [Stmt] = [], emit: [String] = []) {
        self.statements = statements; self.emit = emit
    }
}

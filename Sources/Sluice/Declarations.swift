import SluiceIR

/// `header ethernet_t { ... }`
public struct HeaderType: ProgramComponent {
    let type: SluiceIR.HeaderType
    public init(_ name: String, @FieldBuilder fields: () -> [FieldDecl]) { type = .init(name, fields: fields()) }
    public func add(to p: inout Program) { p.headerTypes.append(type) }
}

/// A header instance of a declared type.
public struct Header: ProgramComponent {
    let instance: HeaderInstance
    public init(_ name: String, _ type: String) { instance = HeaderInstance(name, type: type) }
    public func add(to p: inout Program) { p.headers.append(instance) }
}

/// A stack of `size` headers of one type (INT's metadata stack, MPLS labels).
public struct HeaderStack: ProgramComponent {
    let instance: HeaderInstance
    public init(_ name: String, _ type: String, size: Int) { instance = HeaderInstance(name, type: type, stackSize: size) }
    public func add(to p: inout Program) { p.headers.append(instance) }
}

/// User metadata fields, zero at the start of every packet.
public struct Metadata: ProgramComponent {
    let fields: [FieldDecl]
    public init(@FieldBuilder _ fields: () -> [FieldDecl]) { self.fields = fields() }
    public func add(to p: inout Program) { p.metadata += fields }
}

/// Program-specific parser error names, for `Verify`.
public struct Errors: ProgramComponent {
    let names: [String]
    public init(_ names: String...) { self.names = names }
    public func add(to p: inout Program) { p.errors += names }
}

/// What a parser reject does: `.drop` (the default; dropped and counted) or `.continue` into
/// ingress with `standard.parserError` set.
public struct OnParserReject: ProgramComponent {
    let policy: ParserRejectPolicy
    public init(_ policy: ParserRejectPolicy) { self.policy = policy }
    public func add(to p: inout Program) { p.onParserReject = policy }
}

/// An action parameter of `width` bits, supplied by table entries.
public struct Param: Sendable {
    let decl: FieldDecl
    public init(_ name: String, _ width: Int, signed: Bool = false) { decl = FieldDecl(name, width, signed: signed) }
}

/// `action name(params) { body }`; the body reads parameters as `param.<name>`.
public struct Action: ProgramComponent {
    let action: SluiceIR.Action
    public init(_ name: String, _ params: Param..., @StatementBuilder body: () -> [Stmt]) {
        self.init(name, params: params, body: body)
    }
    /// The parameters as a list, for a builder that makes them.
    public init(_ name: String, params: [Param], @StatementBuilder body: () -> [Stmt]) {
        action = .init(name, params: params.map(\.decl), body: body())
    }
    public func add(to p: inout Program) { p.actions.append(action) }
}

/// `register<bit<width>>(size) name`
public struct Register: ProgramComponent {
    let register: SluiceIR.Register
    public init(_ name: String, width: Int, size: Int) { register = .init(name, width: width, size: size) }
    public func add(to p: inout Program) { p.registers.append(register) }
}

/// An indexed counter array.
public struct Counter: ProgramComponent {
    let counter: SluiceIR.Counter
    public init(_ name: String, size: Int, kind: CounterKind = .packetsAndBytes) { counter = .init(name, size: size, kind: kind) }
    public func add(to p: inout Program) { p.counters.append(counter) }
}

/// An array of two-rate three-color meters.
public struct Meter: ProgramComponent {
    let meter: SluiceIR.Meter
    public init(_ name: String, size: Int, unit: MeterUnit = .bytes) { meter = .init(name, size: size, unit: unit) }
    public func add(to p: inout Program) { p.meters.append(meter) }
}

/// A digest type: the fields a `SendDigest` carries to the control plane.
public struct DigestType: ProgramComponent {
    let digest: SluiceIR.Digest
    public init(_ name: String, @FieldBuilder fields: () -> [FieldDecl]) { digest = .init(name, fields: fields()) }
    public func add(to p: inout Program) { p.digests.append(digest) }
}

/// A header that carries controller metadata (P4's `@controller_header`): `.packetIn` in front
/// of what the program sends to the CPU port, `.packetOut` in front of a controller's packet-out.
/// P4Info lists its fields as controller packet metadata.
public struct ControllerHeader: ProgramComponent {
    let header: SluiceIR.ControllerHeader
    public init(_ direction: SluiceIR.ControllerHeader.Direction, _ header: String) { self.header = .init(direction, header: header) }
    public func add(to p: inout Program) { p.controllerHeaders = (p.controllerHeaders ?? []) + [header] }
}

/// The ingress control.
public struct Ingress: ProgramComponent {
    let body: [Stmt]
    public init(@StatementBuilder _ body: () -> [Stmt]) { self.body = body() }
    public func add(to p: inout Program) { p.ingress += body }
}

/// The egress control: runs once per copy, after the traffic manager.
public struct Egress: ProgramComponent {
    let body: [Stmt]
    public init(@StatementBuilder _ body: () -> [Stmt]) { self.body = body() }
    public func add(to p: inout Program) { p.egress = (p.egress ?? []) + body }
}

/// The deparser: checksum updates, then `Emit` in order.
public struct Deparser: ProgramComponent {
    let items: [DeparserItem]
    public init(@DeparserBuilder _ body: () -> [DeparserItem]) { items = body() }
    public func add(to p: inout Program) {
        for item in items {
            switch item {
            case .statements(let s): p.deparser.statements += s
            case .emit(let h): p.deparser.emit.append(h)
            }
        }
    }
}

/// Emit a header (a stack emits its valid elements) in the deparser.
public struct Emit {
    let header: String
    public init(_ header: HeaderValue) { self.header = header.name }
}

public enum DeparserItem { case statements([Stmt]), emit(String) }

@resultBuilder
public enum DeparserBuilder {
    public static func buildExpression(_ e: Emit) -> [DeparserItem] { [.emit(e.header)] }
    public static func buildExpression(_ s: any Statement) -> [DeparserItem] { [.statements(s.statements)] }
    public static func buildExpression(_ s: [Stmt]) -> [DeparserItem] { [.statements(s)] }
    public static func buildBlock(_ parts: [DeparserItem]...) -> [DeparserItem] { parts.flatMap { $0 } }
    public static func buildOptional(_ s: [DeparserItem]?) -> [DeparserItem] { s ?? [] }
    public static func buildEither(first s: [DeparserItem]) -> [DeparserItem] { s }
    public static func buildEither(second s: [DeparserItem]) -> [DeparserItem] { s }
    public static func buildArray(_ s: [[DeparserItem]]) -> [DeparserItem] { s.flatMap { $0 } }
}

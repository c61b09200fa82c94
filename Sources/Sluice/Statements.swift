import SluiceIR

/// `place = value`
public struct Assign: Statement {
    public let statements: [Stmt]
    public init(_ place: Value, _ value: Value) {
        guard let r = place.ref else {
            // Not a place: lower to something the verifier names clearly.
            statements = [.assign(.notAssignable(IRPrinter.expr(place.ir)), value.ir)]
            return
        }
        statements = [.assign(r, value.ir)]
    }
}

/// A runtime condition: `If(hdr.ipv4.ttl > 1) { ... } else: { ... }`.
public struct If: Statement {
    public let statements: [Stmt]
    public init(_ condition: Value, @StatementBuilder then: () -> [Stmt], @StatementBuilder else otherwise: () -> [Stmt] = { [] }) {
        statements = [.ifElse(condition.ir, then: then(), else: otherwise())]
    }
}

/// Apply a table; optionally run statements on hit or miss.
public struct Apply: Statement {
    public let statements: [Stmt]
    public init(_ table: String, @StatementBuilder hit: () -> [Stmt] = { [] }, @StatementBuilder miss: () -> [Stmt] = { [] }) {
        statements = [.apply(table, outcome: ApplyOutcome(hit: hit(), miss: miss()))]
    }
}

/// Apply a table and branch on the action that ran: `Switch(apply: "t") { On("fwd") { ... } }`.
public struct Switch: Statement {
    public let statements: [Stmt]
    public init(apply table: String, @ActionBranchBuilder _ cases: () -> [ActionBranch]) {
        statements = [.apply(table, outcome: ApplyOutcome(actions: cases()))]
    }
}

/// One branch of a `Switch`.
public struct On {
    let branch: ActionBranch
    public init(_ action: String, @StatementBuilder _ body: () -> [Stmt]) { branch = ActionBranch(action, body()) }
}

@resultBuilder
public enum ActionBranchBuilder {
    public static func buildExpression(_ o: On) -> [ActionBranch] { [o.branch] }
    public static func buildBlock(_ parts: [ActionBranch]...) -> [ActionBranch] { parts.flatMap { $0 } }
}

/// Run an action directly.
public struct Call: Statement {
    public let statements: [Stmt]
    public init(_ action: String, _ args: Value...) { statements = [.call(action, args: args.map(\.ir))] }
}

/// Send the packet out of `port` (sets `standard.egressSpec`).
public struct Forward: Statement {
    public let statements: [Stmt]
    public init(port: Value) { statements = [.assign(.standard(.egressSpec), port.ir)] }
}

/// Send a copy to every member of a multicast group.
public struct Multicast: Statement {
    public let statements: [Stmt]
    public init(group: Value) { statements = [.assign(.standard(.mcastGrp), group.ir)] }
}

public struct Drop: Statement {
    public init() {}
    public var statements: [Stmt] { [.drop] }
}

/// Leave the current control.
public struct Exit: Statement {
    public init() {}
    public var statements: [Stmt] { [.exit] }
}

/// Send at most `length` bytes of the packet (a 16-bit value): it is cut after the deparser.
public struct Truncate: Statement {
    public let statements: [Stmt]
    public init(length: Value) { statements = [.truncate(length.ir)] }
}

/// Send the packet through the pipeline again after egress (bounded by the target).
public struct Recirculate: Statement {
    public init() {}
    public var statements: [Stmt] { [.recirculate] }
}

/// Send the original packet through ingress again (bounded by the target).
public struct Resubmit: Statement {
    public init() {}
    public var statements: [Stmt] { [.resubmit] }
}

public struct SetValid: Statement {
    public let statements: [Stmt]
    public init(_ h: HeaderValue) { statements = [.setValid(h.name, index: h.index)] }
}

public struct SetInvalid: Statement {
    public let statements: [Stmt]
    public init(_ h: HeaderValue) { statements = [.setInvalid(h.name, index: h.index)] }
}

/// Shift a header stack up by `count`; the new elements at the front are invalid.
public struct PushFront: Statement {
    public let statements: [Stmt]
    public init(_ h: HeaderValue, _ count: Int = 1) { statements = [.pushFront(h.name, count: count)] }
}

/// Shift a header stack down by `count`, dropping the front elements.
public struct PopFront: Statement {
    public let statements: [Stmt]
    public init(_ h: HeaderValue, _ count: Int = 1) { statements = [.popFront(h.name, count: count)] }
}

/// Count a packet (and its bytes) at an index of a counter.
public struct Count: Statement {
    public let statements: [Stmt]
    public init(_ counter: String, index: Value) { statements = [.count(counter, index: index.ir)] }
}

/// Run a two-rate three-color meter; the color (0 green, 1 yellow, 2 red) goes to `into`.
public struct ExecuteMeter: Statement {
    public let statements: [Stmt]
    public init(_ meter: String, index: Value, into result: Value) {
        statements = [.meter(meter, index: index.ir, result: result.ref ?? .notAssignable())]
    }
}

/// Send a digest to the control plane.
public struct SendDigest: Statement {
    public let statements: [Stmt]
    public init(_ digest: String, _ values: Value...) { statements = [.digest(digest, values: values.map(\.ir))] }
}

/// Recompute a ones-complement checksum field over headers (IPv4's header checksum).
public struct UpdateChecksum: Statement {
    public let statements: [Stmt]
    public init(_ field: Value, over headers: HeaderValue...) { self.init(field, over: headers) }
    public init(_ field: Value, over headers: [HeaderValue]) {
        statements = [.updateChecksum(field.ref ?? .notAssignable(), over: headers.map(\.name))]
    }
}

/// Check a ones-complement checksum; a mismatch sets `standard.checksumError`.
public struct VerifyChecksum: Statement {
    public let statements: [Stmt]
    public init(_ field: Value, over headers: HeaderValue...) {
        statements = [.verifyChecksum(field.ref ?? .notAssignable(), over: headers.map(\.name))]
    }
}

/// Update a checksum field incrementally (RFC 1624) when a 16-bit-aligned value changes.
public struct IncrementalChecksum: Statement {
    public let statements: [Stmt]
    public init(_ field: Value, old: Value, new: Value) {
        statements = [.incrementalChecksum(field.ref ?? .notAssignable(), old: old.ir, new: new.ir)]
    }
}

import SluiceIR

/// `hdr.<instance>`: the program's headers, by name. Names are checked by the verifier, which
/// reports a misspelt one with the valid choices.
@dynamicMemberLookup
public struct HeadersProxy: Sendable {
    public subscript(dynamicMember name: String) -> HeaderValue { HeaderValue(name: name, index: nil) }
}

/// A header instance, or one element of a header stack.
@dynamicMemberLookup
public struct HeaderValue: Sendable {
    public let name: String
    public let index: StackIndex?
    public subscript(dynamicMember field: String) -> Value { Value(ref: .header(name, field: field, index: index)) }
    /// Element `i` of a header stack.
    public subscript(i: Int) -> HeaderValue { HeaderValue(name: name, index: .at(i)) }
    /// The last element extracted or pushed.
    public var last: HeaderValue { HeaderValue(name: name, index: .last) }
    /// The element the parser extracts next.
    public var next: HeaderValue { HeaderValue(name: name, index: .next) }
    public var isValid: Value { Value(.isValid(name, index: index)) }
}

/// `meta.<field>`: user metadata.
@dynamicMemberLookup
public struct MetadataProxy: Sendable {
    public subscript(dynamicMember name: String) -> Value { Value(ref: .meta(name)) }
}

/// `param.<name>`: the enclosing action's parameters.
@dynamicMemberLookup
public struct ParamsProxy: Sendable {
    public subscript(dynamicMember name: String) -> Value { Value(.param(name)) }
}

/// `standard.<field>`: standard metadata (see `StandardField`).
public struct StandardProxy: Sendable {
    func v(_ f: StandardField) -> Value { Value(ref: .standard(f)) }
    public var ingressPort: Value { v(.ingressPort) }
    /// Where ingress sends the packet (the egress port a unicast packet will leave on).
    public var egressSpec: Value { v(.egressSpec) }
    /// The port this copy leaves on (egress only).
    public var egressPort: Value { v(.egressPort) }
    public var drop: Value { v(.drop) }
    /// A non-zero group sends a copy to every member of the multicast group.
    public var mcastGrp: Value { v(.mcastGrp) }
    /// The replica id of a multicast copy (egress only).
    public var egressRid: Value { v(.egressRid) }
    public var packetLength: Value { v(.packetLength) }
    /// Nanoseconds.
    public var ingressTimestamp: Value { v(.ingressTimestamp) }
    /// Traffic-manager values (egress only): backends without queues reject them unless read
    /// through `optional(_:width:)`. When the packet joined its egress queue (nanoseconds, low
    /// 32 bits).
    public var enqTimestamp: Value { v(.enqTimestamp) }
    /// Bytes in the egress queue once the packet joined it, itself included (0 when it went
    /// straight onto an idle wire); saturates at 2^19 - 1.
    public var enqQdepth: Value { v(.enqQdepth) }
    /// Nanoseconds the packet waited in the queue.
    public var deqTimedelta: Value { v(.deqTimedelta) }
    /// Bytes left in the queue when the packet leaves it; saturates at 2^19 - 1.
    public var deqQdepth: Value { v(.deqQdepth) }
    /// Bytes in the switch's buffer, all its queues together, when the packet leaves its queue.
    public var deqBufferDepth: Value { v(.deqBufferDepth) }
    public var parserError: Value { v(.parserError) }
    public var checksumError: Value { v(.checksumError) }
    public var instanceType: Value { v(.instanceType) }
    public var passCount: Value { v(.passCount) }
}

/// The program's headers: `hdr.ipv4.ttl`.
public let hdr = HeadersProxy()
/// User metadata: `meta.nextHop`.
public let meta = MetadataProxy()
/// Action parameters: `param.port`.
public let param = ParamsProxy()
/// Standard metadata: `standard.egressSpec`.
public let standard = StandardProxy()
/// The register's current value inside a `RegisterAction` update.
public let old = Value(.registerOld)

/// An array of `size` cells of `width` bits, read and written by the data plane and the control plane.
public struct Register: Hashable, Sendable, Codable {
    public var name: String
    public var width: Int
    public var size: Int
    public init(_ name: String, width: Int, size: Int) { self.name = name; self.width = width; self.size = size }
}

public enum CounterKind: String, Hashable, Sendable, Codable, CaseIterable { case packets, bytes, packetsAndBytes }

/// An indexed counter array.
public struct Counter: Hashable, Sendable, Codable {
    public var name: String
    public var size: Int
    public var kind: CounterKind
    public init(_ name: String, size: Int, kind: CounterKind = .packetsAndBytes) {
        self.name = name; self.size = size; self.kind = kind
    }
}

public enum MeterUnit: String, Hashable, Sendable, Codable, CaseIterable { case packets, bytes }

/// An array of two-rate three-color meters (RFC 2698); rates are set by the control plane.
public struct Meter: Hashable, Sendable, Codable {
    public var name: String
    public var size: Int
    public var unit: MeterUnit
    public init(_ name: String, size: Int, unit: MeterUnit = .bytes) {
        self.name = name; self.size = size; self.unit = unit
    }
}

/// A message the data plane sends to the control plane, with named fields.
public struct Digest: Hashable, Sendable, Codable {
    public var name: String
    public var fields: [FieldDecl]
    public init(_ name: String, fields: [FieldDecl]) { self.name = name; self.fields = fields }
}

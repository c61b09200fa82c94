import SluiceIR

/// A control-plane operation failed; the message names the table, action, entry or extern and
/// what would be valid.
public struct ControlPlaneError: Error, CustomStringConvertible, Hashable, Sendable {
    public var message: String
    /// The request was good but a table (or map) is at its size: P4Runtime's RESOURCE_EXHAUSTED.
    public var full: Bool
    public init(_ message: String, full: Bool = false) { self.message = message; self.full = full }
    public var description: String { message }
}

/// An installed entry, as the control plane refers to it.
public struct EntryHandle: Hashable, Sendable {
    public var table: String
    public var id: Int32
    /// Backends other than the runtime's (the XDP control plane) make their own handles.
    public init(table: String, id: Int32) { self.table = table; self.id = id }
}

/// The one control-plane interface every backend implements: tables, defaults, counters,
/// registers, meters, multicast groups and digests. Names are resolved here, never per packet.
public protocol ControlPlane: AnyObject {
    var program: Program { get }
    @discardableResult
    func insert(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle
    func modify(_ handle: EntryHandle, _ action: ActionCall) throws(ControlPlaneError)
    func delete(_ handle: EntryHandle) throws(ControlPlaneError)
    /// The handle of the entry with exactly these matches (and priority, for ternary/range tables).
    func find(_ table: String, _ matches: [Match], priority: Int) throws(ControlPlaneError) -> EntryHandle?
    func entries(_ table: String) throws(ControlPlaneError) -> [(EntryHandle, TableEntry)]
    /// The entry a handle names (matches, priority and action as installed).
    func entry(_ handle: EntryHandle) throws(ControlPlaneError) -> TableEntry
    func setDefault(_ table: String, _ action: ActionCall) throws(ControlPlaneError)
    func clear(_ table: String) throws(ControlPlaneError)
    /// Packets and bytes at an index of an indexed counter.
    func counter(_ name: String, index: Int) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64)
    func resetCounter(_ name: String) throws(ControlPlaneError)
    /// Sets packets and bytes at an index of an indexed counter (a controller restoring or
    /// correcting a count); the data plane counts on from there.
    func writeCounter(_ name: String, index: Int, packets: UInt64, bytes: UInt64) throws(ControlPlaneError)
    /// Packets and bytes that hit an entry (tables with direct counters).
    func directCounter(_ handle: EntryHandle) throws(ControlPlaneError) -> (packets: UInt64, bytes: UInt64)
    /// Sets the packets and bytes of an entry's direct counter.
    func writeDirectCounter(_ handle: EntryHandle, packets: UInt64, bytes: UInt64) throws(ControlPlaneError)
    func readRegister(_ name: String, index: Int) throws(ControlPlaneError) -> UInt64
    func writeRegister(_ name: String, index: Int, _ value: UInt64) throws(ControlPlaneError)
    func resetRegister(_ name: String) throws(ControlPlaneError)
    func setMeter(_ name: String, index: Int, _ rates: MeterRates) throws(ControlPlaneError)
    /// Returns a meter cell to its state before any `setMeter`: every packet green.
    func clearMeter(_ name: String, index: Int) throws(ControlPlaneError)
    func setMulticastGroup(_ group: UInt16, _ members: [MulticastMember]) throws(ControlPlaneError)
    func deleteMulticastGroup(_ group: UInt16) throws(ControlPlaneError)
    /// Digests sent since the last call, oldest first.
    func drainDigests() -> [DigestMessage]
}

/// The control-plane side of a program: what it installs at start and how it reacts to digests.
public protocol ProgramController: AnyObject {
    func setup(_ cp: any ControlPlane) throws
    func handle(_ digests: [DigestMessage], _ cp: any ControlPlane) throws
}

extension ControlPlane {
    /// Insert, or replace the action of an existing entry with the same matches.
    @discardableResult
    public func upsert(_ table: String, _ entry: TableEntry) throws(ControlPlaneError) -> EntryHandle {
        if let h = try find(table, entry.matches, priority: entry.priority) {
            try modify(h, entry.action)
            return h
        }
        return try insert(table, entry)
    }
}


/// Rates of a two-rate three-color meter (RFC 2698), in the meter's unit per second.
public struct MeterRates: Hashable, Sendable {
    public var cir: UInt64, cbs: UInt64, pir: UInt64, pbs: UInt64
    public init(cir: UInt64, cbs: UInt64, pir: UInt64, pbs: UInt64) { self.cir = cir; self.cbs = cbs; self.pir = pir; self.pbs = pbs }
}

/// A digest as the control plane receives it.
public struct DigestMessage: Hashable, Sendable {
    public var name: String
    public var values: [UInt128]
    public init(name: String, values: [UInt128]) { self.name = name; self.values = values }
    /// A value by field name.
    public func value(_ field: String, in program: Program) -> UInt128? {
        guard let d = program.digests.first(where: { $0.name == name }),
              let i = d.fields.firstIndex(where: { $0.name == field }), i < values.count else { return nil }
        return values[i]
    }
}

/// One copy of a multicast group: an egress port and the replica id its copy carries.
public struct MulticastMember: Hashable, Sendable {
    public var port: UInt16
    public var rid: UInt16
    public init(port: UInt16, rid: UInt16) { self.port = port; self.rid = rid }
}

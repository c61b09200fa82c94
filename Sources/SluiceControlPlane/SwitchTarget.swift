import SluiceIR
import Synchronization

/// A lock the packet path holds while it runs packets and a control-plane front end (the
/// P4Runtime server) holds while it changes tables: writes land between batches of packets,
/// never while the pipeline reads the tables they change.
public final class SwitchLock: Sendable {
    private let mutex = Mutex<Void>(())
    public init() {}
    /// Runs `body` with the lock held. Not reentrant.
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try mutex.withLock { _ throws(E) -> R in try body() }
    }
}

/// A switch whose program a front end can replace and whose control plane it can drive while
/// packets flow (the pcap-attached switch, an in-memory pipeline in tests and benchmarks). Every
/// method is called from the front end's threads; the switch serializes them with its packet path.
public protocol SwitchTarget: AnyObject, Sendable {
    /// Whether this switch can run `program` (a backend lacking a construct says which).
    func check(_ program: VerifiedProgram) throws
    /// Replaces the running program (its tables and extern state start empty), between packets.
    /// Its digests wait in its control plane (`drainDigests`) for the front end.
    func install(_ program: VerifiedProgram, seed: UInt64) throws
    /// Runs `body` on the running program's control plane, between packets; `nil` when no
    /// program runs yet.
    func withControlPlane<R>(_ body: (any ControlPlane) throws -> R) throws -> R?
    /// Whether no packet runs while a `withControlPlane` body does (the packet path waits for
    /// the same lock), so that everything one call changes reaches the data plane at once: what
    /// P4Runtime's DATAPLANE_ATOMIC batches need. A switch whose packets run elsewhere while its
    /// tables change (the kernel's XDP hook) says false.
    var dataplaneAtomic: Bool { get }
    /// Puts `bytes` into the running program as if received on `port` (a controller's packet-out);
    /// false when no program runs.
    func inject(_ bytes: [UInt8], port: UInt16) -> Bool
    /// Why this switch has no packets to and from the controller (PacketOut, PacketIn), for the
    /// controller to read; nil when it has them.
    var controllerPacketsRefusal: String? { get }
}

extension SwitchTarget {
    public var controllerPacketsRefusal: String? { nil }
}

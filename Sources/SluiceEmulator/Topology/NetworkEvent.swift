import SluiceControlPlane
import SluiceSupport

/// A change to the network at a point of virtual time: a link or switch fails or comes back, a
/// link's rate or loss changes, a switch gets more entries. A topology file's `events` list and
/// `Emulator.schedule` make them; the emulator runs each as one event of its queue, so a run
/// with events is as deterministic as one without (and one without them does no extra work).
public struct NetworkEvent: Hashable, Sendable {
    /// What changes.
    public enum Target: Hashable, Sendable {
        /// The link joining these two endpoints (in either order): both of its directions.
        case link(Endpoint, Endpoint)
        /// A switch (node index): down and up take every link of it down or back up.
        case node(Int)
    }

    /// How it changes.
    public enum Change: Hashable, Sendable {
        /// Packets queued on the link (or on the switch's links) and on the wire are dropped and
        /// counted (`PortStats.droppedAtFailure`); packets sent onto it while it is down are
        /// dropped and counted (`PortStats.droppedWhileDown`).
        case down
        /// Back in service: the wire is free at once. A link that is down itself stays down when
        /// its switch comes back, and the other way round.
        case up
        /// Bits per second, both directions, from the next frame on (the frame on the wire
        /// finishes at the old rate).
        case rate(UInt64)
        /// Probability (below 1) that a frame is lost on the wire, both directions.
        case loss(Double)
        /// Apply an entries file (switches only): `file` names it in errors, `text` is what was
        /// read when the event was made.
        case entries(file: String, text: String)
    }

    /// Picoseconds from the start of the run.
    public var time: Int64
    public var target: Target
    public var change: Change
    /// `file:line` of the topology file's entry, or empty.
    public var origin: String

    public init(time: Int64, target: Target, change: Change, origin: String = "") {
        self.time = time; self.target = target; self.change = change; self.origin = origin
    }

    /// Down or up: what changes which nodes can reach which.
    public var changesReachability: Bool {
        switch change { case .down, .up: return true; default: return false }
    }

    /// What the routing controller reacts to: down, up, and a link's rate (the weight of its
    /// member in weighted and resilient groups).
    public var changesRouting: Bool {
        switch change { case .down, .up, .rate: return true; default: return false }
    }
}

/// What the routing controller does while the run goes on (a topology file's `routing`).
public struct RoutingPolicy: Hashable, Sendable {
    /// Recompute shortest paths when a link or switch goes down or comes back up, or a link's
    /// rate changes, and rewrite the routes and next-hop groups of the routed switches.
    /// Resilient groups keep the buckets of the members that stay (only the failed member's
    /// flows move); equal groups are rebuilt (plain ECMP rehashes every flow).
    public var recompute: Bool
    /// Picoseconds from the change to the new routes being in place: failure detection plus
    /// the controller's reaction. Until then switches send onto the dead link and the packets
    /// are counted as dropped there.
    public var detection: Int64

    public init(recompute: Bool = false, detection: Int64 = 0) {
        self.recompute = recompute; self.detection = detection
    }
}

extension NetworkEvent.Change {
    /// An entries file for a switch, read now (its text travels with the event):
    /// `try emu.schedule(at: t, switch: "s1", .entries(path: "more.txt"))`.
    public static func entries(path: String) throws -> Self {
        do { return .entries(file: path, text: try FileIO.readText(path)) } catch {
            throw EmulatorError("cannot read the entries file '\(path)': \(error.reason)")
        }
    }

    /// The words a topology file uses for it: `down`, `rate 25Gbps`, `entries more.txt`.
    var text: String {
        switch self {
        case .down: return "down"
        case .up: return "up"
        case .rate(let r): return "rate \(formatRateText(r))"
        case .loss(let p): return "loss \(p * 100)%"
        case .entries(let file, _): return "entries \(file)"
        }
    }
}

/// `25Gbps`, `100Mbps`, `1500bps`: the largest unit that divides the rate.
func formatRateText(_ r: UInt64) -> String {
    for (unit, scale) in [("Tbps", UInt64(1_000_000_000_000)), ("Gbps", 1_000_000_000), ("Mbps", 1_000_000), ("Kbps", 1_000)]
    where r >= scale && r % scale == 0 {
        return "\(r / scale)\(unit)"
    }
    return "\(r)bps"
}

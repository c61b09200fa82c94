import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Network namespaces and veth pairs made for one test or benchmark, all through iproute2's
/// `ip`, and removed again by `remove()` (call it in a `defer`; it is safe to call twice and
/// also runs at deinit), whatever failed in between.
///
/// Names are unique per process and lab: every interface is named `tag` + a suffix, the tag
/// being the prefix, the pid and a counter; namespaces are `sluice-` + tag + suffix, so a
/// leftover is recognisable in `ip netns list`. A new namespace has its loopback up (Foundation's
/// run loop wants a socket pair it can wake) and IPv6 off, and so does a veth end left in this
/// namespace: the kernel then sends nothing of its own (no router solicitations, no neighbour
/// discovery) on the links a test counts frames on.
public final class NetworkLab {
    /// iproute2's `ip`, looked up once (PATH, then /usr/sbin and /sbin).
    public static let ipTool: String? = findTool("ip")
    private static let counter = Atomic<Int>(0)

    /// The start of every name this lab makes.
    public let tag: String
    private var namespaces: [String] = []
    private var rootInterfaces: [String] = []

    /// `prefix` (two or three letters) starts every name, so a suite's leftovers are recognisable.
    public init(prefix: String) {
        tag = "\(prefix)\(getpid())n\(NetworkLab.counter.add(1, ordering: .relaxed).newValue)"
    }

    deinit { remove() }

    /// `tag` + `suffix`, checked against the kernel's limit of 15 characters.
    public func interfaceName(_ suffix: String) throws -> String {
        let name = tag + suffix
        guard name.utf8.count <= 15 else {
            throw NetworkLabError("interface name '\(name)' has \(name.utf8.count) characters, the kernel allows 15: use a shorter prefix or suffix")
        }
        return name
    }

    /// Creates namespace `sluice-<tag><suffix>`, loopback up, IPv6 off. Returns its name.
    @discardableResult
    public func addNamespace(_ suffix: String) throws -> String {
        let ns = "sluice-\(tag)\(suffix)"
        try ip(["netns", "add", ns])
        namespaces.append(ns)
        try execChecked(in: ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        try ip(in: ns, ["link", "set", "lo", "up"])
        return ns
    }

    /// Creates a veth pair `<tag><suffix>` in namespace `ns` and `<tag><peerSuffix>` in
    /// `peerNamespace` (nil: this process's namespace, where the end gets IPv6 off), both up.
    @discardableResult
    public func addVeth(_ suffix: String, in ns: String?, peer peerSuffix: String, in peerNamespace: String?) throws -> VethPair {
        let pair = VethPair(name: try interfaceName(suffix), namespace: ns, peer: try interfaceName(peerSuffix), peerNamespace: peerNamespace)
        try ip(["link", "add", pair.name] + (ns.map { ["netns", $0] } ?? []) + ["type", "veth", "peer", "name", pair.peer]
               + (peerNamespace.map { ["netns", $0] } ?? []))
        for (name, namespace) in [(pair.name, ns), (pair.peer, peerNamespace)] where namespace == nil {
            rootInterfaces.append(name)
            // Before it is up, so that it never sends a router solicitation. No IPv6 in the kernel: nothing to turn off.
            try? "1".write(toFile: "/proc/sys/net/ipv6/conf/\(name)/disable_ipv6", atomically: false, encoding: .utf8)
        }
        try ip(in: ns, ["link", "set", pair.name, "up"])
        try ip(in: peerNamespace, ["link", "set", pair.peer, "up"])
        return pair
    }

    /// Adds address `cidr` (e.g. 10.0.0.1/24) to `interface`.
    public func addAddress(_ cidr: String, to interface: String, in ns: String? = nil) throws {
        try ip(in: ns, ["addr", "add", cidr, "dev", interface])
    }

    /// Routes `destination` (an address or prefix) out of `interface`.
    public func addRoute(_ destination: String, through interface: String, in ns: String? = nil) throws {
        try ip(in: ns, ["route", "add", destination, "dev", interface])
    }

    /// A permanent neighbour entry: `address` is at `mac` on `interface`.
    public func addNeighbour(_ address: String, mac: String, on interface: String, in ns: String? = nil) throws {
        try ip(in: ns, ["neigh", "add", address, "lladdr", mac, "dev", interface])
    }

    /// The MAC address of `interface`, as `ip` prints it (aa:bb:cc:dd:ee:ff).
    public func mac(of interface: String, in ns: String? = nil) throws -> String {
        let out = try ip(in: ns, ["-o", "link", "show", interface]).out
        guard let r = out.range(of: "link/ether ") else { throw NetworkLabError("no MAC address for \(interface) in `ip link show`: \(out)") }
        return String(out[r.upperBound...].prefix(17))
    }

    /// Runs `ip arguments` (with `-n ns` first when given); throws unless it exits 0.
    @discardableResult
    public func ip(in ns: String? = nil, _ arguments: [String]) throws -> ChildProcess.Result {
        let command = (ns.map { ["-n", $0] } ?? []) + arguments
        let r = try ChildProcess.run(try Self.ipPath(), command, seconds: 60)
        guard r.status == 0 else { throw NetworkLabError(["ip"] + command, r) }
        return r
    }

    /// Runs `command` in namespace `ns` (`ip netns exec`, which also mounts the namespace's own
    /// /sys) to completion, killed after `seconds`; its exit status is the caller's to judge.
    public func exec(in ns: String, _ command: [String], seconds: Double = 600) throws -> ChildProcess.Result {
        try ChildProcess.run(try Self.ipPath(), ["netns", "exec", ns] + command, seconds: seconds)
    }

    /// `exec`, throwing unless the command exits 0.
    @discardableResult
    public func execChecked(in ns: String, _ command: [String], seconds: Double = 600) throws -> ChildProcess.Result {
        let r = try exec(in: ns, command, seconds: seconds)
        guard r.status == 0 else { throw NetworkLabError(["ip", "netns", "exec", ns] + command, r) }
        return r
    }

    /// Starts `command` in namespace `ns` and returns while it runs.
    public func start(in ns: String, _ command: [String]) throws -> ChildProcess {
        try ChildProcess(try Self.ipPath(), ["netns", "exec", ns] + command)
    }

    /// Deletes everything this lab made: its veth ends in this namespace, then its namespaces
    /// (which takes the veth ends in them along). Nothing made, or removed already: nothing done.
    public func remove() {
        for name in rootInterfaces { _ = try? ip(["link", "del", name]) }
        for ns in namespaces { _ = try? ip(["netns", "del", ns]) }
        rootInterfaces = []
        namespaces = []
    }

    private static func ipPath() throws -> String {
        guard let ipTool else { throw NetworkLabError("iproute2's ip was not found on PATH, in /usr/sbin or in /sbin (apt-get install iproute2)") }
        return ipTool
    }
}

/// The two ends of a veth pair and their namespaces (nil: the namespace of the process that made it).
public struct VethPair: Sendable {
    public let name: String
    public let namespace: String?
    public let peer: String
    public let peerNamespace: String?
}

/// A failed `ip` command (with its standard error), or a name the kernel would refuse.
public struct NetworkLabError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }

    init(_ command: [String], _ r: ChildProcess.Result) {
        let why = r.status == -1 ? "did not finish in time" : "exited \(r.status)"
        let detail = (r.err + r.out).trimmingCharacters(in: .whitespacesAndNewlines)
        description = "`\(command.joined(separator: " "))` \(why)" + (detail.isEmpty ? "" : ": \(detail)")
    }
}

import CBPF
import Foundation

/// veth interfaces, which need care under native XDP: a frame redirected into a veth is
/// received by its peer only if the peer runs an XDP program or has GRO on (the kernel's veth
/// NAPI exists only then); otherwise the frame is dropped without a counter saying so.
public enum Veth {
    /// Whether `interface`'s driver is veth (ETHTOOL_GDRVINFO, what `ethtool -i` prints).
    public static func isVeth(_ interface: String) -> Bool {
        var buf = [CChar](repeating: 0, count: 64)
        guard sluice_driver_name(interface, &buf, buf.count) == 0 else { return false }
        return String(cString: buf) == "veth"
    }

    /// The name of `interface`'s peer when it is in this network namespace, else nil. The
    /// peer's index (sysfs `iflink`) may belong to another namespace, where the same number
    /// names something else here: the match is checked both ways.
    public static func peer(of interface: String) -> String? {
        func number(_ i: String, _ file: String) -> UInt32? {
            (try? String(contentsOfFile: "/sys/class/net/\(i)/\(file)", encoding: .utf8))
                .flatMap { UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        guard let me = number(interface, "ifindex"), let link = number(interface, "iflink"), link != me else { return nil }
        var buf = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(link, &buf) != nil else { return nil }
        let name = String(cString: buf)
        guard number(name, "iflink") == me, isVeth(name) else { return nil }
        return name
    }

    /// The warning for veth `interface` attached in native mode (nil if it is no veth): what
    /// is lost and the two ways out. `alsoPorts` are the interfaces the same run attaches to
    /// (a peer among them runs the program and needs nothing).
    public static func nativeWarning(_ interface: String, alsoPorts: [String]) -> String? {
        guard isVeth(interface) else { return nil }
        let peer = peer(of: interface)
        if let peer, alsoPorts.contains(peer) { return nil }
        let p = peer ?? "PEER"
        let which = peer.map { "its peer \($0)" } ?? "its peer (in another network namespace)"
        return "\(interface) is a veth attached in native mode: frames redirected to it are silently lost unless \(which) "
            + "runs an XDP program (e.g. the one `sluice attach --backend xdp --port N=\(p)` puts there) or has GRO on "
            + "(`ethtool -K \(p) gro on`); or attach with --mode generic"
    }
}

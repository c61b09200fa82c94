import Foundation
import SluiceTesting

/// 2% loss on the UDP datagrams namespace `ns` sends to `udpPort`: tc netem on `interface`, or,
/// on kernels built without netem (CONFIG_NET_SCH_NETEM), an nftables random drop of 1 in 50 in
/// the namespace's output hook. Both go away with the namespace.
func injectLoss(_ network: NetworkLab, namespace ns: String, interface: String, udpPort: UInt16) throws {
    let netem = try network.exec(in: ns, ["tc", "qdisc", "add", "dev", interface, "root", "netem", "loss", "2%"])
    guard netem.status != 0 else { return }
    print("netem unavailable (\(netem.err.trimmingCharacters(in: .whitespacesAndNewlines))): 2% loss through nftables numgen instead")
    let rules = "table inet sluiceloss { chain out { type filter hook output priority 0; udp dport \(udpPort) numgen random mod 50 == 0 drop; }; }"
    let f = FileManager.default.temporaryDirectory.appendingPathComponent("\(ns)-loss.nft").path
    try rules.write(toFile: f, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: f) }
    try network.execChecked(in: ns, ["/usr/sbin/nft", "-f", f])
}

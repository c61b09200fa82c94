import Foundation
import SluiceTesting

/// Hosts around a switch in this namespace: namespace `<tag>h<i>` holds veth `<tag>e<i>`, whose
/// peer `<tag>s<i>` is switch port i (i from 1), all up, IPv6 off (no stray neighbour
/// discovery). `remove` deletes them, also after a failure.
struct SwitchHosts {
    let tag: String
    let count: Int
    var names: [String] { (1...count).map { "\(tag)h\($0)" } }

    init(tag: String, count: Int) throws {
        self.tag = tag
        self.count = count
        do { try create() } catch { remove(); throw error }
    }

    func create() throws {
        for (i, h) in names.enumerated() {
            try sh("/usr/sbin/ip", ["netns", "add", h])
            try sh("/usr/sbin/ip", ["netns", "exec", h, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
            try sh("/usr/sbin/ip", ["link", "add", "\(tag)s\(i + 1)", "type", "veth", "peer", "name", "\(tag)e\(i + 1)", "netns", h])
            _ = try? ChildProcess.run("/usr/sbin/sysctl", ["-qw", "net.ipv6.conf.\(tag)s\(i + 1).disable_ipv6=1"])
            try sh("/usr/sbin/ip", ["link", "set", "\(tag)s\(i + 1)", "up"])
            try sh("/usr/sbin/ip", ["-n", h, "link", "set", "\(tag)e\(i + 1)", "up"])
        }
    }

    func remove() {
        for h in names { _ = try? ChildProcess.run("/usr/sbin/ip", ["netns", "del", h]) }
        for i in 1...count { _ = try? ChildProcess.run("/usr/sbin/ip", ["link", "del", "\(tag)s\(i)"]) }
    }
}

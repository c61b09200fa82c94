/// Hosts around a switch, the shape the namespace tests and benchmarks share: host i (from 0)
/// is namespace `hosts[i]`, whose interface `hostInterfaces[i]` is the peer of switch port i + 1,
/// `switchPorts[i]`, in `switchNamespace` (nil: the namespace of the process that made them).
public struct HostsAroundSwitch: Sendable {
    public let switchNamespace: String?
    public let hosts: [String]
    public let hostInterfaces: [String]
    public let switchPorts: [String]

    /// `--port 1=<switchPorts[0]> --port 2=...`, the switch's ports as `sluice attach` takes them.
    public var portArguments: [String] { switchPorts.enumerated().flatMap { ["--port", "\($0.offset + 1)=\($0.element)"] } }
}

extension NetworkLab {
    /// `count` host namespaces (`h1`...), each joined by a veth (`e1`... on the host, `s1`... on
    /// the switch) to the switch in `switchNamespace` (nil: this namespace). All up, IPv6 off.
    public func addHosts(_ count: Int, aroundSwitchIn switchNamespace: String?) throws -> HostsAroundSwitch {
        var hosts: [String] = [], hostInterfaces: [String] = [], switchPorts: [String] = []
        for i in 1...count {
            let host = try addNamespace("h\(i)")
            let pair = try addVeth("s\(i)", in: switchNamespace, peer: "e\(i)", in: host)
            hosts.append(host)
            switchPorts.append(pair.name)
            hostInterfaces.append(pair.peer)
        }
        return HostsAroundSwitch(switchNamespace: switchNamespace, hosts: hosts, hostInterfaces: hostInterfaces, switchPorts: switchPorts)
    }
}

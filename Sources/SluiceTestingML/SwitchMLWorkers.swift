import SluicePrograms
import SluiceTesting

extension NetworkLab {
    /// The address switchml workers send their updates to (`sluice allreduce --aggregator`).
    public static let switchMLServiceAddress = "10.255.255.1"

    /// `count` switchml workers in namespaces of their own around a switch in this namespace:
    /// worker i at 10.0.0.(i + 1)/24 on its veth, whose other end is switch port i + 1, with a
    /// route and a neighbour entry (the switch end's MAC) for `switchMLServiceAddress` through
    /// it. Returns them and the job's workers (results to UDP port 40000 + i).
    public func addSwitchMLWorkers(_ count: Int) throws -> (hosts: HostsAroundSwitch, workers: [SwitchML.Worker]) {
        let hosts = try addHosts(count, aroundSwitchIn: nil)
        var workers: [SwitchML.Worker] = []
        for (i, (ns, interface)) in zip(hosts.hosts, hosts.hostInterfaces).enumerated() {
            try addAddress("10.0.0.\(i + 1)/24", to: interface, in: ns)
            let switchMAC = try mac(of: hosts.switchPorts[i]), workerMAC = try MACAddress(try mac(of: interface, in: ns))
            try addRoute(Self.switchMLServiceAddress, through: interface, in: ns)
            try addNeighbour(Self.switchMLServiceAddress, mac: switchMAC, on: interface, in: ns)
            workers.append(SwitchML.Worker(ip: 0x0A00_0001 + UInt32(i), mac: workerMAC.value, udpPort: UInt16(40_000 + i), switchPort: UInt16(i + 1)))
        }
        return (hosts, workers)
    }
}

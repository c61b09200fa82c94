import SluiceControlPlane
import SluiceEmulator
import SluiceIR
import SluicePrograms
import SluiceRuntime

/// Configures `hula` switches of a two-tier topology (after `Emulator.init`, whose routing
/// controller filled the routes) and attaches a probe agent to the first host of every leaf.
/// Leaves are ToRs 1, 2, ... in node order; spines keep ToR 0.
public enum HULASetup {
    /// Probes every `period` picoseconds (default 10 us) until `stopAt` (default: the
    /// topology's `until`; one of them is needed, or the agents would keep the run going
    /// forever). Entries older than `aging` ns (default 4 periods) are replaced by any probe.
    public static func prepare(_ emulator: Emulator, _ spec: TopologySpec, period: Int64 = HULA.defaultProbePeriod,
                               aging: UInt64? = nil, stopAt: Int64? = nil) throws {
        guard period > 0 else { throw WorkloadError("hula: probe period \(period) ps; valid: above 0") }
        guard let stop = stopAt ?? spec.until else {
            throw WorkloadError("hula: the probe agents need a time to stop at: give the topology `until` (or pass stopAt)")
        }
        let fabric = try LeafSpineFabric(spec, program: HULA.name)
        let leafOf = fabric.leafOfHost
        let agingNs = aging ?? UInt64(4 * period / 1000)
        for leaf in fabric.leaves {
            let cp: any ControlPlane = try emulator.controlPlane(switch: leaf.name)
            try cp.setDefault("hula_config", ActionCall("set_hula", [UInt128(leaf.id), UInt128(agingNs)]))
            var uplinkOf: [UInt16: Int] = [:]
            for (u, port) in leaf.uplinks.enumerated() {
                uplinkOf[port] = u
                try cp.writeRegister("hula_uplink", index: Int(port), UInt64(u + 1))
            }
            for g in emulator.routing?.groups[leaf.node] ?? [] {
                for (j, m) in g.members.enumerated() {
                    if let u = uplinkOf[m.port] { try cp.writeRegister("hula_member", index: Int(g.id) << 4 | u, UInt64(j + 1)) }
                }
            }
            for (host, id) in leafOf.sorted(by: { $0.key < $1.key }) {
                let ip = spec.nodes[host].host!.ipv4
                _ = try cp.insert("hula_tor", TableEntry([.lpm(UInt128(ip), prefixLength: 32)], ActionCall("set_dst_tor", [UInt128(id)])))
            }
            try cp.setMulticastGroup(HULA.probeGroup, leaf.uplinks.map { MulticastMember(port: $0, rid: 0) })
            try fabric.configureRateEstimator(cp, node: leaf.node)
            guard let agentHost = leaf.hosts.first else { continue }
            try emulator.attach(HULAProbeAgent(period: period, stopAt: stop), host: spec.nodes[agentHost].name)
        }
        for s in fabric.spines {
            let cp: any ControlPlane = try emulator.controlPlane(switch: spec.nodes[s].name)
            let down = (fabric.ports[s] ?? []).filter(\.toSwitch).map { MulticastMember(port: $0.port, rid: 0) }
            try cp.setMulticastGroup(HULA.probeGroup, down)
            try fabric.configureRateEstimator(cp, node: s)
        }
    }
}

/// HULA's probe source on a host: a 4-byte UDP datagram (zeros: `hula_t` with ToR and
/// utilization left to the ToR) to `HULA.probePort` every period, from time 0 until `stopAt`.
/// The ToR turns each into a probe; the destination address is the limited broadcast one,
/// since no one routes it.
public final class HULAProbeAgent: Application {
    let period: Int64
    let stopAt: Int64

    public init(period: Int64, stopAt: Int64) { self.period = period; self.stopAt = stopAt }

    public func start(_ host: HostAPI) { timer(0, host) }

    public func received(_ message: ReceivedMessage, _ host: HostAPI) {}

    public func timer(_ token: Int, _ host: HostAPI) {
        host.sendDatagram(to: host.endpoint(ip: 0xFFFF_FFFF, port: HULA.probePort), from: HULA.probePort, length: 4) { b in
            b.initializeMemory(as: UInt8.self, repeating: 0)
        }
        if VirtualTime.after(host.now, period) <= stopAt { host.setTimer(after: period, token: 0) }
    }
}

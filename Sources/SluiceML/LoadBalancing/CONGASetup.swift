import SluiceControlPlane
import SluiceEmulator
import SluiceIR
import SluicePrograms
import SluiceRuntime

/// Configures `conga` switches of a two-tier topology (after the routing controller filled
/// their routes, that is after `Emulator.init`): leaf ids, uplinks, every leaf's uplink count, the group members' ports,
/// the leaf of every host, and the rate estimators' scale per port. Spines keep the default
/// configuration (leaf 0): they only raise `ce`.
public enum CONGASetup {
    public static func prepare(_ emulator: Emulator, _ spec: TopologySpec) throws {
        let fabric = try LeafSpineFabric(spec, program: CONGA.name)
        try checkMTU(spec)
        let leafOf = fabric.leafOfHost
        for leaf in fabric.leaves {
            let cp: any ControlPlane = try emulator.controlPlane(switch: leaf.name)
            try cp.setDefault("conga_config", ActionCall("set_conga", [UInt128(leaf.id), UInt128(leaf.uplinks.count), UInt128(CONGA.defaultAge)]))
            for (u, port) in leaf.uplinks.enumerated() {
                try cp.writeRegister("conga_uplink", index: Int(port), UInt64(u + 1))
            }
            // Feedback about another leaf's paths goes round its uplinks (its LBTags).
            for other in fabric.leaves {
                try cp.writeRegister("conga_leaf_uplinks", index: other.id, UInt64(other.uplinks.count))
            }
            for g in emulator.routing?.groups[leaf.node] ?? [] {
                for (j, m) in g.members.enumerated() where j < 16 {
                    try cp.writeRegister("conga_member_port", index: Int(g.id) << 4 | j, UInt64(m.port))
                }
            }
            for (host, id) in leafOf.sorted(by: { $0.key < $1.key }) {
                let ip = spec.nodes[host].host!.ipv4
                _ = try cp.insert("conga_leaf", TableEntry([.lpm(UInt128(ip), prefixLength: 32)], ActionCall("set_dst_leaf", [UInt128(id)])))
            }
            try fabric.configureRateEstimator(cp, node: leaf.node)
        }
        for s in fabric.spines {
            let cp: any ControlPlane = try emulator.controlPlane(switch: spec.nodes[s].name)
            try fabric.configureRateEstimator(cp, node: s)
        }
    }

    /// The overlay adds `CONGA.headerBytes` between leaves: links between switches need that
    /// much more MTU than the largest host link, or full-size packets are dropped.
    static func checkMTU(_ spec: TopologySpec) throws {
        let hostMTU = spec.links.filter { spec.nodes[$0.a.node].isHost || spec.nodes[$0.b.node].isHost }.map(\.mtu).max() ?? 0
        for l in spec.links where !spec.nodes[l.a.node].isHost && !spec.nodes[l.b.node].isHost && l.mtu < hostMTU + CONGA.headerBytes {
            throw WorkloadError("conga: link \(spec.nodes[l.a.node].name):\(l.a.port) -- \(spec.nodes[l.b.node].name):\(l.b.port) has MTU \(l.mtu); CONGA's overlay adds \(CONGA.headerBytes) bytes, so links between switches need an MTU of at least \(hostMTU + CONGA.headerBytes) (the hosts' \(hostMTU) + \(CONGA.headerBytes))")
        }
    }
}

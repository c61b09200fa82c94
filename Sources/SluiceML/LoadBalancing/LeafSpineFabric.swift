import SluiceControlPlane
import Foundation
import SluiceEmulator
import SluiceIR
import SluicePrograms
import SluiceRuntime

/// What the load-balancing setups (`CONGASetup`, `HULASetup`) read from a two-tier topology:
/// leaves (switches with hosts) numbered from 1 in node order, their uplinks (ports to other
/// switches, in port order: uplink i is the i-th), which leaf each host hangs off, and the
/// rate of every switch port. Spines are the other switches.
struct LeafSpineFabric {
    struct Leaf {
        var node: Int
        var name: String
        var id: Int
        var uplinks: [UInt16]
        /// Host nodes below it, in port order.
        var hosts: [Int]
    }
    var leaves: [Leaf] = []
    var spines: [Int] = []
    /// Per switch node: (port, link rate), the ports facing switches and hosts alike.
    var ports: [Int: [(port: UInt16, rate: UInt64, toSwitch: Bool)]] = [:]

    /// Checks that every switch runs `program`.
    init(_ spec: TopologySpec, program: String) throws {
        for s in spec.switches {
            let runs = spec.nodes[s].switchSpec?.program ?? ""
            guard runs == program else {
                throw WorkloadError("switch '\(spec.nodes[s].name)' runs '\(runs)'; the \(program) setup configures a fabric whose switches all run '\(program)'")
            }
        }
        var hostsOf: [Int: [(UInt16, Int)]] = [:]
        for l in spec.links where l.a.node != l.b.node {
            for (me, other) in [(l.a, l.b), (l.b, l.a)] where !spec.nodes[me.node].isHost {
                let toSwitch = !spec.nodes[other.node].isHost
                ports[me.node, default: []].append((me.port, l.rate, toSwitch))
                if !toSwitch { hostsOf[me.node, default: []].append((me.port, other.node)) }
            }
        }
        for s in spec.switches {
            ports[s, default: []].sort { $0.port < $1.port }
            if let hs = hostsOf[s] {
                let uplinks = ports[s]!.filter(\.toSwitch).map(\.port)
                guard uplinks.count <= 16 else {
                    throw WorkloadError("leaf '\(spec.nodes[s].name)' has \(uplinks.count) uplinks; \(program) tags uplinks with 4 bits (at most 16)")
                }
                leaves.append(Leaf(node: s, name: spec.nodes[s].name, id: leaves.count + 1, uplinks: uplinks,
                                   hosts: hs.sorted { $0.0 < $1.0 }.map(\.1)))
            } else {
                spines.append(s)
            }
        }
        guard !leaves.isEmpty else { throw WorkloadError("\(program): the topology has no switch with hosts (no leaf)") }
    }

    /// The fastest link between switches: the rate a 3-bit metric is scaled for.
    var fabricRate: UInt64 {
        ports.values.flatMap { $0 }.filter(\.toSwitch).map(\.rate).max() ?? 100_000_000_000
    }

    /// `RateEstimator`'s per-port `dre_rate_shift` (log2 of the fabric rate over the port's,
    /// rounded) and `dre_config`'s metric shift (the default at 100 Gb/s, one more per doubling), on
    /// switch `node`.
    func configureRateEstimator(_ cp: any ControlPlane, node: Int) throws {
        let ref = Double(fabricRate)
        let metricShift = max(0, min(40, Int(RateEstimator.defaultMetricShift) + Int((log2(ref / 100e9)).rounded())))
        try cp.setDefault("dre_config", ActionCall("set_dre", [UInt128(RateEstimator.defaultPeriodShift), UInt128(metricShift)]))
        for p in ports[node] ?? [] {
            let shift = max(0, min(15, Int(log2(ref / Double(max(p.rate, 1))).rounded())))
            try cp.writeRegister("dre_rate_shift", index: Int(p.port), UInt64(shift))
        }
    }

    /// Host node -> leaf id.
    var leafOfHost: [Int: Int] {
        var m: [Int: Int] = [:]
        for l in leaves { for h in l.hosts { m[h] = l.id } }
        return m
    }
}

import SluiceControlPlane
import Testing
import SluiceEmulator
import SluicePrograms
import SluiceRuntime
@testable import SluiceML

/// `flowlet`, `conga` and `hula` against `ecmp-router` in the emulator: 2 leaves, 4 spines,
/// 4 hosts a leaf, 100 Gb/s, DCTCP with ECN at 100 KB. 4 pairs from leaf 1 to leaf 2 each send
/// 8 chunks of 1 MiB, the next 120 us after the last one's acknowledgement (a collective's
/// steps; more than the 100 us flowlet timeout), all starting together. Each seed fixes the
/// transport's source ports, so every scheme sees the same flows; figures are the slowest
/// pair's finish averaged over 6 seeds (a collective waits for its slowest flow).
@Suite struct LoadBalancingTests {
    static let yaml = """
        name: lb
        topology:
          generator: {leaf-spine: {spines: 4, leaves: 2, hosts-per-leaf: 4}}
          defaults:
            link: {rate: 100Gbps, delay: 1us, mtu: 4102, queue: {limit: 4MB, ecn: {kmin: 100KB, kmax: 100KB, pmax: 1}}}
            switch: {program: ecmp-router}
        """

    /// The topology: host links at MTU 4096 (links between switches keep 4102 for CONGA's 6
    /// bytes); `slowSpineLink`: the spine1 -- leaf2 link at 25 Gb/s.
    static func spec(slowSpineLink: Bool) throws -> TopologySpec {
        var spec = try TopologyFile.parse(yaml, file: "(lb)", baseDirectory: ".", programs: .builtIn)
        let spine1 = try #require(spec.node(named: "spine1")), leaf2 = try #require(spec.node(named: "leaf2"))
        for i in spec.links.indices {
            let ends = [spec.links[i].a.node, spec.links[i].b.node]
            if ends.contains(where: { spec.nodes[$0].isHost }) { spec.links[i].mtu = 4096 }
            if slowSpineLink && Set(ends) == [spine1, leaf2] { spec.links[i].rate = 25_000_000_000 }
        }
        return spec
    }

    static let pairs = [("h1", "h5"), ("h2", "h6"), ("h3", "h7"), ("h4", "h8")]
    static let seeds: [UInt64] = Array(1...6)

    /// The slowest pair's finish, in microseconds, averaged over the seeds.
    static func meanSlowest(_ program: String, _ spec: TopologySpec) throws -> Double {
        let slowest = try seeds.map { seed in
            let r = try ElephantRun.run(spec, program: program, pairs: pairs, chunks: 8, chunkBytes: 1 << 20,
                                        gap: 120_000_000, seed: seed, until: 50_000_000_000)
            #expect(!r.finish.contains(.max), "\(program) seed \(seed): every pair finishes")
            return Double(r.slowest) / 1e6
        }
        print("\(program): per seed \(slowest.map { Int($0) }) us")
        return slowest.reduce(0, +) / Double(slowest.count)
    }

    static func compare(_ programs: [String], slowSpineLink: Bool) throws -> (ecmp: Double, others: [String: Double]) {
        print("LoadBalancingTests seeds \(seeds), slow spine link: \(slowSpineLink)")
        let spec = try spec(slowSpineLink: slowSpineLink)
        let ecmp = try meanSlowest(ECMPRouter.name, spec)
        var others: [String: Double] = [:]
        for p in programs {
            others[p] = try meanSlowest(p, spec)
            print("\(p): mean \(Int(others[p]!)) us against ecmp-router's \(Int(ecmp)) us (\(Int(((1 - others[p]! / ecmp) * 100).rounded()))% less)")
        }
        return (ecmp, others)
    }

    /// Equal uplinks: ECMP keeps the flows it hashed onto one uplink together for every chunk;
    /// the others move each chunk (a flowlet). HULA is left out: the four pairs start their
    /// chunks in the same picosecond, and which sender's packet goes first then decides its
    /// lead. With events of one time ordered by insertion it measured 5% before ECMP (mean
    /// 2322 us against 2439); ordered by the node that scheduled them (the order every
    /// partitioning of a run computes alike), 2% after (2380 against 2339, per seed 2204,
    /// 2281, 2794, 2281, 2442, 2281 us): within what a tie-break moves, so no claim either way.
    @Test func loadBalancersFinishSynchronizedElephantsBeforeECMP() throws {
        let r = try Self.compare([Flowlet.name, CONGA.name], slowSpineLink: false)
        for (p, t) in r.others { #expect(t < r.ecmp, "\(p)") }
    }

    /// One spine link at a quarter rate: CONGA still finishes first (13% before ECMP).
    /// LetFlow is left out: its flowlets form only at chunk boundaries here, DCTCP at 100 Gb/s
    /// leaves no gaps above the timeout within a chunk, so it draws uniformly, the slow path
    /// included, for every chunk; it measured 29% slower than ECMP on this topology. HULA is
    /// left out too: it keeps one best hop per destination ToR, and the four pairs start their
    /// chunks within one probe period, so every chunk's flowlets follow the same hop; it
    /// measured 4% slower than ECMP (per seed 3081, 2292, 4472, 2292, 2702, 2292 us against
    /// 2277, 2584, 3652, 2825, 2279, 2825). Until the emulator gave each application only its
    /// own timers, HULA's probe agent on h1 fired h1's chunk timer every 10 us and h1's pair
    /// skipped its gaps, which had made HULA look 5% faster here.
    @Test func congestionAwareSchemesAvoidASlowSpineLink() throws {
        let r = try Self.compare([CONGA.name], slowSpineLink: true)
        for (p, t) in r.others { #expect(t < r.ecmp, "\(p)") }
    }

    /// An emulator of `spec` with every switch running `program` (`conga` or `hula`) and its
    /// setup applied, not yet run.
    static func prepared(_ program: String, _ spec: TopologySpec) throws -> Emulator {
        var spec = spec
        for s in spec.switches { spec.nodes[s].kind = .switch(SwitchSpec(program: program)) }
        spec.until = 1_000_000
        let emu = try Emulator(spec, programs: .builtIn)
        if program == CONGA.name { try CONGASetup.prepare(emu, spec) } else { try HULASetup.prepare(emu, spec) }
        return emu
    }

    /// What `CONGASetup` and `HULASetup` install on the generated leaf-spine (leaf ports 1-4
    /// hosts, 5-8 spines; spine port 2 faces leaf 2, at 25 Gb/s).
    @Test func setupsInstallLeafIdsUplinksMembersAndRateShifts() throws {
        for program in [CONGA.name, HULA.name] {
            let emu = try Self.prepared(program, try Self.spec(slowSpineLink: true))
            let leaf2: any ControlPlane = try emu.controlPlane(switch: "leaf2")
            let spine1: any ControlPlane = try emu.controlPlane(switch: "spine1")
            let p = program == CONGA.name ? "conga" : "hula"
            // Uplink i + 1 on ports 5 ... 8, nothing on host ports.
            #expect(try (1...8).map { try leaf2.readRegister("\(p)_uplink", index: $0) } == [0, 0, 0, 0, 1, 2, 3, 4], "\(program)")
            // The routing controller's group 1 at leaf 2 (to leaf 1's hosts): ports 5 ... 8.
            if program == CONGA.name {
                #expect(try (0..<4).map { try leaf2.readRegister("conga_member_port", index: 1 << 4 | $0) } == [5, 6, 7, 8])
            } else {
                #expect(try (0..<4).map { try leaf2.readRegister("hula_member", index: 1 << 4 | $0) } == [1, 2, 3, 4])
            }
            // The slow link's ends count a quarter of the bytes as full: rate shift 2.
            #expect(try leaf2.readRegister("dre_rate_shift", index: 5) == 2)
            #expect(try spine1.readRegister("dre_rate_shift", index: 2) == 2)
            #expect(try spine1.readRegister("dre_rate_shift", index: 1) == 0)
            // Leaf 2's id, and every host's leaf.
            let config = try leaf2.entries("\(p)_\(program == CONGA.name ? "leaf" : "tor")")
            #expect(config.count == 8)
            for (_, e) in config {
                guard case .lpm(let ip, 32) = e.matches[0] else { Issue.record("\(e)"); continue }
                #expect(e.action.args == [ip & 0xFF <= 4 ? 1 : 2], "\(e)")
            }
        }
    }

    /// `spec` with leaf1's link to spine1 removed, as the routing controller sees a failed
    /// link: leaf 1 keeps uplinks on ports 6 ... 8 (spine2 ... spine4), leaf 2 all four.
    static func failedLinkSpec() throws -> TopologySpec {
        var spec = try Self.spec(slowSpineLink: false)
        let leaf1 = try #require(spec.node(named: "leaf1")), spine1 = try #require(spec.node(named: "spine1"))
        let l = try #require(spec.links.firstIndex { Set([$0.a.node, $0.b.node]) == [leaf1, spine1] })
        spec.links.remove(at: l)
        return spec
    }

    /// With a failed link the leaves have different uplink counts: each leaf learns every
    /// leaf's count (CONGA's feedback goes round the other leaf's uplinks), uplink numbers skip
    /// the dead port, and no group holds it.
    @Test func aFailedLinkLeavesTheSetupsOnlyTheRemainingUplinks() throws {
        for program in [CONGA.name, HULA.name] {
            let spec = try Self.failedLinkSpec()
            let emu = try Self.prepared(program, spec)
            let leaf1: any ControlPlane = try emu.controlPlane(switch: "leaf1")
            let leaf2: any ControlPlane = try emu.controlPlane(switch: "leaf2")
            let p = program == CONGA.name ? "conga" : "hula"
            #expect(try (5...8).map { try leaf1.readRegister("\(p)_uplink", index: $0) } == [0, 1, 2, 3], "\(program)")
            #expect(try (5...8).map { try leaf2.readRegister("\(p)_uplink", index: $0) } == [1, 2, 3, 4], "\(program)")
            let leaf2Node = try #require(spec.node(named: "leaf2"))
            let groups = try #require(emu.routing?.groups[leaf2Node])
            let toLeaf1 = try #require(groups.first { $0.members.count == 3 }, "leaf 2's group to leaf 1's hosts: spine2 ... spine4")
            #expect(toLeaf1.members.map(\.port) == [6, 7, 8])
            let g = Int(toLeaf1.id) << 4
            if program == CONGA.name {
                #expect(try (0..<3).map { try leaf2.readRegister("conga_member_port", index: g | $0) } == [6, 7, 8])
                for cp in [leaf1, leaf2] {
                    #expect(try (1...2).map { try cp.readRegister("conga_leaf_uplinks", index: $0) } == [3, 4])
                }
            } else {
                // Uplink 0 (spine1, which no longer reaches leaf 1) is no member of the group.
                #expect(try (0..<4).map { try leaf2.readRegister("hula_member", index: g | $0) } == [0, 1, 2, 3])
            }
        }
    }

    /// Three elephants leave leaf 1 together over its three remaining uplinks: CONGA gives each
    /// its own (the flowlets that start first show in the local estimate before the next one
    /// chooses), so every uplink carries one flow's bytes. A flow's packets never leave by
    /// the dead port.
    @Test func congaSpreadsElephantsStartingTogetherOverTheRemainingUplinks() throws {
        let spec = try Self.failedLinkSpec()
        for seed in Self.seeds.prefix(4) {
            let r = try ElephantRun.run(spec, program: CONGA.name, pairs: [("h1", "h5"), ("h2", "h6"), ("h3", "h7")], chunks: 1,
                                        chunkBytes: 1 << 20, gap: 0, seed: seed, until: 5_000_000_000)
            #expect(!r.finish.contains(.max), "seed \(seed)")
            let uplinks = r.report.ports.filter { $0.node == "leaf1" && $0.peer.hasPrefix("spine") }.sorted { $0.port < $1.port }
            #expect(uplinks.map(\.port) == [6, 7, 8])
            let flow = Double(1 << 20)
            for u in uplinks {
                // One flow's payload plus headers (the overlay included), not two.
                #expect(Double(u.txBytes) > flow && Double(u.txBytes) < 1.1 * flow, "seed \(seed): uplink port \(u.port) sent \(u.txBytes) bytes")
            }
        }
    }

    @Test func congaRefusesFabricLinksWithoutRoomForItsHeader() throws {
        var spec = try Self.spec(slowSpineLink: false)
        for i in spec.links.indices { spec.links[i].mtu = 4096 }
        do {
            _ = try ElephantRun.run(spec, program: CONGA.name, pairs: Self.pairs, chunks: 1, chunkBytes: 1000, gap: 0, seed: 1, until: 1_000_000_000)
            Issue.record("conga ran with no room for its header")
        } catch {
            #expect("\(error)".contains("links between switches need an MTU of at least 4102 (the hosts' 4096 + 6)"), "\(error)")
        }
    }

    @Test func hulaNeedsATimeToStopItsProbes() throws {
        var spec = try Self.spec(slowSpineLink: false)
        for s in spec.switches { spec.nodes[s].kind = .switch(SwitchSpec(program: HULA.name)) }
        let emu = try Emulator(spec, programs: .builtIn)
        do {
            try HULASetup.prepare(emu, spec)
            Issue.record("prepare accepted a topology without `until`")
        } catch {
            #expect("\(error)" == "hula: the probe agents need a time to stop at: give the topology `until` (or pass stopAt)")
        }
    }
}

/// `sluice experiment lb`'s engine at a small size: every scheme of (a) and (b)-failed on the
/// same seed. ECMP's row is the reference (ratio 1); the allreduce moves the same bytes under
/// every scheme, so leaf1's uplinks carry 8 flows' worth; failing a link leaves 7 uplinks.
@Suite struct LoadBalancingExperimentTests {
    @Test func everySchemeCompletesTheAllreduceAndRatiosAreAgainstECMP() throws {
        var s = LoadBalancingExperiment.Settings()
        s.seeds = 1
        s.scale = 1.0 / 64
        s.scenarios = [.elephants, .failed]
        s.probesUntil = 20_000_000_000   // 20 ms: past the small allreduce, so HULA's probes stop early
        var emitted = 0
        let rows = try LoadBalancingExperiment.run(s, emit: { _ in emitted += 1 })
        #expect(rows.count == 2 * LoadBalancingExperiment.schemes.count && emitted == rows.count)
        for r in rows {
            #expect(r.completionS > 0 && r.completionS == r.completionMinS && r.completionS == r.completionMaxS, "\(r)")
            let ecmp = try #require(rows.first { $0.scenario == r.scenario && $0.scheme == "ecmp" })
            #expect(abs(try #require(r.ratioVsECMP) - r.completionS / ecmp.completionS) < 1e-12)
            // Flow-sized shares: at least 1 (8 flows over 8 uplinks), at most all 8.
            let busiest = try #require(r.busiestLinkFlows)
            #expect(busiest >= 1 - 1e-9 && busiest <= 8 + 1e-9, "\(r.scenario) \(r.scheme): \(busiest)")
        }
        #expect(rows.filter { $0.scheme == "ecmp" }.allSatisfy { $0.ratioVsECMP == 1 })
        // ECMP keeps each flow on one path: no reordering without drops.
        for r in rows where r.scheme == "ecmp" || r.scheme == "wcmp" {
            #expect(r.outOfOrderPackets == 0 || r.queueDrops > 0, "\(r)")
        }
        let table = LoadBalancingExperiment.table(rows)
        #expect(table.split(separator: "\n").count == rows.count + 1)
    }

    /// `flowletTimeout` reaches the switches: with 1 us nearly every pause starts a flowlet, so
    /// `flowlet` moves flows mid-chunk and reorders, which it does not with the default 100 us
    /// at this size; ECMP, which has no flowlet table, is the same either way.
    @Test func theFlowletTimeoutReachesTheSwitches() throws {
        var s = LoadBalancingExperiment.Settings()
        s.seeds = 1
        s.scale = 1.0 / 16
        s.scenarios = [.elephants]
        s.schemes = LoadBalancingExperiment.schemes.filter { ["ecmp", "flowlet"].contains($0.name) }
        let standard = try LoadBalancingExperiment.run(s)
        s.flowletTimeout = 1_000
        let short = try LoadBalancingExperiment.run(s)
        print("LoadBalancingExperimentTests flowlet timeout: default \(standard.map { ($0.scheme, $0.completionS, $0.outOfOrderPackets) }), 1 us \(short.map { ($0.scheme, $0.completionS, $0.outOfOrderPackets) })")
        #expect(standard[0].completionS == short[0].completionS && standard[0].outOfOrderPackets == short[0].outOfOrderPackets)
        #expect(standard[1].outOfOrderPackets == 0)
        #expect(short[1].outOfOrderPackets > 0 && short[1].completionS != standard[1].completionS)
    }
}

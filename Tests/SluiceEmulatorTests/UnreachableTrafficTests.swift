import Testing
@testable import SluiceEmulator

/// Traffic between hosts that no path of links joins is refused when the topology is read,
/// naming the flow or job and both hosts; without the check the transport retransmitted into
/// the void until virtual time overflowed and the run trapped.
@Suite struct UnreachableTrafficTests {
    /// Two islands: s1 with h1 and h2, s2 with h3; no link between s1 and s2. Lines 1-14.
    static let islands = """
        name: islands
        topology:
          defaults:
            switch: {program: ecmp-router}
          nodes:
            s1: {kind: switch}
            s2: {kind: switch}
            h1: {kind: host}
            h2: {kind: host}
            h3: {kind: host}
          links:
            - endpoints: ["s1:p1", "h1:eth0"]
            - endpoints: ["s1:p2", "h2:eth0"]
            - endpoints: ["s2:p1", "h3:eth0"]

        """

    static func failure(_ yaml: String) -> String {
        do { _ = try TopologyFile.parse(yaml, file: "islands.yaml", baseDirectory: ".", programs: .builtIn); return "no error" } catch { return error.description }
    }

    @Test func aFlowToAnotherIslandIsRefusedWithItsLine() {
        let yaml = Self.islands + """
            traffic:
              - {kind: bulk, from: h1, to: h2, size: 1MB}
              - {kind: bulk, from: h1, to: h3, size: 1MB}
            """
        #expect(Self.failure(yaml) == "islands.yaml:17: traffic[1]: flow 1 (h1 -> h3): h3 cannot be reached from h1: no path of links between them (valid: hosts connected through switches)")
    }

    @Test func aPatternThatCrossesIslandsIsRefused() {
        let yaml = Self.islands + """
            traffic:
              - {pattern: shift, offset: 1, kind: udp, rate: 1Gbps, size: 10KB}
            """
        // h1 -> h2 is fine; h2 -> h3 is the second flow of the expansion.
        #expect(Self.failure(yaml) == "islands.yaml:16: traffic[0]: flow 1 (h2 -> h3): h3 cannot be reached from h2: no path of links between them (valid: hosts connected through switches)")
    }

    @Test func aJobAcrossIslandsIsRefused() {
        let yaml = Self.islands + """
            jobs:
              - workload: background
                hosts: [h1, h2, h3]
            """
        #expect(Self.failure(yaml) == "islands.yaml:17: jobs[0].hosts: job 'job1' (h1 -> h3): h3 cannot be reached from h1: no path of links between them (valid: hosts connected through switches)")
    }

    @Test func aJobAggregatedByAnUnreachableSwitchIsRefused() {
        let yaml = Self.islands + """
            jobs:
              - workload: background
                hosts: [h1, h2]
                switch: s2
            """
        #expect(Self.failure(yaml) == "islands.yaml:18: jobs[0].switch: job 'job1' (h1 -> s2): s2 cannot be reached from h1: no path of links between them (valid: hosts connected through switches)")
    }

    @Test func trafficWithinAnIslandIsAccepted() throws {
        let spec = try TopologyFile.parse(Self.islands + """
            traffic:
              - {kind: bulk, from: h1, to: h2, size: 1MB}
            jobs:
              - {workload: background, hosts: [h1, h2]}
            """, file: "islands.yaml", baseDirectory: ".", programs: .builtIn)
        #expect(spec.flows.count == 1 && spec.jobs.map(\.hosts) == [["h1", "h2"]])
    }

    /// A spec built in code (no file) gets the same check when the emulator is built.
    @Test func theEmulatorRefusesAnUnreachableFlowOfASpecBuiltInCode() throws {
        var spec = try TopologyFile.parse(Self.islands, file: "islands.yaml", baseDirectory: ".", programs: .builtIn)
        spec.flows = [FlowSpec(kind: .bulk, src: spec.node(named: "h2")!, dst: spec.node(named: "h3")!, bytes: 1000)]
        #expect(throws: EmulatorError.self) { try Emulator(spec, programs: .builtIn) }
        do { _ = try Emulator(spec, programs: .builtIn) } catch {
            #expect("\(error)" == "flow 0 (h2 -> h3): h3 cannot be reached from h2: no path of links between them (valid: hosts connected through switches)")
        }
    }
}

import Testing
@testable import SluiceEmulator

@Suite struct TopologySpecTests {
    @Test func hostsAndSwitchesAreListedInNodeOrder() {
        let t = TopologySpec(name: "t", nodes: [
            NodeSpec(name: "s1", kind: .switch(SwitchSpec(program: "ecmp-router")), mac: 1),
            NodeSpec(name: "h1", kind: .host(HostSpec(ipv4: 0x0A00_0001)), mac: 2),
        ])
        #expect(t.hosts == [1])
        #expect(t.switches == [0])
        #expect(t.node(named: "h1") == 1)
    }
}

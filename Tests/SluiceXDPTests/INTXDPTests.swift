import SluiceControlPlane
import Foundation
import Testing
import SluiceEBPF
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// `int-md` at XDP: it compiles to eBPF C, the kernel verifier takes it, and a source hop run
/// with BPF_PROG_TEST_RUN writes what the runtime writes, the values XDP cannot observe (hop
/// latency, queue and buffer occupancy, egress timestamp: `optional`) as all ones.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct INTXDPTests {
    static let entries = """
        table_set_default switch_mac set_switch_mac 02:00:00:00:0a:01
        table_add ipv4_lpm forward 10.0.2.2/32 => 10 02:00:00:00:0a:02
        table_set_default int_config int_config 1 10.0.255.1 1500
        table_add int_watchlist int_source 1&&&0x1FF 0&&&0 0&&&0 17&&&0xFF 0&&&0 0&&&0 => 0xFF80 8 10
        """

    /// Loading runs the kernel verifier (it takes the program), then one packet.
    @Test func theVerifierTakesItAndASourceHopAgreesWithTheRuntime() throws {
        let ir = try INTProgram.program().verified()
        let xdp = try XDPProgram(ir)
        try EntriesFile(file: "<entries>", text: Self.entries).apply(to: try XDPControlPlane(xdp))
        let runtime = try SwitchHarness(ir, entries: Self.entries)
        let packet = Packet.ethernet(dst: "02:00:00:00:0a:01", src: "00:00:00:00:01:01")
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: 10, id: 7, ttl: 64)
            .udp(sport: 5000, dport: 6000).payload(count: 40).bytes
        try runtime.send(packet, port: 1, timestamp: 0)
        let soft = runtime.drain()
        try #require(soft.count == 1 && soft[0].port == 10)
        let k = try xdp.run(packet, port: 1)
        #expect(k.forwarded && k.port == 10, "verdict \(k.verdict) port \(k.port)")
        // The source's metadata starts after Ethernet, IPv4, UDP, shim and header (58 bytes):
        // node 4, l1 ports 4, latency 4, queue 4, ingress ts 8, egress ts 8, l2 8, tx 4, buffer 4, complement 4.
        let md = 58
        #expect(Array(k.bytes[md + 8..<md + 12]) == [0xFF, 0xFF, 0xFF, 0xFF], "hop latency")
        #expect(Array(k.bytes[md + 12..<md + 16]) == [0x00, 0xFF, 0xFF, 0xFF], "queue id 0, occupancy all ones")
        #expect(Array(k.bytes[md + 24..<md + 32]) == [UInt8](repeating: 0xFF, count: 8), "egress timestamp")
        #expect(Array(k.bytes[md + 44..<md + 48]) == [0x00, 0xFF, 0xFF, 0xFF], "buffer id 0, occupancy all ones")
        // Everything else as the runtime wrote it, but the ingress timestamp (the kernel's clock)
        // and the complement that covers it.
        let expected = ExpectedPacket(soft[0].bytes).ignoring(bytes: md + 16..<md + 24).ignoring(bytes: md + 50..<md + 52)
        #expect(expected.matches(k.bytes), "\(k.bytes) vs \(soft[0].bytes)")
        #expect(parse(k.bytes).udp?.checksumValid == true)
        #expect(parse(k.bytes).ipv4?.checksumValid == true)
    }

    @Test func theCHasAllOnesForOptionalValuesAndCutsReports() throws {
        let c = try EBPFBackend.emitC(INTProgram.program().verified())
        #expect(!c.contains("std[\(EBPFLayout.standardSlot(.enqQdepth))]"), "no queue value is read")
        #expect(c.contains("0xFFFFFFULL"))
        #expect(c.contains("bpf_xdp_adjust_tail"))
        #expect(c.contains("/* advance_bytes */"))
    }
}

import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `flowlet` (LetFlow): a flow keeps its member while its packets are at most the
/// flowlet timeout apart, and takes the member of a CRC-32 of its 5-tuple and the clock
/// (checked against `ECMPRouterTests`' bit-by-bit CRC) after a longer gap.
@Suite struct FlowletTests {
    /// Group 1 (4 members) sends member i out of port 10 + i; timeout 50 us.
    static let entries = """
        table_set_default switch_mac set_switch_mac 02:00:00:00:0a:01
        table_set_default flowlet_config set_flowlet_timeout 50000
        table_add ipv4_lpm forward 10.0.1.1/32 => 1 08:00:00:00:01:11
        table_add ipv4_lpm ecmp 10.0.2.0/24 => 1 4
        table_add ecmp_nhop forward 1 0 => 10 08:00:00:00:0a:00
        table_add ecmp_nhop forward 1 1 => 11 08:00:00:00:0a:01
        table_add ecmp_nhop forward 1 2 => 12 08:00:00:00:0a:02
        table_add ecmp_nhop forward 1 3 => 13 08:00:00:00:0a:03
        """
    static let timeout: UInt64 = 50_000

    func harness(_ entries: String = Self.entries) throws -> SwitchHarness {
        try SwitchHarness(Flowlet.program(slots: 1024).verified(), entries: entries)
    }

    typealias Flow = ECMPRouterTests.Flow

    /// The member a new flowlet of `f` starting at `t` ns must take: the CRC-32 of the 5-tuple
    /// and the 48-bit timestamp (big-endian), low 16 bits scaled onto the count.
    static func newMember(_ f: Flow, at t: UInt64, count: UInt32 = 4) -> UInt16 {
        let stamp = (0..<6).map { UInt8(truncatingIfNeeded: t >> (40 - 8 * $0)) }
        return UInt16(((ECMPRouterTests.crc32(f.tuple() + stamp) & 0xFFFF) * count) >> 16)
    }

    /// The ports a flow's packets at `times` must leave by: a new draw whenever the gap to the
    /// previous packet exceeds the timeout, else the previous port.
    static func expectedPorts(_ f: Flow, times: [UInt64]) -> [UInt16] {
        var out: [UInt16] = []
        for (i, t) in times.enumerated() {
            if i > 0 && t - times[i - 1] <= timeout { out.append(out[i - 1]) } else { out.append(10 + newMember(f, at: t)) }
        }
        return out
    }

    func send(_ h: SwitchHarness, _ f: Flow, at t: UInt64) throws -> UInt16 {
        try h.send(f.packet().bytes, port: 0, timestamp: t)
        let out = h.drain()
        try #require(out.count == 1, "expected one output, got \(out.map(\.port))")
        return out[0].port
    }

    @Test func aFlowStaysOnOnePortWhileItsGapsAreBelowTheTimeout() throws {
        let h = try harness()
        for f in ECMPRouterTests.randomFlows(16, dstNet: 0x0A00_0200, seed: 7) {
            // 200 packets 1 ... 50 us apart (the last at exactly the timeout): one flowlet.
            var t: UInt64 = 1_000_000, times: [UInt64] = []
            for i in 0..<200 { t += i == 199 ? Self.timeout : UInt64(1000 + (i * 997) % 40_000); times.append(t) }
            let ports = try times.map { try send(h, f, at: $0) }
            #expect(Set(ports).count == 1, "\(f): \(ports)")
            #expect(ports[0] == 10 + Self.newMember(f, at: times[0]), "\(f)")
        }
    }

    @Test func aGapAboveTheTimeoutDrawsAgainFromTheHashOfTupleAndClock() throws {
        let h = try harness()
        let f = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 17, sport: 0xC001, dport: 4791)
        // Bursts of 5 packets 2 us apart, separated by gaps just above the timeout.
        var times: [UInt64] = [], t: UInt64 = 5_000_000
        for _ in 0..<40 {
            for _ in 0..<5 { t += 2000; times.append(t) }
            t += Self.timeout + 1
        }
        let ports = try times.map { try send(h, f, at: $0) }
        let expected = Self.expectedPorts(f, times: times)
        #expect(ports == expected)
        // The flow did move (otherwise the test would not tell a flowlet switch from ECMP),
        // and only at gaps: every burst is on one port.
        #expect(Set(expected).count > 1)
        for b in 0..<40 { #expect(Set(ports[5 * b ..< 5 * b + 5]).count == 1) }
    }

    @Test func theTimeoutIsTheDefaultActionOfFlowletConfig() throws {
        // Default 100 us: a 60 us gap keeps the port; with 50 us configured it does not.
        let f = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 6, sport: 40000, dport: 80)
        #expect(Flowlet.program().ir.tables.first { $0.name == "flowlet_config" }?.defaultAction.args == [100_000])
        let defaults = try harness(Self.entries.replacingOccurrences(of: "table_set_default flowlet_config set_flowlet_timeout 50000\n", with: ""))
        let configured = try harness()
        // Pick starts whose draws differ so that a redraw is visible.
        var start: UInt64 = 1_000_000
        while Self.newMember(f, at: start) == Self.newMember(f, at: start + 60_000) { start += 1 }
        for (h, moves) in [(defaults, false), (configured, true)] {
            let a = try send(h, f, at: start), b = try send(h, f, at: start + 60_000)
            #expect(a == 10 + Self.newMember(f, at: start))
            #expect(b == (moves ? 10 + Self.newMember(f, at: start + 60_000) : a))
        }
    }

    @Test func flowletPacketsAreRewrittenLikeECMPs() throws {
        let h = try harness()
        let f = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 17, sport: 1234, dport: 80)
        let m = Self.newMember(f, at: 3_000_000)
        try h.send(f.packet().bytes, port: 0, timestamp: 3_000_000)
        let expected = Packet.ethernet(dst: MACAddress(value: 0x0800_0000_0A00 | UInt64(m)), src: "02:00:00:00:0a:01")
            .ipv4(src: f.src, dst: f.dst, ttl: 63)
            .udp(sport: f.sport, dport: f.dport)
            .payload(count: 10)
        try h.expect(expected.bytes, port: 10 + UInt16(m))
        try h.expectNoOtherPackets()
        // The cell holds the time and member + 1.
        let slot = Int(ECMPRouterTests.crc32(f.tuple()) & 1023)
        #expect(try h.pipeline.readRegister("flowlet", index: slot) == 3_000_000 << 16 | UInt64(m + 1))
    }

    @Test func singleNextHopsAndDropsAreECMPRoutersAndLeaveTheTableAlone() throws {
        let h = try harness()
        let f = Flow(src: "10.0.9.9", dst: "10.0.1.1", proto: 17, sport: 1, dport: 2)
        #expect(try send(h, f, at: 1000) == 1)
        try h.send(f.packet(ttl: 1).bytes, port: 0, timestamp: 2000)
        #expect(h.drain().isEmpty)
        for i in 0..<1024 { #expect(try h.pipeline.readRegister("flowlet", index: i) == 0) }
    }

    /// A member stored by a flow of a larger group sharing the cell is not reused beyond the
    /// smaller group's size: the packet starts a new flowlet instead of missing `ecmp_nhop`.
    @Test func aStoredMemberOutsideTheGroupStartsANewFlowlet() throws {
        let h = try harness(Self.entries + "\ntable_add ipv4_lpm ecmp 10.0.3.0/24 => 1 2")
        let f = Flow(src: "10.0.9.9", dst: "10.0.3.3", proto: 17, sport: 7, dport: 9)
        let slot = Int(ECMPRouterTests.crc32(f.tuple()) & 1023)
        try h.pipeline.writeRegister("flowlet", index: slot, 999_000 << 16 | 4)   // member 3, 1 us ago
        #expect(try send(h, f, at: 1_000_000) == 10 + Self.newMember(f, at: 1_000_000, count: 2))
    }
}

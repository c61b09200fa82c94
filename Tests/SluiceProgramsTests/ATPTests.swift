import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// `atp` packet by packet: exact bytes for what goes to the parameter server and what the
/// workers get back.
@Suite struct ATPTests {
    static let switchMAC: MACAddress = "02:00:00:00:0a:01"
    static let server = (ip: IPv4Address("10.0.0.9"), mac: MACAddress("02:00:00:00:00:09"), port: UInt16(9))

    static func worker(_ w: Int) -> (ip: IPv4Address, mac: MACAddress, port: UInt16) {
        (IPv4Address(value: 0x0A00_0001 + UInt32(w)), MACAddress(value: 0x0200_0000_0001 + UInt64(w)), UInt16(w + 1))
    }

    /// A switch with `aggregators` aggregators, job 1 = workers 0, 1, 2 (server 10.0.0.9 on port
    /// 9), job 2 = workers 3, 4 (same server), and a route to the server.
    func harness(aggregators: Int = 64) throws -> SwitchHarness {
        let h = try SwitchHarness(ATP.program(k: 64, aggregators: aggregators).verified())
        try h.pipeline.setDefault("switch_mac", ActionCall("set_switch_mac", [UInt128(Self.switchMAC.value)]))
        _ = try h.pipeline.upsert("ipv4_lpm", TableEntry([.lpm(UInt128(Self.server.ip.value), prefixLength: 32)],
                                                          ActionCall("forward", [UInt128(Self.server.port), UInt128(Self.server.mac.value)])))
        for (job, members) in [(UInt8(1), [0, 1, 2]), (2, [3, 4])] {
            let ws = members.map { w in
                let m = Self.worker(w)
                return SwitchML.Worker(ip: m.ip.value, mac: m.mac.value, udpPort: 41000 + UInt16(job), switchPort: m.port)
            }
            try ATP.install(ATP.Job(job: job, serverIP: Self.server.ip.value, group: 100 + UInt16(job), workers: ws), into: h.pipeline)
        }
        return h
    }

    static func atp(bitmap: UInt32, workers: UInt8, job: UInt8, flags: UInt8, seq: UInt32, values: [Int32]) -> [UInt8] {
        var b: [UInt8] = (0..<4).map { UInt8(truncatingIfNeeded: bitmap >> (24 - 8 * UInt32($0))) }
        b += [workers, job, flags, 64]
        b += (0..<4).map { UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32($0))) }
        for v in values { b += (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> (24 - 8 * UInt32($0))) } }
        return b
    }

    /// An update from worker w (its bit in a job of `n`) to the server.
    static func update(_ w: Int, bit: Int, n: UInt8, job: UInt8 = 1, seq: UInt32, flags: UInt8 = 0, values: [Int32]) -> [UInt8] {
        let m = worker(w)
        return Packet.ethernet(dst: switchMAC, src: m.mac).ipv4(src: m.ip, dst: server.ip, ttl: 64)
            .udp(sport: 41000 + UInt16(job), dport: ATP.updatePort, checksum: 0)
            .payload(atp(bitmap: 1 << UInt32(bit), workers: n, job: job, flags: flags, seq: seq, values: values)).bytes
    }

    /// What reaches the server for an update from `src` carrying `bitmap`, `flags` and `values`.
    static func atServer(from w: Int, job: UInt8 = 1, n: UInt8, bitmap: UInt32, flags: UInt8, seq: UInt32, values: [Int32]) -> [UInt8] {
        let m = worker(w)
        return Packet.ethernet(dst: server.mac, src: switchMAC).ipv4(src: m.ip, dst: server.ip, ttl: 63)
            .udp(sport: 41000 + UInt16(job), dport: ATP.updatePort, checksum: 0)
            .payload(atp(bitmap: bitmap, workers: n, job: job, flags: flags, seq: seq, values: values)).bytes
    }

    static func vector(_ s: Int32) -> [Int32] { (0..<64).map { s &* 1_000_003 &+ Int32($0) &* 7919 } }
    static func sum(_ vs: [[Int32]]) -> [Int32] { vs.dropFirst().reduce(vs[0]) { zip($0, $1).map { $0 &+ $1 } } }

    @Test func theLastContributionTakesTheSumToTheServer() throws {
        let h = try harness()
        let v = (0..<3).map { Self.vector(Int32($0) + 1) }
        try h.send(Self.update(0, bit: 0, n: 3, seq: 5, values: v[0]), port: 1)
        try h.send(Self.update(1, bit: 1, n: 3, seq: 5, values: v[1]), port: 2)
        try h.send(Self.update(1, bit: 1, n: 3, seq: 5, values: v[1]), port: 2)   // duplicate: not counted
        try h.expectNoOtherPackets()
        try h.send(Self.update(2, bit: 2, n: 3, seq: 5, values: v[2]), port: 3)
        try h.expect(Self.atServer(from: 2, n: 3, bitmap: 7, flags: ATP.aggregated, seq: 5, values: Self.sum(v)), port: 9)
        try h.expectNoOtherPackets()
    }

    /// With one aggregator every sequence hashes to it: a second (job, seq) collides and goes
    /// on unaggregated; the server's result frees the aggregator and is multicast with each
    /// worker's address; then the other sequence can claim it.
    @Test func collisionsGoToTheServerAndResultsFreeTheAggregator() throws {
        let h = try harness(aggregators: 1)
        let a = Self.vector(10), b = Self.vector(20)
        try h.send(Self.update(0, bit: 0, n: 3, seq: 1, values: a), port: 1)          // claims
        try h.send(Self.update(3, bit: 0, n: 2, job: 2, seq: 1, values: b), port: 4)  // job 2: collision
        try h.expect(Self.atServer(from: 3, job: 2, n: 2, bitmap: 1, flags: ATP.collision, seq: 1, values: b), port: 9)
        try h.send(Self.update(1, bit: 1, n: 3, seq: 2, values: b), port: 2)          // job 1, seq 2: collision too
        try h.expect(Self.atServer(from: 1, n: 3, bitmap: 2, flags: ATP.collision, seq: 2, values: b), port: 9)
        try h.expectNoOtherPackets()
        // The server's result for job 1 seq 1 (it had the rest in software): freed, multicast.
        let sum = Self.sum([a, b, b])
        let result = Packet.ethernet(dst: Self.switchMAC, src: Self.server.mac).ipv4(src: Self.server.ip, dst: "10.255.255.1", ttl: 64)
            .udp(sport: ATP.updatePort, dport: ATP.resultPort, checksum: 0)
            .payload(Self.atp(bitmap: 7, workers: 3, job: 1, flags: ATP.result, seq: 1, values: sum)).bytes
        try h.send(result, port: 9)
        for w in 0..<3 {
            let m = Self.worker(w)
            let expected = Packet.ethernet(dst: m.mac, src: Self.server.mac).ipv4(src: Self.server.ip, dst: m.ip, ttl: 64)
                .udp(sport: ATP.updatePort, dport: 41001, checksum: 0)
                .payload(Self.atp(bitmap: 7, workers: 3, job: 1, flags: ATP.result, seq: 1, values: sum)).bytes
            try h.expect(expected, port: m.port)
        }
        try h.expectNoOtherPackets()
        // Free again: job 2's seq 1 claims it now (consumed, one of two).
        try h.send(Self.update(4, bit: 1, n: 2, job: 2, seq: 1, values: a), port: 5)
        try h.expectNoOtherPackets()
    }

    @Test func aResendEvictsThePartialAggregate() throws {
        let h = try harness()
        let v = [Self.vector(3), Self.vector(4)]
        try h.send(Self.update(0, bit: 0, n: 3, seq: 8, values: v[0]), port: 1)
        try h.send(Self.update(1, bit: 1, n: 3, seq: 8, values: v[1]), port: 2)
        try h.expectNoOtherPackets()
        // Worker 0's timer fires: the partial (bits 0 and 1) goes to the server, flagged.
        try h.send(Self.update(0, bit: 0, n: 3, seq: 8, flags: ATP.resend, values: v[0]), port: 1)
        try h.expect(Self.atServer(from: 0, n: 3, bitmap: 3, flags: ATP.resend | ATP.aggregated, seq: 8, values: Self.sum(v)), port: 9)
        // Freed: the next resend of the same sequence goes on alone, unaggregated.
        try h.send(Self.update(1, bit: 1, n: 3, seq: 8, flags: ATP.resend, values: v[1]), port: 2)
        try h.expect(Self.atServer(from: 1, n: 3, bitmap: 2, flags: ATP.resend, seq: 8, values: v[1]), port: 9)
        try h.expectNoOtherPackets()
    }

    @Test func strangersAndForgedJobsAreDropped() throws {
        let h = try harness()
        let v = Self.vector(5)
        try h.expectDropped(Self.update(7, bit: 0, n: 3, seq: 1, values: v), port: 8)            // no entry
        try h.expectDropped(Self.update(3, bit: 0, n: 2, job: 1, seq: 1, values: v), port: 4)    // job 2's worker claims job 1
        // A result from a host that is not the job's server is not multicast.
        let forged = Packet.ethernet(dst: Self.switchMAC, src: Self.worker(0).mac).ipv4(src: Self.worker(0).ip, dst: "10.255.255.1", ttl: 64)
            .udp(sport: ATP.updatePort, dport: ATP.resultPort, checksum: 0)
            .payload(Self.atp(bitmap: 7, workers: 3, job: 1, flags: ATP.result, seq: 1, values: v)).bytes
        try h.expectDropped(forged, port: 1)
    }
}

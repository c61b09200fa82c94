import SluiceTestingML
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// `atp` packet by packet: exact bytes for what goes to the parameter server and what the
/// workers get back.
@Suite struct ATPTests {
    /// A switch with `aggregators` aggregators and `ATPPackets.install`'s jobs and route.
    func harness(aggregators: Int = 64) throws -> SwitchHarness {
        let h = try SwitchHarness(ATP.program(k: 64, aggregators: aggregators).verified())
        try ATPPackets.install(into: h.pipeline)
        return h
    }

    @Test func theLastContributionTakesTheSumToTheServer() throws {
        let h = try harness()
        let v = (0..<3).map { ATPPackets.vector(Int32($0) + 1) }
        try h.send(ATPPackets.update(0, bit: 0, n: 3, seq: 5, values: v[0]), port: 1)
        try h.send(ATPPackets.update(1, bit: 1, n: 3, seq: 5, values: v[1]), port: 2)
        try h.send(ATPPackets.update(1, bit: 1, n: 3, seq: 5, values: v[1]), port: 2)   // duplicate: not counted
        try h.expectNoOtherPackets()
        try h.send(ATPPackets.update(2, bit: 2, n: 3, seq: 5, values: v[2]), port: 3)
        try h.expect(ATPPackets.atServer(from: 2, n: 3, bitmap: 7, flags: ATP.aggregated, seq: 5, values: ATPPackets.sum(v)), port: 9)
        try h.expectNoOtherPackets()
    }

    /// With one aggregator every sequence hashes to it: a second (job, seq) collides and goes
    /// on unaggregated; the server's result frees the aggregator and is multicast with each
    /// worker's address; then the other sequence can claim it.
    @Test func collisionsGoToTheServerAndResultsFreeTheAggregator() throws {
        let h = try harness(aggregators: 1)
        let a = ATPPackets.vector(10), b = ATPPackets.vector(20)
        try h.send(ATPPackets.update(0, bit: 0, n: 3, seq: 1, values: a), port: 1)          // claims
        try h.send(ATPPackets.update(3, bit: 0, n: 2, job: 2, seq: 1, values: b), port: 4)  // job 2: collision
        try h.expect(ATPPackets.atServer(from: 3, job: 2, n: 2, bitmap: 1, flags: ATP.collision, seq: 1, values: b), port: 9)
        try h.send(ATPPackets.update(1, bit: 1, n: 3, seq: 2, values: b), port: 2)          // job 1, seq 2: collision too
        try h.expect(ATPPackets.atServer(from: 1, n: 3, bitmap: 2, flags: ATP.collision, seq: 2, values: b), port: 9)
        try h.expectNoOtherPackets()
        // The server's result for job 1 seq 1 (it had the rest in software): freed, multicast.
        let sum = ATPPackets.sum([a, b, b])
        let result = Packet.ethernet(dst: ATPPackets.switchMAC, src: ATPPackets.server.mac).ipv4(src: ATPPackets.server.ip, dst: "10.255.255.1", ttl: 64)
            .udp(sport: ATP.updatePort, dport: ATP.resultPort, checksum: 0)
            .payload(ATPPackets.atp(bitmap: 7, workers: 3, job: 1, flags: ATP.result, seq: 1, values: sum)).bytes
        try h.send(result, port: 9)
        for w in 0..<3 {
            let m = ATPPackets.worker(w)
            let expected = Packet.ethernet(dst: m.mac, src: ATPPackets.server.mac).ipv4(src: ATPPackets.server.ip, dst: m.ip, ttl: 64)
                .udp(sport: ATP.updatePort, dport: 41001, checksum: 0)
                .payload(ATPPackets.atp(bitmap: 7, workers: 3, job: 1, flags: ATP.result, seq: 1, values: sum)).bytes
            try h.expect(expected, port: m.port)
        }
        try h.expectNoOtherPackets()
        // Free again: job 2's seq 1 claims it now (consumed, one of two).
        try h.send(ATPPackets.update(4, bit: 1, n: 2, job: 2, seq: 1, values: a), port: 5)
        try h.expectNoOtherPackets()
    }

    @Test func aResendEvictsThePartialAggregate() throws {
        let h = try harness()
        let v = [ATPPackets.vector(3), ATPPackets.vector(4)]
        try h.send(ATPPackets.update(0, bit: 0, n: 3, seq: 8, values: v[0]), port: 1)
        try h.send(ATPPackets.update(1, bit: 1, n: 3, seq: 8, values: v[1]), port: 2)
        try h.expectNoOtherPackets()
        // Worker 0's timer fires: the partial (bits 0 and 1) goes to the server, flagged.
        try h.send(ATPPackets.update(0, bit: 0, n: 3, seq: 8, flags: ATP.resend, values: v[0]), port: 1)
        try h.expect(ATPPackets.atServer(from: 0, n: 3, bitmap: 3, flags: ATP.resend | ATP.aggregated, seq: 8, values: ATPPackets.sum(v)), port: 9)
        // Freed: the next resend of the same sequence goes on alone, unaggregated.
        try h.send(ATPPackets.update(1, bit: 1, n: 3, seq: 8, flags: ATP.resend, values: v[1]), port: 2)
        try h.expect(ATPPackets.atServer(from: 1, n: 3, bitmap: 2, flags: ATP.resend, seq: 8, values: v[1]), port: 9)
        try h.expectNoOtherPackets()
    }

    @Test func strangersAndForgedJobsAreDropped() throws {
        let h = try harness()
        let v = ATPPackets.vector(5)
        try h.expectDropped(ATPPackets.update(7, bit: 0, n: 3, seq: 1, values: v), port: 8)            // no entry
        try h.expectDropped(ATPPackets.update(3, bit: 0, n: 2, job: 1, seq: 1, values: v), port: 4)    // job 2's worker claims job 1
        // A result from a host that is not the job's server is not multicast.
        let forged = Packet.ethernet(dst: ATPPackets.switchMAC, src: ATPPackets.worker(0).mac).ipv4(src: ATPPackets.worker(0).ip, dst: "10.255.255.1", ttl: 64)
            .udp(sport: ATP.updatePort, dport: ATP.resultPort, checksum: 0)
            .payload(ATPPackets.atp(bitmap: 7, workers: 3, job: 1, flags: ATP.result, seq: 1, values: v)).bytes
        try h.expectDropped(forged, port: 1)
    }
}

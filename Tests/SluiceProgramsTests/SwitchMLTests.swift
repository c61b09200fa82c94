import SluiceTestingML
import SluiceControlPlane
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// `switchml` packet by packet: updates in, exact result bytes out (`SwitchMLPackets`: the
/// packet builder computes the IPv4 checksum independently of the program).
@Suite struct SwitchMLTests {
    /// A switch with `jobs`: (job id, UDP port, slot base, slots, workers (by member index)).
    func harness(k: Int = 32, pool: Int = 16, shadow: Bool = true,
                 jobs: [(UInt8, UInt16, Int, Int, [Int])] = [(1, 0xBEE1, 0, 8, [0, 1, 2])]) throws -> SwitchHarness {
        let h = try SwitchHarness(SwitchML.program(k: k, slots: pool, shadow: shadow).verified())
        for (job, port, base, slots, members) in jobs {
            let workers = members.map { SwitchMLPackets.worker($0, job: job) }
            try SwitchML.install(SwitchML.Job(job: job, udpPort: port, slotBase: base, slots: slots, group: UInt16(job) + 1, workers: workers),
                                 into: h.pipeline)
        }
        return h
    }

    @Test func theLastUpdateMulticastsTheSumToEveryWorker() throws {
        let h = try harness()
        let v = [SwitchMLPackets.vector(1), SwitchMLPackets.vector(-2), [Int32.max] + Array(repeating: 5, count: 31)]
        try h.send(SwitchMLPackets.update(0, e0: 3, e1: 9, values: v[0]), port: 1)
        try h.send(SwitchMLPackets.update(1, e0: 200, e1: 1, values: v[1]), port: 2)
        try h.expectNoOtherPackets()                       // consumed until the last one
        try h.send(SwitchMLPackets.update(2, e0: 7, e1: 4, values: v[2]), port: 3)
        let sum = SwitchMLPackets.sum(v)                               // wraps at Int32.max
        for w in 0..<3 { try h.expect(SwitchMLPackets.result(to: w, e0: 200, e1: 9, values: sum), port: UInt16(w + 1)) }
        try h.expectNoOtherPackets()
    }

    @Test func aRetransmissionToACompleteSlotGetsTheStoredResultAlone() throws {
        let h = try harness()
        let v = (0..<3).map { SwitchMLPackets.vector(Int32($0) + 10) }
        for w in 0..<3 { try h.send(SwitchMLPackets.update(w, e0: UInt8(w), values: v[w]), port: UInt16(w + 1)) }
        _ = h.drain()
        // Worker 1 lost its result: its update again, the stored result comes back to it alone.
        try h.send(SwitchMLPackets.update(1, e0: 1, values: v[1]), port: 2)
        try h.expect(SwitchMLPackets.result(to: 1, e0: 2, values: SwitchMLPackets.sum(v)), port: 2)
        try h.expectNoOtherPackets()
        // The next round uses the other set; set 0 still answers retransmissions of round one.
        try h.send(SwitchMLPackets.update(0, set: 1, values: v[0]), port: 1)
        try h.expectNoOtherPackets()
        try h.send(SwitchMLPackets.update(2, values: v[2]), port: 3)
        try h.expect(SwitchMLPackets.result(to: 2, e0: 2, values: SwitchMLPackets.sum(v)), port: 3)
        try h.expectNoOtherPackets()
    }

    @Test func aRetransmissionToAnIncompleteSlotIsDroppedAndNotCountedTwice() throws {
        let h = try harness()
        let v = (0..<3).map { SwitchMLPackets.vector(Int32($0) + 20) }
        try h.send(SwitchMLPackets.update(0, values: v[0]), port: 1)
        try h.send(SwitchMLPackets.update(0, values: v[0]), port: 1)   // retransmission: bit already set
        try h.send(SwitchMLPackets.update(1, values: v[1]), port: 2)
        try h.expectNoOtherPackets()
        try h.send(SwitchMLPackets.update(2, values: v[2]), port: 3)
        for w in 0..<3 { try h.expect(SwitchMLPackets.result(to: w, values: SwitchMLPackets.sum(v)), port: UInt16(w + 1)) }
        try h.expectNoOtherPackets()
    }

    @Test func slotsOfTheSameSetRoundAfterRoundSumOnlyTheirRound() throws {
        let h = try harness()
        for round in 0..<4 {
            let v = (0..<3).map { SwitchMLPackets.vector(Int32(round * 3 + $0)) }
            for w in 0..<3 { try h.send(SwitchMLPackets.update(w, id: UInt32(round), set: round & 1, slot: 5, values: v[w]), port: UInt16(w + 1)) }
            for w in 0..<3 { try h.expect(SwitchMLPackets.result(to: w, id: UInt32(round), set: round & 1, slot: 5, values: SwitchMLPackets.sum(v)), port: UInt16(w + 1)) }
            try h.expectNoOtherPackets()
        }
    }

    @Test func updatesThatNoJobOwnsOrThatAreMalformedAreDropped() throws {
        let h = try harness()
        let v = SwitchMLPackets.vector(3)
        try h.expectDropped(SwitchMLPackets.update(5, values: v), port: 6)                       // not a worker
        try h.expectDropped(SwitchMLPackets.update(0, port: 0xBEE2, values: v), port: 1)         // the job's other port: no entry
        try h.expectDropped(SwitchMLPackets.update(0, job: 1, port: 0xBEE1, slot: 8, values: v), port: 1)  // beyond the job's 8 slots
        try h.expectDropped(SwitchMLPackets.update(0, values: v, size: 1), port: 1)              // k = 64 in a k = 32 switch: parser reject
        try h.expectDropped(Array(SwitchMLPackets.update(0, values: v).dropLast(3)), port: 1)    // too short for its values
        try h.expectDropped(SwitchMLPackets.update(0, values: v, ipChecksum: 0xBAD0), port: 1)   // corrupted header
        // None of them touched slot 0: a clean round still sums exactly.
        let r = (0..<3).map { SwitchMLPackets.vector(Int32($0) + 40) }
        for w in 0..<3 { try h.send(SwitchMLPackets.update(w, values: r[w]), port: UInt16(w + 1)) }
        for w in 0..<3 { try h.expect(SwitchMLPackets.result(to: w, values: SwitchMLPackets.sum(r)), port: UInt16(w + 1)) }
        try h.expectNoOtherPackets()
    }

    /// Two jobs, slots 0..<4 and 4..<8 of one pool. Job 2's workers try every way into job
    /// 1's slots (job 1's id, job 1's port, slot indices past their range, job 1's set); all
    /// are dropped, and job 1's round sums exactly its own workers' values.
    @Test func jobsCannotTouchEachOthersSlots() throws {
        let h = try harness(jobs: [(1, 0xBEE1, 0, 4, [0, 1]), (2, 0xBEE2, 4, 4, [2, 3])])
        let a = [SwitchMLPackets.vector(100), SwitchMLPackets.vector(101)]
        let evil = SwitchMLPackets.vector(666)
        try h.send(SwitchMLPackets.update(0, values: a[0]), port: 1)                 // job 1, slot 0 (physical 0), half done
        try h.expectDropped(SwitchMLPackets.update(2, job: 1, port: 0xBEE2, values: evil), port: 3)   // claims job 1
        try h.expectDropped(SwitchMLPackets.update(2, job: 1, port: 0xBEE1, values: evil), port: 3)   // job 1's port: no entry for it
        for slot in [4, 0x3FFC, 0x3FFF] {                                // past its 4 slots (wrapping would reach 0)
            try h.expectDropped(SwitchMLPackets.update(2, job: 2, port: 0xBEE2, slot: slot, values: evil), port: 3)
        }
        // Job 2's own slot 0 (physical 4) works and is separate.
        let b = [SwitchMLPackets.vector(200), SwitchMLPackets.vector(201)]
        try h.send(SwitchMLPackets.update(2, job: 2, port: 0xBEE2, values: b[0]), port: 3)
        try h.send(SwitchMLPackets.update(3, job: 2, port: 0xBEE2, values: b[1]), port: 4)
        for w in [2, 3] { try h.expect(SwitchMLPackets.result(to: w, job: 2, port: 0xBEE2, values: SwitchMLPackets.sum(b)), port: UInt16(w + 1)) }
        try h.expectNoOtherPackets()
        try h.send(SwitchMLPackets.update(1, values: a[1]), port: 2)
        for w in [0, 1] { try h.expect(SwitchMLPackets.result(to: w, values: SwitchMLPackets.sum(a)), port: UInt16(w + 1)) }
        try h.expectNoOtherPackets()
    }

    @Test func k256CarriesAllItsValues() throws {
        let h = try harness(k: 256, jobs: [(1, 0xBEE1, 0, 8, [0, 1])])
        let v = [SwitchMLPackets.vector(7, 256), SwitchMLPackets.vector(8, 256)]
        try h.send(SwitchMLPackets.update(0, values: v[0], size: 3), port: 1)
        try h.send(SwitchMLPackets.update(1, values: v[1], size: 3), port: 2)
        for w in [0, 1] {
            var expected = SwitchMLPackets.result(to: w, values: SwitchMLPackets.sum(v))
            expected[42] |= 3                       // the size code of k = 256
            try h.expect(expected, port: UInt16(w + 1))
        }
    }

    /// Without the shadow set a retransmission after completion is taken as the next round's
    /// first contribution: the naive variant's flaw, kept for the negative tests.
    @Test func theNaiveVariantForgetsResults() throws {
        let h = try harness(shadow: false)
        let v = (0..<3).map { SwitchMLPackets.vector(Int32($0) + 50) }
        for w in 0..<3 { try h.send(SwitchMLPackets.update(w, values: v[w]), port: UInt16(w + 1)) }
        _ = h.drain()
        try h.send(SwitchMLPackets.update(1, values: v[1]), port: 2)
        try h.expectNoOtherPackets()               // no stored result to answer with
        // ... and it counted: two more updates complete a "round" that holds worker 1's old values.
        let next = [SwitchMLPackets.vector(60), SwitchMLPackets.vector(62)]
        try h.send(SwitchMLPackets.update(0, values: next[0]), port: 1)
        try h.send(SwitchMLPackets.update(2, values: next[1]), port: 3)
        try h.expect(SwitchMLPackets.result(to: 0, values: SwitchMLPackets.sum([next[0], v[1], next[1]])), port: 1)
    }

    @Test func otherTrafficIsRoutedLikeECMPRouter() throws {
        let h = try harness()
        try h.pipeline.setDefault("switch_mac", ActionCall("set_switch_mac", [0x0200_0000_0A01]))
        _ = try h.pipeline.upsert("ipv4_lpm", TableEntry([.lpm(0x0A00_0002, prefixLength: 32)], ActionCall("forward", [2, 0x0200_0000_0002])))
        // Any UDP, and a result (msg_type 1) to an aggregation port, e.g. crossing a second switch.
        let result = SwitchMLPackets.payload(type: 1, job: 1, id: 9, set: 0, slot: 0, e0: 0, e1: 0, values: SwitchMLPackets.vector(5))
        for (dport, payload) in [(UInt16(5001), [UInt8](repeating: 7, count: 4)), (0xBEE1, result)] {
            func packet(_ dst: MACAddress, _ src: MACAddress, ttl: UInt8) -> [UInt8] {
                Packet.ethernet(dst: dst, src: src).ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: ttl)
                    .udp(sport: 5000, dport: dport).payload(payload).bytes
            }
            try h.send(packet("02:00:00:00:0a:01", "02:00:00:00:00:01", ttl: 64), port: 1)
            try h.expect(packet("02:00:00:00:00:02", "02:00:00:00:0a:01", ttl: 63), port: 2)
        }
        // Too short for the UDP header and switchml_t on an aggregation port: the parser rejects it.
        try h.expectDropped(Packet.ethernet(dst: "02:00:00:00:0a:01", src: "02:00:00:00:00:01")
            .ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: 64).udp(sport: 5000, dport: 0xBEE1).payload(count: 4).bytes, port: 1)
    }

    @Test func installRefusesBadJobsWithTheReason() throws {
        let h = try harness()
        let w = SwitchML.Worker(ip: 1, mac: 2, udpPort: 3, switchPort: 1)
        #expect(throws: ControlPlaneError.self) {
            try SwitchML.install(SwitchML.Job(job: 3, udpPort: 0xBEE3, slotBase: 12, slots: 8, group: 4, workers: [w]), into: h.pipeline)
        }
        #expect(throws: ControlPlaneError.self) {
            try SwitchML.install(SwitchML.Job(job: 3, udpPort: 80, slotBase: 0, slots: 8, group: 4, workers: [w]), into: h.pipeline)
        }
        #expect(throws: ControlPlaneError.self) {
            try SwitchML.install(SwitchML.Job(job: 3, udpPort: 0xBEE3, slotBase: 0, slots: 8, group: 4, workers: Array(repeating: w, count: 33)), into: h.pipeline)
        }
        let other = try SwitchHarness(ECMPRouter.program().verified())
        do {
            try SwitchML.install(SwitchML.Job(job: 3, udpPort: 0xBEE3, slotBase: 0, slots: 8, group: 4, workers: [w]), into: other.pipeline)
            Issue.record("installed a switchml job into ecmp-router")
        } catch let e as ControlPlaneError {
            #expect("\(e)".contains("runs 'ecmp-router', which lacks switchml's switchml_count register and switchml_workers table"))
        }
    }
}

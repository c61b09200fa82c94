import Foundation
import Testing
import SluiceRuntime
@testable import SluiceEmulator

/// A pool that goes away leaves its buffers to the next pool of the same buffer size
/// (`SparePackets`): the next pool must find them as its own reuse would, with a foreign frame's
/// bytes cleared before a host builds a frame over them, and a run on them must be the same run.
@Suite struct SparePacketsTests {
    /// Frame sizes no other test's pool has (tests run in parallel in one process, and a pool
    /// takes over the buffers another left).
    static let frame = 1_237, frame2 = 4_001, frame3 = 4_003, mtu = 8_889

    @Test func aPoolTakesOverTheBuffersOfOneThatWentAway() throws {
        var identities: Set<ObjectIdentifier> = []
        do {
            let pool = PacketPool(maxFrame: Self.frame, bridgeWords: 2, initial: 4)
            // A replayed capture's frame, non-zero to its last byte, and an emulator-made one.
            let foreign = Net.packet(pool, length: Self.frame, filled: Self.frame, with: 0xAB)
            let made = Net.packet(pool, length: 200, filled: 60, with: 0xCD)
            for p in 0..<Int32(pool.capacity) { identities.insert(ObjectIdentifier(pool.buffer(p))) }
            pool.release(foreign); pool.release(made)
        }
        let pool = PacketPool(maxFrame: Self.frame, bridgeWords: 2, initial: 4)
        #expect(pool.capacity == 4 && pool.freeCount == 4 && pool.inUse == 0)
        #expect(Set((0..<Int32(4)).map { ObjectIdentifier(pool.buffer($0)) }) == identities, "the new pool made buffers of its own")
        #expect(SparePackets.take(bufferCapacity: pool.bufferCapacity, headroom: pool.headroom) == nil, "the batch was left for another pool too")
        // Every buffer, built as a host builds a datagram: headers, then a payload of zeros.
        for _ in 0..<4 {
            let p = pool.allocate()
            let d = pool.reset(p, length: Self.frame)
            pool.clearPayload(p, from: 42, to: Self.frame)
            #expect((42..<Self.frame).allSatisfy { d[$0] == 0 }, "buffer \(p) keeps old bytes in its payload")
            #expect((0..<pool.bridgeStride).allSatisfy { pool.bridgeWords(p)[$0] == 0 })
        }
        // It grows past the buffers it took over as a pool of its own does.
        _ = pool.allocate()
        #expect(pool.capacity == 8 && pool.inUse == 5)
    }

    /// The bytes a frame held stay recorded until cleared, even when a shorter frame comes
    /// first; a host clears only those; a switch pass records how far it may write.
    @Test func oldBytesAreClearedBeforeAFrameCoversThem() {
        let pool = PacketPool(maxFrame: Self.frame2, bridgeWords: 1, initial: 1)
        let p = Net.packet(pool, length: 3_000, filled: 3_000, with: 0xEE)
        #expect(pool.dirtyEnd[Int(p)] == 3_000)
        // A short frame clears its own bytes; the old ones past it are still old.
        _ = pool.reset(p, length: 100)
        pool.clearPayload(p, from: 42, to: 100)
        #expect(pool.dirtyEnd[Int(p)] == 3_000)
        let again = pool.reset(p, length: 2_500)
        pool.clearPayload(p, from: 42, to: 2_500)
        #expect((42..<2_500).allSatisfy { again[$0] == 0 })
        #expect(pool.dirtyEnd[Int(p)] == 3_000, "bytes 2,500 to 3,000 still hold the first frame's")
        let full = pool.reset(p, length: 3_000)
        pool.clearPayload(p, from: 42, to: 3_000)
        #expect((42..<3_000).allSatisfy { full[$0] == 0 })
        #expect(pool.dirtyEnd[Int(p)] == 42, "the frame's 42 bytes of headers")

        // The next data frame clears nothing past the headers (the bytes are zero already), and
        // records what it wrote before them.
        let next = pool.reset(p, length: 2_000)
        for i in 0..<50 { next[i] = 0x11 }
        pool.clearPayload(p, from: 50, to: 2_000)
        #expect(pool.dirtyEnd[Int(p)] == 50)
        #expect((50..<3_000).allSatisfy { next[$0] == 0 })

        // A pass of a program with 1,100 bytes of headers over a packet whose start a pass
        // moved 20 bytes on may write up to 1,120; a shorter reach leaves the record as it is.
        pool.with(p) { $0.start = $0.headroom + 20 }
        pool.passRuns(p, headerBytes: 1_100)
        #expect(pool.dirtyEnd[Int(p)] == 1_120)
        pool.passRuns(p, headerBytes: 34)
        #expect(pool.dirtyEnd[Int(p)] == 1_120)
    }

    /// A multicast copy (at the default headroom) of a packet whose headers a pass pushed 30
    /// bytes into the headroom records the original's bytes where they land in the copy.
    @Test func aCopyOfAPushedPacketRecordsWhereItsBytesLand() {
        let pool = PacketPool(maxFrame: Self.frame3, bridgeWords: 1, initial: 2)
        let p = Net.packet(pool, length: 1_000, filled: 600, with: 0x22)
        pool.with(p) { $0.start -= 30; $0.length += 30 }
        for i in 0..<30 { pool.data(p)[i] = 0x33 }
        let q = pool.clone(p)
        #expect(pool.length(q) == 1_030 && pool.data(q)[0] == 0x33 && pool.data(q)[629] == 0x22 && pool.data(q)[630] == 0)
        #expect(pool.dirtyEnd[Int(q)] == 630)
    }

    /// A datagram an application sends (`sendDatagram`) is zero where its `fill` does not write,
    /// and what `fill` writes is recorded for the buffer's next frame.
    @Test func anApplicationsDatagramIsZeroWhereItsFillDoesNotWrite() throws {
        let spec = TopologySpec(name: "pair", nodes: [Net.host("h1", 1), Net.host("h2", 2)], links: [
            LinkSpec(a: Endpoint(node: 0, port: 0), b: Endpoint(node: 1, port: 0), rate: 100_000_000_000, delay: 1_000_000, mtu: Self.mtu),
        ], flows: [])
        let emu = try Emulator(spec, options: EmulatorOptions(), programs: .builtIn)
        let to = UDPEndpoint(mac: 0x0200_0000_0002, ip: Net.ip(2), port: 9)
        #expect(emu.sendDatagram(host: 0, to: to, from: 9, length: 1_400, tos: 0) { b in
            for i in b.indices { b[i] = 0xEE }
        })
        #expect(emu.pool.inUse == 1 && emu.pool.dirtyEnd[0] == Int32(HostStack.headers + 1_400))
        emu.run()
        #expect(emu.pool.inUse == 0)
        // The same buffer (the free list is a stack), a shorter fill.
        #expect(emu.sendDatagram(host: 0, to: to, from: 9, length: 1_000, tos: 0) { b in
            for i in 0..<4 { b[i] = 0xAB }
        })
        let d = emu.pool.data(0)
        #expect((0..<4).allSatisfy { d[HostStack.headers + $0] == 0xAB })
        #expect((HostStack.headers + 4 ..< HostStack.headers + 1_000).allSatisfy { d[$0] == 0 }, "the first datagram's bytes show through")
        #expect(emu.pool.dirtyEnd[0] == Int32(HostStack.headers + 1_400), "bytes past the second datagram still hold the first's")
    }

    /// A run on buffers that an earlier run filled with other bytes writes the pcaps a run on
    /// fresh buffers writes: nothing of the earlier frames shows through.
    @Test func earlierFramesDoNotShowThroughInALaterRun() throws {
        var spec = Net.bottleneck(bytes: 200_000)
        for i in spec.links.indices { spec.links[i].mtu = 8_885 }
        func udpRun() throws -> [String: Data] {
            try Net.pcaps(spec) { try Net.route($0, "s1", to: 2, mac: 0x0200_0000_0002, port: 2) }.files
        }
        let fresh = try udpRun()
        // 300 datagrams of 8,000 bytes of 0xEE, all queued at once: 300 buffers full of them.
        do {
            var quiet = spec
            quiet.flows = []
            let emu = try Emulator(quiet, options: EmulatorOptions(), programs: .builtIn)
            let to = UDPEndpoint(mac: 0x0200_0000_0002, ip: Net.ip(2), port: 9)
            for _ in 0..<300 {
                #expect(emu.sendDatagram(host: 0, to: to, from: 9, length: 8_000, tos: 0) { b in for i in b.indices { b[i] = 0xEE } })
            }
            #expect(emu.pool.inUse == 300)
            emu.run()
        }
        let later = try udpRun()
        #expect(fresh.count >= 2 && fresh.values.allSatisfy { $0.count > 1_000 }, "\(fresh.mapValues(\.count))")
        #expect(fresh.keys.sorted() == later.keys.sorted())
        for (name, bytes) in fresh { #expect(later[name] == bytes, "\(name) differs after a run that dirtied the buffers") }
    }

    @Test func aBatchBeyondTheLimitIsFreedNotKept() {
        let frame = SparePackets.limitBytes  // one buffer of this size is past the limit alone
        do { _ = PacketPool(maxFrame: frame, bridgeWords: 1, initial: 1) }
        #expect(SparePackets.take(bufferCapacity: frame + 512, headroom: 256) == nil)
    }

    /// Two runs of a shipped topology in one process, the second on the first one's packet
    /// memory: the same pcaps byte for byte, the same results.
    @Test func aRunOnAnEarlierRunsBuffersIsTheSameRun() throws {
        var spec = try TopologyFile.load(path: "\(WorkCountTests.packageRoot)/Topologies/leafspine-small.yaml", programs: .builtIn)
        // An MTU of its own, so no other test's pool takes these buffers in between.
        for i in spec.links.indices { spec.links[i].mtu = 8_887 }
        var outputs: [[String: Data]] = []
        var reports: [[UInt64]] = []
        var capacities: [(first: Int, last: Int, buffers: Set<ObjectIdentifier>)] = []
        for _ in 0..<2 {
            var first = 0
            let (files, emu, stats) = try Net.pcaps(spec) { first = $0.pool.capacity }
            #expect(emu.pool.inUse == 0)
            outputs.append(files)
            reports.append([stats.events, emu.packetHops, emu.packetsDelivered, UInt64(emu.now)]
                           + emu.flows.map { UInt64($0.completed ?? -1) } + emu.switchStats.map(\.received))
            capacities.append((first, emu.pool.capacity, Set((0..<Int32(emu.pool.capacity)).map { ObjectIdentifier(emu.pool.buffer($0)) })))
        }
        // The second run started with every buffer the first one ended with.
        #expect(capacities[1].first == capacities[0].last && capacities[1].buffers.isSuperset(of: capacities[0].buffers),
                "the second run did not take over the first one's buffers: \(capacities.map { ($0.first, $0.last) })")
        #expect(outputs[0].count > 4 && outputs[0].values.allSatisfy { $0.count > 24 }, "\(outputs[0].keys.sorted())")
        #expect(outputs[0].keys.sorted() == outputs[1].keys.sorted())
        for (name, bytes) in outputs[0] { #expect(outputs[1][name] == bytes, "\(name) differs on reused buffers") }
        #expect(reports[0] == reports[1])
    }
}

import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluicePrograms
@testable import SluiceML

/// The worker protocol against the real `switchml` program (runtime pipeline), wired by a
/// small deterministic network in this file: every datagram is framed, run through the
/// pipeline, and what comes out is delivered 1 us later to the worker on that port. A filter
/// can drop chosen packets, so loss cases are exact rather than probabilistic.
final class MiniNetwork {
    struct Event { var time: Int64; var seq: Int; var worker: Int; var bytes: [UInt8]? }
    let harness: SwitchHarness
    var now: Int64 = 0
    var events: [Event] = []
    var seq = 0
    var ports: [MiniPort] = []
    var workers: [AggregationWorker<MiniPort>] = []
    /// Return true to drop: (uplink?, worker, packet id, how many times this packet id went that way before).
    var drop: (Bool, Int, UInt32, Int) -> Bool = { _, _, _, _ in false }
    var seen: [String: Int] = [:]
    let servicePort: UInt16 = 0xBEE1
    let hop: Int64 = 1_000_000

    init(workers n: Int, k: Int, slots: Int, timeout: Int64 = 50_000_000, shadow: Bool = true) throws {
        harness = try SwitchHarness(SwitchML.program(k: k, slots: 64, shadow: shadow).verified())
        let members = (0..<n).map { w in
            SwitchML.Worker(ip: 0x0A00_0001 + UInt32(w), mac: 0x0200_0000_0001 + UInt64(w), udpPort: 40001, switchPort: UInt16(w + 1))
        }
        try SwitchML.install(SwitchML.Job(job: 1, udpPort: servicePort, slotBase: 0, slots: slots, group: 2, workers: members),
                             into: harness.pipeline)
        let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: slots, timeout: timeout)
        for w in 0..<n {
            let p = MiniPort(network: self, worker: w)
            ports.append(p)
            workers.append(try AggregationWorker(config: config, port: p))
        }
    }

    func schedule(_ time: Int64, worker: Int, bytes: [UInt8]?) {
        events.append(Event(time: time, seq: seq, worker: worker, bytes: bytes))
        seq += 1
    }

    static func packetID(_ payload: [UInt8]) -> UInt32 {
        UInt32(payload[2]) << 24 | UInt32(payload[3]) << 16 | UInt32(payload[4]) << 8 | UInt32(payload[5])
    }

    func count(_ key: String) -> Int {
        let c = seen[key, default: 0]
        seen[key] = c + 1
        return c
    }

    /// A worker's datagram reaches the switch.
    func uplink(worker w: Int, payload: [UInt8]) throws {
        let id = Self.packetID(payload)
        if drop(true, w, id, count("u\(w)-\(id)")) { return }
        let frame = Packet.ethernet(dst: "02:00:00:00:ff:01", src: MACAddress(value: 0x0200_0000_0001 + UInt64(w)))
            .ipv4(src: IPv4Address(value: 0x0A00_0001 + UInt32(w)), dst: "10.255.255.1")
            .udp(sport: 40001, dport: servicePort).payload(payload).bytes
        try harness.send(frame, port: UInt16(w + 1))
        for out in harness.drain() {
            let worker = Int(out.port) - 1
            let udp = Array(out.bytes[42...])
            let rid = Self.packetID(udp)
            if drop(false, worker, rid, count("d\(worker)-\(rid)")) { continue }
            schedule(now + hop, worker: worker, bytes: udp)
        }
    }


    /// Run until nothing is left or `limit`; true if every worker finished its operations.
    func run(limit: Int64 = 10_000_000_000_000) throws -> Bool {
        while let i = events.indices.min(by: { (events[$0].time, events[$0].seq) < (events[$1].time, events[$1].seq) }) {
            let e = events.remove(at: i)
            if e.time > limit { break }
            now = max(now, e.time)
            if let b = e.bytes {
                b.withUnsafeBytes { workers[e.worker].receive($0) }
            } else {
                ports[e.worker].pending = false
                workers[e.worker].timerFired()
            }
            for (w, p) in ports.enumerated() {
                for payload in p.outbox { try uplink(worker: w, payload: payload) }
                p.outbox.removeAll()
            }
        }
        return workers.allSatisfy { !$0.busy }
    }

    /// Start operations (`submit` calls allReduce on each worker), then flush their first sends.
    func start(_ submit: (Int, AggregationWorker<MiniPort>) -> Void) throws {
        for (w, x) in workers.enumerated() { submit(w, x) }
        for (w, p) in ports.enumerated() {
            for payload in p.outbox { try uplink(worker: w, payload: payload) }
            p.outbox.removeAll()
        }
    }
}

final class MiniPort: AggregationPort {
    unowned let network: MiniNetwork
    let worker: Int
    var outbox: [[UInt8]] = []
    var pending = false
    init(network: MiniNetwork, worker: Int) { self.network = network; self.worker = worker }
    var now: Int64 { network.now }
    func send(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        var b = [UInt8](repeating: 0, count: length)
        b.withUnsafeMutableBytes { fill($0) }
        outbox.append(b)
    }
    func wake(at time: Int64) {
        network.schedule(max(time, network.now), worker: worker, bytes: nil)
    }
}

@Suite struct WorkerProtocolTests {
    static func inputs(_ n: Int, _ count: Int, seed: UInt64) -> [[Int32]] {
        print("WorkerProtocolTests seed \(seed)")
        return (0..<n).map { SyntheticTensors.integers(count: count, worker: $0, seed: seed) }
    }

    @Test(arguments: [(3, 64, 4), (4, 256, 8), (2, 32, 1)])
    func int32SumsAreBitExact(n: Int, k: Int, slots: Int) throws {
        let net = try MiniNetwork(workers: n, k: k, slots: slots)
        let x = Self.inputs(n, k * 13 + 5, seed: 7)
        let buffers = x.map { TensorBuffer($0) }
        try net.start { w, worker in worker.allReduce(buffers[w]) }
        #expect(try net.run())
        let reference = Reference.sum(x)
        for b in buffers { #expect(b.values == reference) }
        #expect(net.workers.allSatisfy { $0.stats.retransmissions == 0 })
    }

    @Test func float32IsWithinTheBlockBound() throws {
        let n = 4, k = 64
        let net = try MiniNetwork(workers: n, k: k, slots: 4)
        let x = (0..<n).map { SyntheticTensors.gradients(count: k * 10 + 3, worker: $0, seed: 11) }
        let buffers = x.map { TensorBuffer($0) }
        try net.start { w, worker in worker.allReduce(buffers[w]) }
        #expect(try net.run())
        let check = FloatReference(x).checkBlocks(buffers, k: k)
        #expect(check.withinBound)
        #expect(check.workersAgree)
        #expect(check.maxAbsError > 0)   // quantized: not the float sum
        #expect(check.maxAbsError < 1e-6)
    }

    /// Two operations back to back reuse the slots with the other set.
    @Test func consecutiveOperationsAlternateSets() throws {
        let n = 3, k = 32
        let net = try MiniNetwork(workers: n, k: k, slots: 2)
        let x = Self.inputs(n, k * 5, seed: 3)
        let a = x.map { TensorBuffer($0) }
        let b = x.map { TensorBuffer(Array($0.reversed())) }
        try net.start { w, worker in worker.allReduce(a[w]); worker.allReduce(b[w]) }
        #expect(try net.run())
        for t in a { #expect(t.values == Reference.sum(x)) }
        for t in b { #expect(t.values == Reference.sum(x.map { Array($0.reversed()) })) }
    }

    /// The update of one worker and the result to another worker of the same round are both
    /// lost: the first worker's retransmission completes the slot, the second's gets the
    /// stored result unicast. No deadlock, exact sums.
    @Test func lostUplinkAndDownlinkOfTheSameRound() throws {
        let n = 3, k = 32
        let net = try MiniNetwork(workers: n, k: k, slots: 2)
        net.drop = { up, w, id, before in
            before == 0 && id == 3 && ((up && w == 0) || (!up && w == 2))
        }
        let x = Self.inputs(n, k * 8, seed: 5)
        let buffers = x.map { TensorBuffer($0) }
        try net.start { w, worker in worker.allReduce(buffers[w]) }
        #expect(try net.run())
        for b in buffers { #expect(b.values == Reference.sum(x)) }
        #expect(net.workers[0].stats.retransmissions >= 1)
        #expect(net.workers[2].stats.retransmissions >= 1)
    }

    /// Every packet lost once in each direction (the worst a deterministic filter can do):
    /// still exact.
    @Test func everythingLostOnce() throws {
        let n = 3, k = 32
        let net = try MiniNetwork(workers: n, k: k, slots: 3)
        net.drop = { _, w, id, before in before == 0 && (Int(id) + w) % 2 == 0 }
        let x = Self.inputs(n, k * 9, seed: 9)
        let buffers = x.map { TensorBuffer($0) }
        try net.start { w, worker in worker.allReduce(buffers[w]) }
        #expect(try net.run())
        for b in buffers { #expect(b.values == Reference.sum(x)) }
    }

    /// Without the shadow set, a lost result makes the retransmitted update of the finished
    /// round count into the next round of that slot: a wrong sum or a worker that never
    /// finishes. The same loss with the shadow set is harmless (previous test).
    @Test func withoutTheShadowSetALostResultCorruptsOrHangs() throws {
        let n = 3, k = 32
        let net = try MiniNetwork(workers: n, k: k, slots: 2, shadow: false)
        net.drop = { up, w, id, before in !up && before == 0 && id == 1 && w == 2 }
        let x = Self.inputs(n, k * 8, seed: 5)
        let buffers = x.map { TensorBuffer($0) }
        try net.start { w, worker in worker.allReduce(buffers[w]) }
        let finished = try net.run(limit: 5_000_000_000)
        let reference = Reference.sum(x)
        let correct = finished && buffers.allSatisfy { $0.values == reference }
        #expect(!correct, "the naive variant survived a lost result; the negative test lost its point")
    }

    /// A packet lost again and again waits twice as long before each retransmission, up to
    /// 64 times the timeout (T, 2T, ... 64T, 64T), and the next packet of its slot starts again
    /// at T: a slot stuck behind a slow worker is not retransmitted every T.
    @Test func aPacketsTimeoutDoublesWithEachRetransmission() throws {
        let n = 2, k = 32, t: Int64 = 50_000_000
        let net = try MiniNetwork(workers: n, k: k, slots: 2, timeout: t)
        var first: [Int64] = [], next: [Int64] = []
        net.drop = { up, w, id, before in
            guard up && w == 0 else { return false }
            if id == 0 { first.append(net.now); return before < 8 }
            if id == 2 { next.append(net.now); return before < 1 }
            return false
        }
        let x = Self.inputs(n, k * 6, seed: 3)
        let buffers = x.map { TensorBuffer($0) }
        try net.start { w, worker in worker.allReduce(buffers[w]) }
        #expect(try net.run())
        for b in buffers { #expect(b.values == Reference.sum(x)) }
        #expect(first == [0, 1, 3, 7, 15, 31, 63, 127, 191].map { $0 * t }, "transmissions of packet 0 at \(first.map { $0 / t }) x T")
        #expect(next.count == 2 && next[1] - next[0] == t, "packet 2 (the slot's next) went at \(next); its one retransmission must follow after T")
        #expect(net.workers[0].stats.retransmissions == 9)
    }

    @Test func badConfigurationsAreNamed() {
        #expect(AggregationConfig(workers: 4, elementsPerPacket: 100).problem
                == "elements per packet 100 is not a SwitchML packet size (valid: 32, 64, 128, 256)")
        #expect(AggregationConfig(workers: 33).problem == "33 workers: the switch's bitmaps hold 1 ... 32 workers per job")
        #expect(AggregationConfig(workers: 4, poolSlots: 0).problem == "pool of 0 slots (valid: 1 ... 16383)")
        #expect(AggregationConfig(workers: 4, minTimeout: 0).problem == "minimum timeout 0 ps (valid: 1 ps ... 1 s)")
    }
}

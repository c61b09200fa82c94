import SluiceControlPlane
import Foundation
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Random and mutated packets through every registered program, checked against a model of
/// the program: no crash, every output exactly what the program's rules say, counters adding up.
///
/// The run is seeded; the seed is printed. `SLUICE_FUZZ_SEED=<decimal or 0x hex>` replays a run
/// (each failure also names the packet's index and bytes). `SLUICE_FUZZ_PACKETS` changes the
/// number of packets per program (default 100,000).
@Suite struct FuzzTests {
    static let defaultSeed: UInt64 = 0x5EED_F00D

    static var seed: UInt64 {
        guard let s = ProcessInfo.processInfo.environment["SLUICE_FUZZ_SEED"] else { return defaultSeed }
        let parsed = s.hasPrefix("0x") || s.hasPrefix("0X") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
        guard let parsed else { fatalError("SLUICE_FUZZ_SEED='\(s)' is not a decimal or 0x-hex 64-bit integer") }
        return parsed
    }

    static var packetsPerProgram: Int {
        ProcessInfo.processInfo.environment["SLUICE_FUZZ_PACKETS"].flatMap { Int($0) } ?? 100_000
    }

    @Test(arguments: ProgramRegistry.all.map(\.name))
    func randomAndMutatedPackets(_ name: String) throws {
        let info = try #require(ProgramRegistry.named(name))
        let seed = Self.seed
        let oracle: any FuzzOracle = switch name {
        case IPv4Router.name: RouterOracle(acl: false)
        case ACLFirewall.name: RouterOracle(acl: true)
        case L2Switch.name: L2SwitchOracle()
        default: GenericOracle(info: info)
        }
        // drill reads queue depths (emulator only): queue fields read 0 here.
        let ir = try info.build().verified()
        let pipeline = try Pipeline(ir, queues: ir.facts.readsQueueValues)
        try oracle.setup(pipeline)

        var fuzzer = Fuzzer(seed: seed ^ fnv1a(name), templates: oracle.templates, ports: oracle.ports)
        // Printed first, so that a crash mid-run still tells how to replay it.
        print("FuzzTests[\(name)]: seed \(hexSeed(seed)) (replay: SLUICE_FUZZ_SEED=\(hexSeed(seed)))")
        let start = ContinuousClock.now
        let total = max(Self.packetsPerProgram, fuzzer.sweepCount)
        let buffer = PacketBuffer()
        var failures: [String] = [], failed = 0
        for i in 0..<total {
            let port = fuzzer.next(i)
            fuzzer.packet.withUnsafeBufferPointer { all in
                let input = UnsafeBufferPointer(rebasing: all[0..<fuzzer.length])
                buffer.load(UnsafeRawBufferPointer(input))
                pipeline.process(buffer, port: port, timestamp: UInt64(i) * 1000)
                if let problem = oracle.check(input, port: port, pipeline) {
                    failed += 1
                    if failures.count < 10 { failures.append("packet #\(i) (\(fuzzer.kind)), \(input.count) bytes on port \(port): \(problem)\n    input: \(hex(input))") }
                }
            }
        }
        if failed > failures.count { failures.append("... and \(failed - failures.count) more packets") }
        failures += oracle.finish(pipeline, packets: total)
        let elapsed = ContinuousClock.now - start
        print("FuzzTests[\(name)]: \(total) packets in \(elapsed), seed \(hexSeed(seed)), \(pipeline.stats)")
        #expect(pipeline.stats.received == UInt64(total))
        if !failures.isEmpty {
            let list = failures.joined(separator: "\n")
            Issue.record("\(name): \(failed) packet\(failed == 1 ? "" : "s") went wrong (seed \(hexSeed(seed)); replay with SLUICE_FUZZ_SEED=\(hexSeed(seed))):\n\(list)")
        }
    }
}

func hexSeed(_ s: UInt64) -> String { "0x" + String(s, radix: 16) }

func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

func hex(_ b: UnsafeBufferPointer<UInt8>, limit: Int = 80) -> String {
    let shown = b.prefix(limit).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    return b.count > limit ? shown + "... (\(b.count) bytes)" : shown
}

/// The IPv4 header checksum of the 20 bytes at `at` is right (RFC 1071: the sum folds to 0xFFFF).
func ipv4ChecksumValid(_ p: UnsafeBufferPointer<UInt8>, at: Int) -> Bool {
    InternetChecksum.fold(InternetChecksum.sum(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: p[at..<at + 20])))) == 0xFFFF
}

/// The checksum field value for the 20-byte header at `at` (its current checksum field ignored).
func ipv4Checksum(_ p: UnsafeBufferPointer<UInt8>, at: Int) -> UInt16 {
    let stored = UInt32(p[at + 10]) << 8 | UInt32(p[at + 11])
    // Subtract the stored field in ones-complement arithmetic: add its complement.
    let sum = InternetChecksum.sum(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: p[at..<at + 20])), initial: 0xFFFF - stored)
    return ~InternetChecksum.fold(sum)
}

// MARK: - Packet generation

/// Makes the packets: first every truncation of every template, then a mix of random packets
/// and mutated templates. The packet is `packet[0..<length]`.
struct Fuzzer {
    var rng: SplitMix64
    let templates: [[UInt8]]
    let ports: [UInt16]
    var packet = [UInt8](repeating: 0, count: 2048)
    var length = 0
    var kind = ""
    /// (template, length) for the truncation sweep.
    let sweep: [(Int, Int)]
    var sweepCount: Int { sweep.count }

    init(seed: UInt64, templates: [[UInt8]], ports: [UInt16]) {
        rng = SplitMix64(seed: seed)
        self.templates = templates
        self.ports = ports
        sweep = templates.indices.flatMap { t in (0...templates[t].count).map { (t, $0) } }
    }

    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: rng.next()) }

    /// Make packet `i`; returns its ingress port.
    mutating func next(_ i: Int) -> UInt16 {
        let port = ports[below(ports.count)]
        if i < sweep.count {
            let (t, n) = sweep[i]
            load(templates[t])
            length = n
            kind = "template \(t) truncated to \(n)"
            return port
        }
        if chance(25) { random() } else { mutate() }
        return port
    }

    mutating func load(_ t: [UInt8]) {
        for j in 0..<t.count { packet[j] = t[j] }
        length = t.count
    }

    mutating func fill(_ range: Range<Int>) {
        var j = range.lowerBound
        while j < range.upperBound {
            var r = rng.next()
            for _ in 0..<8 where j < range.upperBound { packet[j] = UInt8(truncatingIfNeeded: r); r >>= 8; j += 1 }
        }
    }

    /// Random length 0...1600 and random bytes; some made to look like IPv4 so that they get deeper.
    mutating func random() {
        length = below(1601)
        fill(0..<length)
        kind = "random"
        switch below(3) {
        case 0: break
        case 1:
            if length >= 14 { packet[12] = 0x08; packet[13] = 0x00; kind = "random IPv4 ethertype" }
        default:
            if length >= 34 {
                packet[12] = 0x08; packet[13] = 0x00; packet[14] = 0x45
                packet[20] &= 0xE0; packet[21] = 0  // first fragment
                if chance(80) { packet[22] = UInt8(2 + below(254)) }
                // A destination from a template, so that routes and rules hit.
                if let t = templates.randomElement(using: &rng), t.count >= 34 { for j in 26..<34 { packet[j] = t[j] } }
                setChecksum()
                kind = "random IPv4 with a valid header"
            }
        }
    }

    mutating func setChecksum() {
        guard length >= 34 else { return }
        packet[24] = 0; packet[25] = 0
        let c = packet.withUnsafeBufferPointer { ipv4Checksum($0, at: 14) }
        packet[24] = UInt8(c >> 8); packet[25] = UInt8(c & 0xFF)
    }

    mutating func mutate() {
        let t = below(templates.count)
        load(templates[t])
        var what: [String] = []
        for _ in 0..<(1 + below(3)) {
            switch below(11) {
            case 0, 1:
                let flips = 1 + below(4)
                for _ in 0..<flips where length > 0 { packet[below(length)] ^= 1 << UInt8(below(8)) }
                what.append("\(flips) bit flips")
            case 2:
                length = below(length + 1)
                what.append("truncated to \(length)")
            case 3:
                let extra = 1 + below(min(400, packet.count - length))
                fill(length..<(length + extra))
                length += extra
                what.append("\(extra) garbage bytes")
            case 4 where length >= 14:
                let types: [UInt16] = [0x86DD, 0x0806, 0x8100, 0x0801, 0x0000, 0xFFFF, 0x88B5, UInt16(truncatingIfNeeded: rng.next())]
                let et = types[below(types.count)]
                packet[12] = UInt8(et >> 8); packet[13] = UInt8(et & 0xFF)
                what.append("ethertype \(String(et, radix: 16))")
            case 5 where length >= 15:
                packet[14] = (chance(80) ? 0x40 : byte() & 0xF0) | UInt8(below(16))
                what.append("version/IHL \(String(packet[14], radix: 16))")
            case 6 where length >= 18:
                packet[16] = byte(); packet[17] = byte()
                what.append("total length")
            case 7 where length >= 23:
                let ttls: [UInt8] = [0, 1, 2, 3, 255, byte()]
                packet[22] = ttls[below(ttls.count)]
                what.append("TTL \(packet[22])")
            case 8 where length >= 24:
                if chance(50) { packet[23] = [1, 6, 17, 47, byte()][below(5)] } else { packet[20] = byte(); packet[21] = byte() }
                what.append("protocol/fragment")
            case 9 where length >= 34:
                // Addresses: random, or another template's.
                let other = templates[below(templates.count)]
                for j in 26..<34 where chance(50) { packet[j] = other.count > j && chance(70) ? other[j] : byte() }
                what.append("addresses")
            case 10 where length >= 38:
                for j in 34..<38 { packet[j] = chance(50) ? byte() : [0, 0x35, 0x03, 0xE8, 0x07, 0xD0, 0x04, 0x00][below(8)] }
                what.append("ports")
            default:
                packet[0] ^= 0  // nothing
            }
        }
        // Usually keep the IPv4 header checksum right, so that mutated headers get past it.
        if chance(70) { setChecksum(); what.append("checksum fixed") }
        kind = "template \(t): " + what.joined(separator: ", ")
    }
}

// MARK: - Oracles

protocol FuzzOracle {
    var templates: [[UInt8]] { get }
    var ports: [UInt16] { get }
    func setup(_ p: Pipeline) throws
    /// What is wrong with the outputs of the packet just processed, if anything.
    func check(_ input: UnsafeBufferPointer<UInt8>, port: UInt16, _ p: Pipeline) -> String?
    /// Checks after the run (counters, stats).
    func finish(_ p: Pipeline, packets: Int) -> [String]
}

func drops(_ s: Pipeline.Stats) -> UInt64 {
    s.parserDrops + s.ingressDrops + s.egressDrops + s.passLimitDrops + s.headroomDrops + s.emptyGroupDrops
}

func sameBytes(_ b: PacketBuffer, _ input: UnsafeBufferPointer<UInt8>) -> Bool {
    guard b.length == input.count else { return false }
    return input.count == 0 || memcmp(b.data, input.baseAddress!, input.count) == 0
}

/// `ipv4-router`, and with `acl` the `acl-firewall` in front of it: a model of both.
final class RouterOracle: FuzzOracle {
    struct Route { var prefix: UInt32; var length: Int; var mac: UInt64; var port: UInt16 }
    struct Rule {
        var src: UInt32, srcMask: UInt32, dst: UInt32, dstMask: UInt32, proto: UInt8, protoMask: UInt8
        var sports: ClosedRange<UInt16>, dports: ClosedRange<UInt16>, priority: Int, deny: Bool
        func matches(_ s: UInt32, _ d: UInt32, _ p: UInt8, _ sp: UInt16, _ dp: UInt16) -> Bool {
            s & srcMask == src && d & dstMask == dst && p & protoMask == proto && sports.contains(sp) && dports.contains(dp)
        }
    }

    let acl: Bool
    let routes: [Route] = [
        Route(prefix: 0x0A00_0100, length: 24, mac: 0x0800_0000_0111, port: 1),   // 10.0.1.0/24
        Route(prefix: 0x0A00_0180, length: 25, mac: 0x0800_0000_0180, port: 4),   // 10.0.1.128/25
        Route(prefix: 0x0A00_0200, length: 24, mac: 0x0800_0000_0222, port: 2),   // 10.0.2.0/24
        Route(prefix: 0x0A00_0000, length: 8, mac: 0x0800_0000_0300, port: 3),    // 10.0.0.0/8
        Route(prefix: 0xC0A8_0001, length: 32, mac: 0x0800_0000_0501, port: 5),   // 192.168.0.1/32
    ]
    let rules: [Rule] = [
        Rule(src: 0x0A00_0900, srcMask: 0xFFFF_FF00, dst: 0, dstMask: 0, proto: 17, protoMask: 0xFF,
             sports: 0...65535, dports: 53...53, priority: 10, deny: true),
        Rule(src: 0, srcMask: 0, dst: 0x0A00_0200, dstMask: 0xFFFF_FF00, proto: 6, protoMask: 0xFF,
             sports: 1024...65535, dports: 1000...2000, priority: 20, deny: true),
        Rule(src: 0xC0A8_0000, srcMask: 0xFFFF_0000, dst: 0, dstMask: 0, proto: 0, protoMask: 0,
             sports: 0...65535, dports: 0...65535, priority: 5, deny: true),
        Rule(src: 0xC0A8_0700, srcMask: 0xFFFF_FF00, dst: 0x0A00_0101, dstMask: 0xFFFF_FFFF, proto: 0, protoMask: 0,
             sports: 0...65535, dports: 0...65535, priority: 30, deny: false),
        Rule(src: 0x0A00_0500, srcMask: 0xFFFF_FF00, dst: 0, dstMask: 0, proto: 1, protoMask: 0xFF,
             sports: 0...65535, dports: 0...65535, priority: 40, deny: true),
        // Even UDP/TCP ports: a mask on the protocol (6 and 17 share bit 2).
        Rule(src: 0x0A00_0000, srcMask: 0xFF00_0000, dst: 0x0A00_0180, dstMask: 0xFFFF_FF80, proto: 4, protoMask: 0x04,
             sports: 0...0x7FFF, dports: 7000...7999, priority: 25, deny: true),
    ]
    /// Hits per rule, as the model counts them.
    var hits: [(packets: UInt64, bytes: UInt64)]
    var handles: [EntryHandle] = []
    var expectParser: UInt64 = 0, expectIngress: UInt64 = 0, expectSent: UInt64 = 0

    init(acl: Bool) {
        self.acl = acl
        hits = Array(repeating: (0, 0), count: 6)
    }

    let ports: [UInt16] = [0, 1, 2, 3, 7, 511]

    var templates: [[UInt8]] {
        let host: MACAddress = "00:00:00:00:00:99", me: MACAddress = "00:00:00:00:00:01"
        func udp(_ s: IPv4Address, _ d: IPv4Address, _ sp: UInt16, _ dp: UInt16, ttl: UInt8 = 64) -> [UInt8] {
            Packet.ethernet(dst: me, src: host).ipv4(src: s, dst: d, ttl: ttl).udp(sport: sp, dport: dp).payload(count: 18).bytes
        }
        func tcp(_ s: IPv4Address, _ d: IPv4Address, _ sp: UInt16, _ dp: UInt16) -> [UInt8] {
            Packet.ethernet(dst: me, src: host).ipv4(src: s, dst: d).tcp(sport: sp, dport: dp).payload(count: 6).bytes
        }
        return [
            udp("10.0.9.9", "10.0.1.1", 1234, 53),
            udp("10.0.8.9", "10.0.1.200", 1234, 7500),
            tcp("10.0.7.7", "10.0.2.9", 40000, 1500),
            tcp("172.16.0.1", "10.1.2.3", 80, 443),
            Packet.ethernet(dst: me, src: host).ipv4(src: "10.0.5.5", dst: "192.168.0.1", protocol: 1).payload([8, 0, 0xF7, 0xFC, 0, 1, 0, 2]).bytes,
            udp("192.168.7.7", "10.0.1.1", 5, 6, ttl: 2),
            udp("192.168.3.3", "10.0.1.1", 5, 6),
            Packet.ethernet(dst: me, src: host).ipv4(src: "10.0.0.1", dst: "10.0.1.1", options: [1, 1, 1, 1]).udp(sport: 1, dport: 2).payload(count: 4).bytes,
            Packet.ethernet(dst: me, src: host).ipv4(src: "10.0.0.1", dst: "10.0.2.2", flags: .moreFragments, fragmentOffset: 0).udp(sport: 1, dport: 53).bytes.minimumPadded(60),
            Packet.ethernet(dst: .broadcast, src: host).arp(senderMAC: host, senderIP: "10.0.0.1", targetIP: "10.0.0.2").bytes,
        ]
    }

    func setup(_ p: Pipeline) throws {
        for r in routes {
            try p.insert("ipv4_lpm", TableEntry([.lpm(UInt128(r.prefix), prefixLength: r.length)], ActionCall("ipv4_forward", [UInt128(r.mac), UInt128(r.port)])))
        }
        guard acl else { return }
        for r in rules {
            handles.append(try p.insert("acl", TableEntry([
                .ternary(UInt128(r.src), mask: UInt128(r.srcMask)), .ternary(UInt128(r.dst), mask: UInt128(r.dstMask)),
                .ternary(UInt128(r.proto), mask: UInt128(r.protoMask)),
                .range(UInt128(r.sports.lowerBound), UInt128(r.sports.upperBound)),
                .range(UInt128(r.dports.lowerBound), UInt128(r.dports.upperBound)),
            ], ActionCall(r.deny ? "deny" : "allow"), priority: r.priority)))
        }
    }

    enum Outcome { case parserDrop, ingressDrop, routed(Route) }

    func model(_ b: UnsafeBufferPointer<UInt8>) -> Outcome {
        let n = b.count
        if n < 14 { return .parserDrop }
        if b[12] != 0x08 || b[13] != 0x00 { return .ingressDrop }
        if n < 34 { return .parserDrop }
        let ihl = b[14] & 0x0F, fragOffset = UInt16(b[20] & 0x1F) << 8 | UInt16(b[21]), proto = b[23]
        let ttl = b[22]
        let src = UInt32(b[26]) << 24 | UInt32(b[27]) << 16 | UInt32(b[28]) << 8 | UInt32(b[29])
        let dst = UInt32(b[30]) << 24 | UInt32(b[31]) << 16 | UInt32(b[32]) << 8 | UInt32(b[33])
        if acl {
            var sp: UInt16 = 0, dp: UInt16 = 0
            if fragOffset == 0 && ihl == 5 && (proto == 6 || proto == 17) {
                if n < 38 { return .parserDrop }
                sp = UInt16(b[34]) << 8 | UInt16(b[35]); dp = UInt16(b[36]) << 8 | UInt16(b[37])
            }
            var best = -1
            for (i, r) in rules.enumerated() where r.matches(src, dst, proto, sp, dp) && (best < 0 || r.priority > rules[best].priority) { best = i }
            if best >= 0 {
                hits[best].packets += 1; hits[best].bytes += UInt64(n)
                if rules[best].deny { return .ingressDrop }
            }
        }
        if !ipv4ChecksumValid(b, at: 14) || ttl <= 1 || ihl != 5 { return .ingressDrop }
        var best: Route? = nil
        for r in routes {
            let mask: UInt32 = r.length == 0 ? 0 : ~0 << UInt32(32 - r.length)
            if dst & mask == r.prefix && r.length > (best?.length ?? -1) { best = r }
        }
        return best.map { .routed($0) } ?? .ingressDrop
    }

    func check(_ b: UnsafeBufferPointer<UInt8>, port: UInt16, _ p: Pipeline) -> String? {
        let outcome = model(b)
        // Properties that hold whatever the model says.
        for i in 0..<p.outputCount {
            let o = p.output(i).buffer
            let out = UnsafeBufferPointer(start: o.data, count: o.length)
            if out.count < 34 { return "an output of \(out.count) bytes, too short for Ethernet + IPv4" }
            if !ipv4ChecksumValid(out, at: 14) { return "an output with a bad IPv4 header checksum" }
            if b.count < 34 { return "an output for an input too short to be IPv4" }
            if b[22] <= 1 { return "an output for an input with TTL \(b[22])" }
            if out[22] != b[22] &- 1 { return "output TTL \(out[22]) for input TTL \(b[22])" }
        }
        switch outcome {
        case .parserDrop, .ingressDrop:
            if outcome_isParser(outcome) { expectParser += 1 } else { expectIngress += 1 }
            if p.outputCount != 0 { return "expected a drop (\(outcome)), got \(p.outputCount) output(s), the first on port \(p.output(0).port)" }
        case .routed(let r):
            expectSent += 1
            guard p.outputCount == 1 else { return "expected one output on port \(r.port), got \(p.outputCount)" }
            let (outPort, o) = p.output(0)
            if outPort != r.port { return "expected port \(r.port), got \(outPort)" }
            if o.length != b.count { return "output length \(o.length), input \(b.count)" }
            let out = UnsafeBufferPointer(start: o.data, count: o.length)
            for j in 0..<b.count {
                let want: UInt8
                switch j {
                case 0..<6: want = UInt8(truncatingIfNeeded: r.mac >> (40 - 8 * UInt64(j)))
                case 6..<12: want = b[j - 6]
                case 22: want = b[22] - 1
                case 24, 25: continue  // checked above
                default: want = b[j]
                }
                if out[j] != want { return "output byte \(j) is \(out[j]), expected \(want)\n    output: \(hex(out))" }
            }
        }
        return nil
    }

    func outcome_isParser(_ o: Outcome) -> Bool { if case .parserDrop = o { return true } else { return false } }

    func finish(_ p: Pipeline, packets: Int) -> [String] {
        var problems: [String] = []
        let s = p.stats
        if s.received != drops(s) + s.sent {
            problems.append("stats do not add up: received \(s.received) != drops \(drops(s)) + sent \(s.sent) (\(s))")
        }
        if s.parserDrops != expectParser || s.ingressDrops != expectIngress || s.sent != expectSent {
            problems.append("stats \(s) differ from the model: parser drops \(expectParser), ingress drops \(expectIngress), sent \(expectSent)")
        }
        if s.egressDrops + s.passLimitDrops + s.headroomDrops + s.emptyGroupDrops != 0 { problems.append("unexpected drop counters: \(s)") }
        for (i, h) in handles.enumerated() {
            guard let c = try? p.directCounter(h) else { problems.append("no direct counter for rule \(i)"); continue }
            if c.packets != hits[i].packets || c.bytes != hits[i].bytes {
                problems.append("rule \(i) (priority \(rules[i].priority)) counted \(c.packets) packets / \(c.bytes) bytes; the model \(hits[i].packets) / \(hits[i].bytes)")
            }
        }
        if acl && hits.contains(where: { $0.packets == 0 }) {
            problems.append("the fuzzer never hit some ACL rules (\(hits.map(\.packets))); make the templates reach them")
        }
        if expectSent == 0 { problems.append("no packet was routed: the fuzzer does not reach the interesting paths") }
        return problems
    }
}

/// `l2-switch` with four stations installed and the flood group set; the model knows them.
final class L2SwitchOracle: FuzzOracle {
    let groupPorts: [UInt16] = [0, 1, 2, 3]
    let ports: [UInt16] = [0, 1, 2, 3, 4, 9]
    /// MAC -> port, installed in `dmac`; (MAC, port) pairs in `smac`.
    let stations: [(UInt64, UInt16)] = [(0x0000_0000_000A, 0), (0x0000_0000_000B, 1), (0x0200_0000_000C, 2), (0x0000_0000_000D, 3)]
    var dmac: [UInt64: UInt16] = [:]
    var smac: Set<UInt64> = []
    var expectParser: UInt64 = 0, unicast: UInt64 = 0, floods: UInt64 = 0, replicas: UInt64 = 0, pruned: UInt64 = 0, unicastPruned: UInt64 = 0, digests: UInt64 = 0

    var templates: [[UInt8]] {
        func f(_ d: UInt64, _ s: UInt64, _ payload: Int) -> [UInt8] {
            Packet.ethernet(dst: MACAddress(value: d), src: MACAddress(value: s))
                .ipv4(src: "10.0.0.1", dst: "10.0.0.2").udp(sport: 1, dport: 2).payload(count: payload).bytes
        }
        return [
            f(0x0A, 0x0B, 10), f(0x0B, 0x0A, 0), f(0x0200_0000_000C, 0x0D, 30), f(0xFFFF_FFFF_FFFF, 0x0A, 5),
            f(0x0E, 0x0B, 5), f(0x0A, 0x0F, 5), f(0x0100_5E00_0001, 0x0D, 5),
            Array(f(0x0D, 0x0C, 0).prefix(14)),
        ]
    }

    func setup(_ p: Pipeline) throws {
        try L2Switch.Controller(ports: groupPorts).setup(p)
        for (mac, port) in stations {
            try p.insert("dmac", TableEntry([.exact(UInt128(mac))], ActionCall("forward", [UInt128(port)])))
            try p.insert("smac", TableEntry([.exact(UInt128(mac)), .exact(UInt128(port))], ActionCall("NoAction")))
            dmac[mac] = port
            smac.insert(mac << 16 | UInt64(port))
        }
    }

    func mac(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for j in at..<at + 6 { v = v << 8 | UInt64(b[j]) }
        return v
    }

    func check(_ b: UnsafeBufferPointer<UInt8>, port: UInt16, _ p: Pipeline) -> String? {
        let digestsOut = p.drainDigests()
        if b.count < 14 {
            expectParser += 1
            if p.outputCount != 0 { return "output for a \(b.count)-byte frame" }
            if !digestsOut.isEmpty { return "a digest for a \(b.count)-byte frame" }
            return nil
        }
        let dst = mac(b, 0), src = mac(b, 6)
        // Learning: a digest exactly when (src, port) is not in smac.
        let wantDigest = !smac.contains(src << 16 | UInt64(port))
        if wantDigest {
            digests += 1
            if digestsOut != [DigestMessage(name: "learn", values: [UInt128(src), UInt128(port)])] {
                return "expected one learn digest (\(src), \(port)), got \(digestsOut)"
            }
        } else if !digestsOut.isEmpty {
            return "unexpected digests \(digestsOut) for a known source"
        }
        var want: [UInt16]
        if let out = dmac[dst] {
            unicast += 1
            // A station learnt on the ingress port: filtered in egress.
            if out == port { pruned += 1; unicastPruned += 1; want = [] } else { want = [out] }
        } else {
            floods += 1
            want = groupPorts.filter { $0 != port }
            replicas += UInt64(want.count)
            pruned += UInt64(groupPorts.count - want.count)
        }
        let got = (0..<p.outputCount).map { p.output($0).port }
        if got != want { return "outputs on ports \(got), expected \(want)" }
        for i in 0..<p.outputCount where !sameBytes(p.output(i).buffer, b) {
            let o = p.output(i).buffer
            return "the output on port \(p.output(i).port) differs from the input: \(hex(UnsafeBufferPointer(start: o.data, count: o.length)))"
        }
        return nil
    }

    func finish(_ p: Pipeline, packets: Int) -> [String] {
        var problems: [String] = []
        let s = p.stats
        // Every packet: dropped before the traffic manager, sent once (unicast) or replicated.
        if s.received != s.parserDrops + s.ingressDrops + s.passLimitDrops + s.headroomDrops + s.emptyGroupDrops + unicast + floods {
            problems.append("stats do not add up: received \(s.received), unicast \(unicast), floods \(floods), \(s)")
        }
        // Every copy: sent or dropped in egress.
        if s.sent + s.egressDrops != unicast + replicas + (pruned - unicastPruned) || s.egressDrops != pruned {
            problems.append("copies do not add up: sent \(s.sent) + egress drops \(s.egressDrops) vs unicast \(unicast) + replicas \(replicas) + pruned \(pruned)")
        }
        if s.parserDrops != expectParser { problems.append("parser drops \(s.parserDrops), the model \(expectParser)") }
        if s.digestsDropped != 0 { problems.append("\(s.digestsDropped) digests dropped") }
        if unicast == 0 || floods == 0 || digests == 0 { problems.append("the fuzzer missed a path: unicast \(unicast), floods \(floods), digests \(digests)") }
        return problems
    }
}

/// A program without a model: it must not crash, its outputs must fit, and the counters add up
/// when it sends nothing to multicast groups.
final class GenericOracle: FuzzOracle {
    let info: ProgramInfo
    let ports: [UInt16] = [0, 1, 2, 3]
    init(info: ProgramInfo) { self.info = info }

    var templates: [[UInt8]] {
        [Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:02").ipv4(src: "10.0.0.1", dst: "10.0.1.1")
            .udp(sport: 1, dport: 2).payload(count: 20).bytes]
    }

    func setup(_ p: Pipeline) throws { try info.controller?(ports).setup(p) }

    func check(_ b: UnsafeBufferPointer<UInt8>, port: UInt16, _ p: Pipeline) -> String? {
        _ = p.drainDigests()
        for i in 0..<p.outputCount where p.output(i).buffer.length > p.output(i).buffer.maxPacketLength {
            return "an output of \(p.output(i).buffer.length) bytes"
        }
        return nil
    }

    func finish(_ p: Pipeline, packets: Int) -> [String] {
        let s = p.stats
        if (1...UInt16.max).allSatisfy({ p.multicastGroup($0) == nil }) && s.received != drops(s) + s.sent {
            return ["stats do not add up: \(s)"]
        }
        return []
    }
}

extension Array where Element == UInt8 {
    /// Zero-padded to at least `n` bytes (an Ethernet trailer).
    func minimumPadded(_ n: Int) -> [UInt8] { count >= n ? self : self + [UInt8](repeating: 0, count: n - count) }
}

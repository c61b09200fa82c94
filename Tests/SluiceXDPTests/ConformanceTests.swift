import SluiceControlPlane
import Foundation
import Testing
import SluiceEBPF
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceXDP

let isRoot = getuid() == 0

/// A shipped program with the entries both backends get, and ports the corpus must reach
/// through it (so that the entries that lead there are exercised).
struct Subject: CustomStringConvertible, Sendable {
    var name: String
    var entries: String
    var reaches: [UInt16] = []
    var description: String { name }
}

/// `ecmp-router`'s routes: a single next hop, two equal groups (4 and 3 members), a group of 0
/// members, a weighted group (`NextHopGroups.weighted`, 10.1.0.0/16) and a resilient group that
/// lost a member and gained one (`NextHopGroups.resilient`, 10.3.128.0/17). The behaviour packets
/// go to the first ones, `Corpus.routable` draws destinations from 10.0.0.0/16 ... 10.4.0.0/16,
/// so every group is hit.
let ecmpEntries = Fixtures.ecmpGroups + "table_add ipv4_lpm forward 10.0.1.7/32 => 1 08:00:00:00:01:07\n"
    + NextHopGroups.entries(route: "10.1.0.0/16", NextHopGroups.weighted)
    + NextHopGroups.entries(route: "10.3.128.0/17", NextHopGroups.resilient)

/// The weighted and resilient groups of the ecmp subjects, as `ecmp_nhop` bucket entries made by
/// `ECMPRouter.NextHopGroup` (see `NextHopGroupTests`).
enum NextHopGroups {
    typealias Group = ECMPRouter.NextHopGroup

    static func members(ports: ClosedRange<UInt16>, weights: [Int]) -> [Group.Member] {
        zip(ports, weights).map { Group.Member(port: $0, mac: 0x0800_0000_0C00 | UInt64($0), weight: $1) }
    }

    /// Group 5: ports 30, 31, 32 weighted 5 : 2 : 1 over 64 buckets (40, 16 and 8 buckets).
    static let weighted: Group = make { try Group(id: 5, kind: .weighted, members: members(ports: 30...32, weights: [5, 2, 1])) }

    /// Group 6: ports 40 ... 43 over 64 buckets, then port 41 removed (its buckets go to the
    /// others) and port 44 of weight 2 added (taking buckets from each): no longer in order.
    static let resilient: Group = make {
        var g = try Group(id: 6, kind: .resilient, members: members(ports: 40...43, weights: [1, 1, 1, 1]))
        try g.remove(member: 1)
        try g.add(Group.Member(port: 44, mac: 0x0800_0000_0C00 | 44, weight: 2))
        return g
    }

    /// Ports of the live members of `g`.
    static func ports(_ g: Group) -> [UInt16] { g.live.map { g.members[$0]!.port } }

    static func make(_ build: () throws -> Group) -> Group {
        do { return try build() } catch { preconditionFailure("next-hop group fixture: \(error)") }
    }

    /// The route to `g` and one `ecmp_nhop` line per bucket.
    static func entries(route: String, _ g: Group) -> String {
        var out = "table_add ipv4_lpm ecmp \(route) => \(g.id) \(g.buckets.count)\n"
        for b in g.buckets.indices {
            let m = g.members[g.buckets[b]]!
            let mac = (0..<6).map { String(format: "%02x", UInt8(truncatingIfNeeded: m.mac >> (40 - 8 * UInt64($0)))) }.joined(separator: ":")
            out += "table_add ecmp_nhop forward \(g.id) \(b) => \(m.port) \(mac)\n"
        }
        return out
    }
}

/// Ports every ecmp subject must forward by: each member of every group and the single next hop.
let ecmpPorts: [UInt16] = [1, 10, 11, 12, 13, 20, 21, 22] + NextHopGroups.ports(NextHopGroups.weighted) + NextHopGroups.ports(NextHopGroups.resilient)

let subjects: [Subject] = [
    Subject(name: "ipv4-router", entries: """
        table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 08:00:00:00:01:01 2
        table_add ipv4_lpm ipv4_forward 10.0.1.7/32 => 08:00:00:00:01:07 3
        table_add ipv4_lpm ipv4_forward 10.2.0.0/16 => 08:00:00:00:02:00 4
        table_add ipv4_lpm ipv4_forward 192.168.0.0/16 => 08:00:00:00:03:00 1
        """),
    Subject(name: "acl-firewall", entries: """
        table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 08:00:00:00:01:01 2
        table_add ipv4_lpm ipv4_forward 0.0.0.0/0 => 08:00:00:00:09:09 5
        table_add acl deny 10.0.9.0&&&0xffffff00 0&&&0 17&&&0xff 0->65535 53->53 => 10
        table_add acl deny 0&&&0 10.0.1.0&&&0xffffff00 6&&&0xff 1024->65535 1000->2000 => 20
        table_add acl deny 192.168.0.0&&&0xffff0000 0&&&0 0&&&0 0->65535 0->65535 => 5
        table_add acl allow 192.168.7.0&&&0xffffff00 10.0.1.7&&&0xffffffff 0&&&0 0->65535 0->65535 => 30
        table_add acl allow 0&&&0 0&&&0 17&&&0xff 7000->7010 0->65535 => 10
        """),
    Subject(name: "ecmp-router", entries: ecmpEntries, reaches: ecmpPorts),
    // On the Differential's default clock; `FlowletConformanceTests` runs it on a seeded one.
    Subject(name: "flowlet", entries: ecmpEntries + "table_set_default flowlet_config set_flowlet_timeout 50000\n", reaches: ecmpPorts),
]

func emit(_ p: VerifiedProgram) -> Result<String, EBPFError> {
    do throws(EBPFError) { return .success(try EBPFBackend.emitC(p)) } catch { return .failure(error) }
}

/// The shipped programs the XDP backend compiles, and the ones it refuses (with the reason).
@Suite struct CompileTests {
    @Test func everyShippedProgramCompilesOrIsRefusedByName() throws {
        for info in ProgramRegistry.all {
            let ir = try info.build().verified()
            switch emit(ir) {
            case .success(let c):
                #expect(c.contains("SEC(\"xdp\")"), "\(info.name)")
                #expect(c.contains("/* table "), "\(info.name): tables are commented with their keys")
            case .failure(let e):
                #expect(e.program == info.name)
                #expect(!e.construct.isEmpty && !e.reason.isEmpty)
                #expect(!subjects.map(\.name).contains(info.name), "\(info.name) should compile: \(e)")
            }
        }
    }

    @Test func queueDepthAndRecirculationAreCompileErrors() throws {
        var p = IPv4Router.program().ir
        p.ingress.append(.assign(.meta("x"), .field(.standard(.deqQdepth))))
        p.metadata.append(FieldDecl("x", 19))
        guard case .failure(let e) = emit(try Verifier.verify(p)) else { Issue.record("a queue depth compiled for XDP"); return }
        #expect(e.description.contains("standard.deqQdepth"))
        #expect(e.description.contains("ipv4-router"))
        var q = IPv4Router.program().ir
        q.ingress.append(.recirculate)
        guard case .failure(let r) = emit(try Verifier.verify(q)) else { Issue.record("recirculate compiled for XDP"); return }
        #expect(r.description.contains("recirculate"))
    }

    @Test func objectCompilesWithClang() throws {
        guard try EBPFObjectCompiler.findClang() != nil else {
            Issue.record("no clang: the eBPF object cannot be built (install clang or set SLUICE_CLANG)")
            return
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-obj-\(getpid()).o").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try EBPFObjectCompiler.compile(source: try EBPFBackend.emitC(try IPv4Router.program().verified()), output: out)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(bytes.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]), "an ELF object")
        #expect(bytes[18] == 247 || bytes[18] == 0xF7, "machine EM_BPF (247)")
    }
}

/// The same packets through the software runtime and through the kernel (BPF_PROG_TEST_RUN):
/// the same verdict, the same port, the same bytes.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct ConformanceTests {
    static let seed: UInt64 = 0x5EED_0007

    @Test(arguments: subjects)
    func theKernelVerifierAcceptsIt(_ s: Subject) throws {
        let info = try #require(ProgramRegistry.named(s.name))
        let xdp = try XDPProgram(try info.build().verified())
        #expect(xdp.programFD > 0)
    }

    /// Every shipped program the backend compiles also loads: the kernel's verifier takes it
    /// (atp did not while CRCs ran bit by bit: see `CHelpers`).
    @Test func everyShippedProgramThatCompilesPassesTheVerifier() throws {
        var loaded: [String] = []
        for info in ProgramRegistry.all {
            let ir = try info.build().verified()
            guard case .success = emit(ir) else { continue }
            do {
                let xdp = try XDPProgram(ir)
                #expect(xdp.programFD > 0 && xdp.testFD > 0)
                loaded.append(info.name)
            } catch {
                Issue.record("\(info.name): \(String(describing: error).suffix(3000))")
            }
        }
        print("verified: \(loaded.joined(separator: ", "))")
        #expect(loaded.contains("atp") && loaded.contains("switchml"))
    }

    @Test(arguments: subjects)
    func runtimeAndKernelAgreeOnEveryPacket(_ s: Subject) throws {
        print("ConformanceTests seed \(Self.seed)")
        let info = try #require(ProgramRegistry.named(s.name))
        let ir = try info.build().verified()
        let runtime = try SwitchHarness(ir, entries: s.entries)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        try EntriesFile(file: "<entries>", text: s.entries).apply(to: cp)

        var d = Differential()
        try d.run(runtime, xdp, Corpus.make(seed: Self.seed, random: 10_000).map { ($0, 1) })
        print("\(s.name): \(d.summary)")
        d.expectAgreement(s.name)
        #expect(d.compared >= 10_000)
        // Both outcomes are well represented (the corpus is not all drops).
        #expect(d.forwarded > 500 && d.dropped > 500, "\(s.name): \(d.summary)")
        // Every next hop the entries name was taken (each group's buckets were hit).
        for p in s.reaches { #expect(d.byPort[p, default: 0] > 0, "\(s.name): nothing left by port \(p): \(d.byPort.sorted { $0.key < $1.key })") }
        print("\(s.name) by port: \(d.byPort.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))")
        // Registers (flowlet's table) hold the same cells.
        let regs = try Differential.compareRegisters(ir, runtime.pipeline, cp)
        #expect(regs.differ.isEmpty, "\(s.name): \(regs.differ.filter { !$0.isEmpty }.joined(separator: "\n"))")
        if !ir.registers.isEmpty { #expect(regs.nonzero > 100, "\(s.name): \(regs.nonzero) register cells written") }
        // Direct counters agree too.
        for t in ir.tables where t.directCounter {
            let soft = try runtime.pipeline.entries(t.name), hard = try cp.entries(t.name)
            for ((hs, es), (hh, eh)) in zip(soft, hard) {
                #expect(es == eh)
                let a = try runtime.pipeline.directCounter(hs), b = try cp.directCounter(hh)
                #expect(a.packets == b.packets, "\(t.name) entry \(es.matches): runtime \(a.packets) packets, kernel \(b.packets)")
            }
        }
    }

}

/// Packets the programs' behaviour tests use (routed, dropped for TTL, checksum or header
/// length, other EtherTypes, cut short) plus seeded random mutations of them and random frames.
enum Corpus {
    static func base() -> [[UInt8]] {
        let router: MACAddress = "02:00:00:00:0a:01", host: MACAddress = "00:00:00:00:00:99"
        var out: [[UInt8]] = []
        let dsts: [IPv4Address] = ["10.0.1.7", "10.0.1.9", "10.0.2.33", "10.0.3.4", "10.0.4.1", "10.2.7.7", "10.9.9.9", "192.168.7.7", "8.8.8.8"]
        let srcs: [IPv4Address] = ["10.0.9.1", "192.168.7.3", "192.168.1.1", "172.16.0.1"]
        for (i, d) in dsts.enumerated() {
            for (j, s) in srcs.enumerated() {
                for ttl: UInt8 in [64, 2, 1, 0] {
                    out.append(Packet.ethernet(dst: router, src: host).ipv4(src: s, dst: d, ttl: ttl).udp(sport: UInt16(5000 + i), dport: [53, 80, 7005, 1500][j]).payload(count: 18).bytes)
                    out.append(Packet.ethernet(dst: router, src: host).ipv4(src: s, dst: d, ttl: ttl).tcp(sport: UInt16(1024 + 100 * j), dport: [1500, 22, 2000, 999][i % 4]).payload(count: 6).bytes)
                }
            }
        }
        var badSum = Packet.ethernet(dst: router, src: host).ipv4(src: "10.0.9.1", dst: "10.0.1.7").udp(sport: 1, dport: 2).payload(count: 8).bytes
        badSum[24] ^= 0xFF
        out.append(badSum)
        var options = Packet.ethernet(dst: router, src: host).ipv4(src: "10.0.9.1", dst: "10.0.1.7").udp(sport: 1, dport: 2).payload(count: 8).bytes
        options[14] = 0x46
        out.append(options)
        out.append(Packet.ethernet(dst: router, src: host, etherType: 0x0806).payload(count: 28).bytes)
        let full = Packet.ethernet(dst: router, src: host).ipv4(src: "10.0.9.1", dst: "10.0.2.9").udp(sport: 9, dport: 53).payload(count: 20).bytes
        for cut in [14, 20, 33, 34, 37, 41, 42] { out.append(Array(full.prefix(cut))) }
        return out
    }

    static func make(seed: UInt64, random: Int) -> [[UInt8]] { mutate(base(), seed: seed, random: random, refresh: routable) }

    /// `b`, then `random` seeded mutations of its packets: bytes flipped, a header field
    /// rewritten, cut short or extended, and every fifth `refresh`ed into one the program takes.
    static func mutate(_ b: [[UInt8]], seed: UInt64, random: Int, refresh: (inout [UInt8], inout SplitMix64) -> Void) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        var out = b
        for n in 0..<random {
            var p = b[Int(rng.next() % UInt64(b.count))]
            switch n % 5 {
            case 0, 1:
                // Flip a few bytes anywhere in the headers.
                for _ in 0..<(1 + Int(rng.next() % 3)) { p[Int(rng.next() % UInt64(min(p.count, 54)))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            case 2:
                // Rewrite a header field: TTL, protocol, ports, IHL, EtherType.
                let at = [22, 23, 34, 35, 36, 37, 14, 12, 13][Int(rng.next() % 9)]
                if at < p.count { p[at] = UInt8(truncatingIfNeeded: rng.next()) }
            case 3:
                // Cut short or extend.
                if rng.next() % 2 == 0 { p = Array(p.prefix(14 + Int(rng.next() % UInt64(max(1, p.count - 13))))) }
                else { p += (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            default:
                refresh(&p, &rng)
            }
            out.append(p)
        }
        return out
    }

    /// Random destination inside the routed prefixes, fresh checksum: forwarded.
    static func routable(_ p: inout [UInt8], _ rng: inout SplitMix64) {
        guard p.count >= 34 && p[12] == 0x08 && p[13] == 0x00 && p[14] == 0x45 else { return }
        p[30] = 10; p[31] = UInt8(rng.next() % 5); p[32] = UInt8(truncatingIfNeeded: rng.next()); p[33] = UInt8(truncatingIfNeeded: rng.next())
        p[22] = UInt8(2 + rng.next() % 250)
        refreshIPv4Checksum(&p)
    }

    /// The IPv4 header checksum of an Ethernet frame with a 20-byte IPv4 header, recomputed.
    static func refreshIPv4Checksum(_ p: inout [UInt8]) {
        p[24] = 0; p[25] = 0
        let ck = InternetChecksum.checksum(Array(p[14..<34]))
        p[24] = UInt8(ck >> 8); p[25] = UInt8(truncatingIfNeeded: ck)
    }
}

/// Entries added, changed and removed through both control planes keep both backends agreeing:
/// longest prefix falls back when a longer one goes, tuple-space and range entries come and go.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct ControlPlaneConformanceTests {
    func both(_ name: String) throws -> (SwitchHarness, XDPProgram, XDPControlPlane) {
        let ir = try #require(ProgramRegistry.named(name)).build().verified()
        let x = try XDPProgram(ir)
        return (try SwitchHarness(ir, entries: ""), x, try XDPControlPlane(x))
    }

    func outcome(_ h: SwitchHarness, _ x: XDPProgram, _ p: [UInt8]) throws -> (String, String) {
        try h.send(p, port: 1)
        let soft = h.drain().first.map { "port \($0.port) \($0.bytes)" } ?? "drop"
        let k = try x.run(p, port: 1)
        return (soft, k.forwarded ? "port \(k.port) \(k.bytes)" : "drop")
    }

    @Test func lpmEntriesComeAndGo() throws {
        let (h, x, cp) = try both("ipv4-router")
        let pkt = Packet.ethernet(dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02").ipv4(src: "10.9.0.1", dst: "10.0.1.5").udp(sport: 1, dport: 2).payload(count: 10).bytes
        func call(_ port: UInt128) -> ActionCall { ActionCall("ipv4_forward", [0x0800_0000_0001, port]) }
        var handles: [(EntryHandle, EntryHandle)] = []
        for (prefix, len, port) in [(0x0A00_0100, 24, 3), (0x0A00_0000, 16, 4), (0, 0, 5)] as [(UInt128, Int, UInt128)] {
            let e = TableEntry([.lpm(prefix, prefixLength: len)], call(port))
            handles.append((try h.pipeline.insert("ipv4_lpm", e), try cp.insert("ipv4_lpm", e)))
        }
        var o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1.hasPrefix("port 3"))
        try h.pipeline.delete(handles[0].0); try cp.delete(handles[0].1)
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1.hasPrefix("port 4"))
        try h.pipeline.modify(handles[1].0, call(7)); try cp.modify(handles[1].1, call(7))
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1.hasPrefix("port 7"))
        try h.pipeline.delete(handles[1].0); try cp.delete(handles[1].1)
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1.hasPrefix("port 5"))
        try h.pipeline.clear("ipv4_lpm"); try cp.clear("ipv4_lpm")
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1 == "drop")
        #expect(try cp.entries("ipv4_lpm").isEmpty)
        // Errors name the table and what is wrong, as the runtime's do.
        #expect(throws: ControlPlaneError.self) { try cp.insert("nope", TableEntry([], call(1))) }
        #expect(throws: ControlPlaneError.self) { try cp.insert("ipv4_lpm", TableEntry([.lpm(1, prefixLength: 40)], call(1))) }
        #expect(throws: ControlPlaneError.self) { try cp.insert("ipv4_lpm", TableEntry([.lpm(1, prefixLength: 8)], ActionCall("fly", []))) }
    }

    @Test func aclRulesComeAndGo() throws {
        let (h, x, cp) = try both("acl-firewall")
        let routes = "table_add ipv4_lpm ipv4_forward 0.0.0.0/0 => 08:00:00:00:09:09 5\n"
        try EntriesFile(file: "r", text: routes).apply(to: h.pipeline)
        try EntriesFile(file: "r", text: routes).apply(to: cp)
        let pkt = Packet.ethernet(dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02").ipv4(src: "192.168.7.9", dst: "10.0.1.7").udp(sport: 7005, dport: 53).payload(count: 10).bytes
        var o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1.hasPrefix("port 5"))
        let deny = TableEntry([.ternary(0xC0A8_0000, mask: 0xFFFF_0000), .ternary(0, mask: 0), .ternary(0, mask: 0), .range(0, 65535), .range(0, 65535)], ActionCall("deny"), priority: 5)
        let allow = TableEntry([.ternary(0xC0A8_0700, mask: 0xFFFF_FF00), .ternary(0x0A00_0107, mask: 0xFFFF_FFFF), .ternary(0, mask: 0), .range(7000, 7010), .range(0, 65535)], ActionCall("allow"), priority: 30)
        let d = (try h.pipeline.insert("acl", deny), try cp.insert("acl", deny))
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1 == "drop")
        let a = (try h.pipeline.insert("acl", allow), try cp.insert("acl", allow))
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1.hasPrefix("port 5"))
        try h.pipeline.delete(a.0); try cp.delete(a.1)
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1 == "drop")
        try h.pipeline.delete(d.0); try cp.delete(d.1)
        o = try outcome(h, x, pkt); #expect(o.0 == o.1); #expect(o.1.hasPrefix("port 5"))
    }
}

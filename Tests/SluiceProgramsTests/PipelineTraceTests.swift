import Foundation
import SluiceTestingML
import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Pipeline traces (`PipelineTracer`) of the shipped programs: exact text, JSON lines that
/// parse, the packet filter, and that a traced pipeline does what the untraced one does.
/// The longer traces are pinned in `Snapshots/traces/<name>.trace`; when a change to them is
/// intended, record them again (`SLUICE_RECORD_SNAPSHOTS=1 swift test --filter
/// PipelineTraceTests`), read the difference and commit it.
@Suite struct PipelineTraceTests {
    static let snapshot = Snapshot(kind: "pipeline trace", verb: "traced",
                                   recordCommand: "SLUICE_RECORD_SNAPSHOTS=1 swift test --filter PipelineTraceTests", ext: "trace")

    final class Lines: @unchecked Sendable { var all: [String] = [] }

    static let routes = IPv4RouterTests.entries

    func router(_ format: PipelineTracer.Format = .text, filter: String? = nil) throws -> (SwitchHarness, Lines) {
        let lines = Lines()
        let tracer = PipelineTracer(format: format, filter: try filter.map { try TraceFilter($0) }, sink: { lines.all.append($0) })
        return (try SwitchHarness(IPv4Router.program().verified(), entries: Self.routes, trace: tracer), lines)
    }

    func udp(dst: IPv4Address, ttl: UInt8 = 64) -> [UInt8] {
        Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
            .ipv4(src: "10.0.9.9", dst: dst, ttl: ttl).udp(sport: 1234, dport: 80).payload(count: 10).bytes
    }

    func pinned(_ name: String, _ lines: [String]) throws {
        let text = lines.joined(separator: "\n") + "\n"
        let url = Self.snapshot.url("traces/" + name)
        if let problem = try Self.snapshot.check(text, name: name, snapshot: url, record: Snapshot.recording) {
            Issue.record(Comment(rawValue: problem))
        }
    }

    @Test func ipv4RouterHitShowsTheEntryTheActionAndTheBytes() throws {
        let (h, lines) = try router()
        try h.send(udp(dst: "10.0.2.7"), port: 0)
        #expect(h.drain().map(\.port) == [2])
        #expect(lines.all == [
            "packet 1 in port 0: 52 bytes, time 1000 ns",
            "  ingress parser",
            "    state start",
            "      extract ethernet: dstAddr=00:00:00:00:00:01 srcAddr=00:00:00:00:00:99 etherType=0x0800",
            "      select hdr.ethernet.etherType=0x0800 -> parse_ipv4",
            "    state parse_ipv4",
            "      extract ipv4: version=4 ihl=5 diffserv=0 totalLen=0x0026 identification=0x0001 flags=0 fragOffset=0x0000 ttl=64 protocol=17 hdrChecksum=0x5bb7 srcAddr=10.0.9.9 dstAddr=10.0.2.7",
            "      -> accept",
            "  ingress",
            "    if hdr.ipv4.isValid(): true",
            "      verify checksum hdr.ipv4.hdrChecksum: ok",
            "      if ((standard.checksumError == 1) || (hdr.ipv4.ttl <= 1)) || (hdr.ipv4.ihl != 5): false (else)",
            "        table ipv4_lpm: hdr.ipv4.dstAddr=10.0.2.7 -> hit entry 1 (10.0.2.0/24)",
            "          action ipv4_forward(dstAddr=08:00:00:00:02:22, port=2)",
            "  deparser",
            "    update checksum hdr.ipv4.hdrChecksum = 0x5cb7",
            "    emit ethernet, ipv4: 52 bytes 080000000222000000000001080045000026000100003f115cb70a0009090a00020704d200500012c77f00010203040506070809",
            "  traffic manager: unicast to port 2",
            "  out port 2: 52 bytes",
        ])
    }

    @Test func ipv4RouterMissNamesTheDefaultAndTheDropStatement() throws {
        let (h, lines) = try router()
        try h.expectDropped(udp(dst: "192.168.0.1"), port: 0)
        #expect(Array(lines.all.suffix(6)) == [
            "        table ipv4_lpm: hdr.ipv4.dstAddr=192.168.0.1 -> miss, default action drop",
            "          action drop()",
            "            drop (in action 'drop')",
            "  deparser",
            "    update checksum hdr.ipv4.hdrChecksum = 0xa714",
            "  dropped in ingress: marked by drop in action 'drop'",
        ])
        #expect(lines.all.count == 18)
        // TTL 1: the drop is the control's own statement, not a table's action.
        lines.all = []
        try h.expectDropped(udp(dst: "10.0.2.7", ttl: 1), port: 0)
        #expect(lines.all.contains("        drop (in control ingress)"))
        #expect(lines.all.last == "  dropped in ingress: marked by drop in control ingress")
        #expect(!lines.all.contains { $0.contains("table ipv4_lpm") })
    }

    @Test func aParserRejectSaysWhy() throws {
        let (h, lines) = try router()
        try h.expectDropped(Array(udp(dst: "10.0.2.7").prefix(20)), port: 0)
        #expect(lines.all.contains("    reject: PacketTooShort"))
    }

    @Test func l2SwitchFloodShowsTheGroupTheCopiesAndTheEgressDrop() throws {
        let lines = Lines()
        let program = try L2Switch.program().verified()
        let h = try SwitchHarness(program, controller: L2Switch.Controller(ports: [1, 2, 3]),
                                  trace: PipelineTracer(sink: { lines.all.append($0) }))
        let frame = Packet.ethernet(dst: "00:00:00:00:00:02", src: "00:00:00:00:00:01").payload(count: 46).bytes
        try h.send(frame, port: 1)
        #expect(h.drain().map(\.port) == [2, 3])
        #expect(lines.all.contains("  traffic manager: multicast group 1, 3 copies: port 1 rid 1, port 2 rid 2, port 3 rid 3"))
        #expect(lines.all.contains("  dropped in egress: marked by drop in control egress"))
        // Learnt: the answer goes out of port 1 alone, by the entry the controller installed.
        try h.send(Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:02").payload(count: 46).bytes, port: 2)
        #expect(h.drain().map(\.port) == [1])
        try pinned("l2-switch-flood-then-forward", lines.all)
    }

    @Test func aclFirewallDropNamesTheRuleAndItsPriority() throws {
        let lines = Lines()
        let h = try SwitchHarness(ACLFirewall.program().verified(), entries: ACLFirewallTests.routes + "\n" + ACLFirewallTests.rules,
                                  trace: PipelineTracer(sink: { lines.all.append($0) }))
        let dns = Packet.ethernet(dst: ACLFirewallTests.routerMAC, src: ACLFirewallTests.hostMAC)
            .ipv4(src: "10.0.9.4", dst: "10.0.1.1").udp(sport: 5000, dport: 53).payload(count: 12).bytes
        try h.expectDropped(dns, port: 0)
        #expect(lines.all.contains { $0.contains("table acl: ") && $0.contains("-> hit entry 0 (") && $0.hasSuffix(", priority 10)") })
        try pinned("acl-firewall-deny", lines.all)
    }

    @Test func switchMLShowsRegisterUpdatesAndTheResultMulticast() throws {
        let lines = Lines()
        let h = try SwitchHarness(SwitchML.program(k: 32, slots: 4).verified(), trace: PipelineTracer(sink: { lines.all.append($0) }))
        let workers = [0, 1].map { SwitchMLPackets.worker($0, job: 1) }
        try SwitchML.install(SwitchML.Job(job: 1, udpPort: 0xBEE1, slotBase: 0, slots: 2, group: 2, workers: workers), into: h.pipeline)
        let v = [SwitchMLPackets.vector(1), SwitchMLPackets.vector(2)]
        try h.send(SwitchMLPackets.update(0, values: v[0]), port: 1)
        try h.send(SwitchMLPackets.update(1, values: v[1]), port: 2)
        let sum = SwitchMLPackets.sum(v)
        try h.expect(SwitchMLPackets.result(to: 0, values: sum), port: 1)
        try h.expect(SwitchMLPackets.result(to: 1, values: sum), port: 2)
        try h.expectNoOtherPackets()
        // The first value's slot: 0 before, worker 0's value after the first packet, the sum after the second.
        let first = lines.all.filter { $0.contains("register ") && $0.contains("[0]: ") }
        #expect(first.count >= 2)
        #expect(lines.all.contains { $0.hasPrefix("  traffic manager: multicast group 2, 2 copies") })
        try pinned("switchml-two-workers", lines.all)
    }

    @Test func jsonLinesParseWithSnakeCaseKeys() throws {
        let (h, lines) = try router(.json)
        try h.send(udp(dst: "10.0.2.7"), port: 0)
        let objects = try lines.all.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.count == 19)
        #expect(objects.allSatisfy { ($0["packet"] as? Int) == 1 && $0["event"] is String && $0["depth"] is Int })
        for o in objects { for k in o.keys { #expect(k == k.lowercased() && !k.contains("-"), "key \(k)") } }
        let table = try #require(objects.first { ($0["event"] as? String) == "table" })
        #expect(table["table"] as? String == "ipv4_lpm")
        #expect(table["hit"] as? Bool == true)
        #expect(table["entry"] as? Int == 1)
        #expect(table["match"] as? [String] == ["10.0.2.0/24"])
        #expect(table["key"] as? [String: String] == ["hdr.ipv4.dstAddr": "10.0.2.7"])
        let action = try #require(objects.first { ($0["event"] as? String) == "action" })
        #expect(action["args"] as? [String: String] == ["dstAddr": "08:00:00:00:02:22", "port": "2"])
        let tm = try #require(objects.first { ($0["event"] as? String) == "traffic_manager" })
        #expect(tm["decision"] as? String == "unicast" && tm["port"] as? Int == 2)
    }

    @Test func theFilterShowsOnlyThePacketsItAccepts() throws {
        let (h, lines) = try router(filter: "ipv4.dst == 10.0.2.7 && ingress_port == 0")
        try h.send(udp(dst: "10.0.1.1"), port: 0)
        try h.send(udp(dst: "10.0.2.7"), port: 1)
        try h.send(udp(dst: "10.0.2.7"), port: 0)
        let t = try #require(h.pipeline.tracer)
        #expect(t.packets == 3 && t.shown == 1)
        #expect(lines.all.first == "packet 3 in port 0: 52 bytes, time 3000 ns")
        // The traced pipeline forwarded all three as the untraced one does.
        #expect(h.drain().map(\.port) == [1, 2, 2])
    }

    @Test func filterErrorsNameTheTokenAndWhatIsValid() throws {
        func message(_ text: String) -> String {
            do { _ = try TraceFilter(text); return "parsed" } catch { return error.description }
        }
        #expect(message("ipv4.dst = 10.0.2.2") == "trace filter 'ipv4.dst = 10.0.2.2': column 10: '=' is not a comparison; valid: == != < <= > >=")
        #expect(message("ipv4.dst == 10.0.2") == "trace filter 'ipv4.dst == 10.0.2': column 13: '10.0.2' is not a value; valid: decimal (17), hex (0x11), binary (0b101), IPv4 (10.0.2.2), MAC (00:00:00:00:00:01), IPv6")
        #expect(message("ingress_port == 1 & ipv4") == "trace filter 'ingress_port == 1 & ipv4': column 19: '&' alone is not an operator; valid: && (and), || (or)")
        #expect(message("(ipv4 && tcp") == "trace filter '(ipv4 && tcp': column 13: expected ')' to close the '(' at column 1, found the end of the filter")
        #expect(message("") == "trace filter '': column 1: the filter is empty; e.g. 'ipv4.dstAddr == 10.0.2.2 && ingress_port == 1'")
        #expect(message("1 == ingress_port") == "trace filter '1 == ingress_port': column 1: '1' is a value where a field belongs; write the field first, e.g. ingress_port == 1")
        // Names are checked against the program when the pipeline is built.
        func bound(_ text: String) throws -> String {
            do { _ = try router(filter: text); return "bound" } catch { return "\(error)" }
        }
        #expect(try bound("ipv4.dst == 1 && ipv4.d == 2") == "trace filter 'ipv4.dst == 1 && ipv4.d == 2': column 18: 'd' could be any of diffserv, dstAddr in ipv4; write more of the name")
        #expect(try bound("ipv6.dst == 1") == "trace filter 'ipv6.dst == 1': column 1: no header 'ipv6'; valid headers: ethernet, ipv4")
        #expect(try bound("ipv4.port == 1") == "trace filter 'ipv4.port == 1': column 1: header ipv4 has no field 'port'; valid: version, ihl, diffserv, totalLen, identification, flags, fragOffset, ttl, protocol, hdrChecksum, srcAddr, dstAddr")
        #expect(try bound("egress_port == 2 || ipv4.dst_addr == 10.0.0.1 || !ethernet") == "bound")
    }

    @Test func tracingDoesNotChangeWhatThePipelineDoes() throws {
        // The same packets through a traced and an untraced acl-firewall: the same outputs,
        // byte for byte, and the same counters.
        let program = try ACLFirewall.program().verified()
        let entries = ACLFirewallTests.routes + "\n" + ACLFirewallTests.rules
        let plain = try SwitchHarness(program, entries: entries)
        let traced = try SwitchHarness(program, entries: entries, trace: PipelineTracer(sink: { _ in }))
        #expect(plain.pipeline.tracer == nil)
        var rng = SplitMix64(seed: 27)
        print("seed 27")
        let sources: [IPv4Address] = ["10.0.9.4", "192.168.3.1", "192.168.7.5", "10.0.1.9"]
        let dests: [IPv4Address] = ["10.0.1.1", "10.0.2.8", "8.8.8.8"]
        for _ in 0..<200 {
            let src = sources[Int(rng.next() % 4)], dst = dests[Int(rng.next() % 3)]
            let dport = UInt16([53, 80, 1500][Int(rng.next() % 3)]), ttl = UInt8([1, 64][Int(rng.next() % 2)])
            let p = Packet.ethernet(dst: ACLFirewallTests.routerMAC, src: ACLFirewallTests.hostMAC)
                .ipv4(src: src, dst: dst, ttl: ttl).udp(sport: 5000, dport: dport).payload(count: 12).bytes
            try plain.send(p, port: 0)
            try traced.send(p, port: 0)
        }
        let a = plain.drain(), b = traced.drain()
        #expect(a.count > 0 && a.count < 200)
        #expect(a.map(\.port) == b.map(\.port) && a.map(\.bytes) == b.map(\.bytes))
        #expect(plain.pipeline.stats == traced.pipeline.stats)
        let hits = { (h: SwitchHarness) throws -> [UInt64] in try h.pipeline.entries("acl").map { try h.pipeline.directCounter($0.0).packets } }
        #expect(try hits(plain) == hits(traced))
        #expect(try hits(plain).reduce(0, +) > 0)
    }

    /// A parser that selects on `random`: the trace reads the select key, which must not draw
    /// from the generator a second time. Traced and untraced runs with the same seed go the
    /// same way on every packet, and each trace's select line names the value the parser took.
    @Test func aRandomSelectKeyIsDrawnOnceWhenTraced() throws {
        let program = try SwitchProgram("coin") {
            HeaderType("side_t") { Field("v", 8) }
            Header("heads", "side_t")
            Header("tails", "side_t")
            Parser {
                State("start") {
                    Select(random(0, 1, width: 8)) {
                        Case(Keyset(0), next: "heads")
                        Default(next: "tails")
                    }
                }
                State("heads") { Extract(hdr.heads); Accept() }
                State("tails") { Extract(hdr.tails); Accept() }
            }
            Ingress {
                If(hdr.heads.isValid) { Forward(port: 1) } else: { Forward(port: 2) }
            }
            Deparser { Emit(hdr.heads); Emit(hdr.tails) }
        }.verified()
        let lines = Lines()
        let plain = try Pipeline(program, seed: 99), traced = try Pipeline(program, seed: 99, trace: PipelineTracer(sink: { lines.all.append($0) }))
        var ports: [UInt16] = []
        for i in 0..<64 {
            lines.all = []
            let a = plain.process([UInt8(i)], port: 0), b = traced.process([UInt8(i)], port: 0)
            #expect(a.map(\.port) == b.map(\.port), "packet \(i)")
            let select = try #require(lines.all.first { $0.contains("select ") }, "packet \(i): \(lines.all)")
            let port = try #require(b.first?.port)
            #expect(select.hasSuffix(port == 1 ? "-> heads" : "-> tails"), "packet \(i): \(select)")
            #expect(select.contains(port == 1 ? "=0 " : "=1 "), "packet \(i): \(select)")
            ports.append(port)
        }
        #expect(Set(ports) == [1, 2], "both sides come up in 64 throws: \(ports)")
    }

    @Test func tracingRunsTheClosureEngineAndSaysSo() throws {
        let p = try Pipeline(IPv4Router.program().verified(), engine: .native, trace: PipelineTracer(sink: { _ in }))
        #expect(p.engine == .closures)
        #expect(p.engineNote == "tracing runs the closures")
    }

    @Test func stfFailureCarriesTheTraceOfItsPacket() throws {
        let spec = """
            add ipv4_lpm hdr.ipv4.dstAddr:10.0.2.0/24 ipv4_forward(dstAddr:0x080000000222, port:2)
            packet 0 \(udp(dst: "10.0.3.7").map { String(format: "%02x", $0) }.joined())
            expect 2 080000000222 000000000001 0800 $
            """
        do {
            _ = try STFSpec(file: "t.stf", text: spec).run(IPv4Router.program().verified(), trace: .text)
            Issue.record("the spec passed")
        } catch {
            let text = "\(error)"
            #expect(text.hasPrefix("t.stf:3: expected a packet on port 2, but none came out there (nothing came out at all)"))
            #expect(text.contains("\ntrace of the packet at line 2:\n  packet 1 in port 0: 52 bytes, time 1000 ns\n"))
            #expect(text.contains("\n          table ipv4_lpm: hdr.ipv4.dstAddr=10.0.3.7 -> miss, default action drop\n"))
            #expect(text.hasSuffix("\n    dropped in ingress: marked by drop in action 'drop'"))
        }
        // Without trace: the message alone, as before.
        do { _ = try STFSpec(file: "t.stf", text: spec).run(IPv4Router.program().verified()); Issue.record("the spec passed") } catch {
            #expect(!"\(error)".contains("trace of"))
        }
    }
}

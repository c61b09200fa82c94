// Entries files (every command, and errors naming file:line and the fix) and STF specs.

import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct DSLFeatureEntriesTests {
    static let tables: [(name: String, kind: MatchKind)] = [("ex", .exact), ("lp", .lpm), ("te", .ternary), ("rg", .range), ("op", .optional)]

    /// One table of each match kind, each writing its own output byte; a register, a counter, a
    /// meter and multicast.
    static func program() -> SwitchProgram {
        SwitchProgram("entries") {
            HeaderType("h_t") {
                Field("k", 16); Field("k2", 8); Field("grp", 16); Field("color", 8)
                for t in tables { Field("o_\(t.name)", 8) }
            }
            Header("h", "h_t")
            Register("r", width: 16, size: 4)
            Counter("c", size: 4)
            Meter("m", size: 1, unit: .packets)
            Parser { State("start") { Extract(hdr.h) } }
            NoAction()
            for t in tables {
                Action("set_\(t.name)", Param("v", 8)) { Assign(hdr.h[dynamicMember: "o_\(t.name)"], param.v) }
                Table(t.name) {
                    Key(t.kind == .optional ? hdr.h.k2 : hdr.h.k, t.kind)
                    Actions("set_\(t.name)", "NoAction")
                    Size(t.name == "ex" ? 3 : 16)
                }
            }
            Ingress {
                for t in tables { Apply(t.name) }
                Count("c", index: 0)
                ExecuteMeter("m", index: 0, into: hdr.h.color)
                Multicast(group: hdr.h.grp)
            }
            Deparser { Emit(hdr.h) }
        }
    }

    /// k, k2, group; outputs zero.
    func pkt(_ k: UInt16, _ k2: UInt8 = 0, grp: UInt16 = 0) -> [UInt8] {
        be(UInt128(k), 2) + [k2] + be(UInt128(grp), 2) + [0] + [0, 0, 0, 0, 0]
    }
    /// The output bytes (ex, lp, te, rg, op) of a unicast packet, and its color.
    func outputs(_ pl: Pipeline, _ k: UInt16, _ k2: UInt8 = 0) throws -> [UInt8] {
        let b = try runOne(pl, pkt(k, k2)).bytes
        return Array(b[6..<11])
    }

    static let everyCommand = """
        # one of each command; comments and blank lines are skipped

        table_add ex set_ex 0x0102 => 0x11
        table_add ex set_ex 7 => 0x12
        table_add lp set_lp 0x0100/8 => 0x21
        table_add lp set_lp 0x0102/16 => 0x22
        table_add te set_te 0x0100&&&0xFF00 => 0x31 10
        table_add te set_te 0x0002&&&0x00FF => 0x32 20      # higher priority
        table_add rg set_rg 0x0100->0x01FF => 0x41 1
        table_add rg set_rg 0x0102->0x0102 => 0x42 5
        table_add op set_op * => 0x51 1
        table_add op set_op 9 => 0x52 2
        table_set_default ex set_ex 0xEE
        table_modify ex set_ex 1 => 0x13
        table_delete lp 1
        mc_mgrp_create 1
        mc_node_create 0 1 2
        mc_node_create 5 3
        mc_node_associate 1 0
        mc_node_associate 1 1
        mc_group_set 2 4 5:9
        register_write r 2 7
        register_reset r
        register_write r 3 42
        meter_set_rates m 0 1:1 1:2
        """

    @Test func everyCommandTakesEffect() throws {
        let pl = try pipeline(Self.program())
        let applied = try EntriesFile(file: "all.txt", text: Self.everyCommand).apply(to: pl)
        #expect(applied == 23)
        // ex exact hit, lp falls back to the /8 (the /16 was deleted), te and rg pick the higher
        // priority, op matches 9 over the wildcard. The meter starts full: green.
        #expect(try outputs(pl, 0x0102, 9) == [0x11, 0x21, 0x32, 0x42, 0x52])
        // The modified entry; op's wildcard; misses run NoAction.
        #expect(try outputs(pl, 7, 0) == [0x13, 0, 0, 0, 0x51])
        // The table_set_default.
        #expect(try outputs(pl, 0x0500, 1)[0] == 0xEE)
        // Three packets at one instant (10 s in: the buckets are full) against rates 1:1 and 1:2:
        // green, yellow, red.
        let colors = try (0..<3).map { _ in try runOne(pl, pkt(0), timestamp: 10_000_000_000).bytes[5] }
        #expect(colors == [0, 1, 2])
        // Multicast groups from nodes and from the shorthand.
        #expect(pl.multicastGroup(1) == [MulticastMember(port: 1, rid: 0), MulticastMember(port: 2, rid: 0), MulticastMember(port: 3, rid: 5)])
        #expect(pl.multicastGroup(2) == [MulticastMember(port: 4, rid: 0), MulticastMember(port: 5, rid: 9)])
        #expect(pl.process(pkt(0x0102, grp: 1), port: 0).map(\.port) == [1, 2, 3])
        #expect(pl.process(pkt(0x0102, grp: 2), port: 0).map(\.port) == [4, 5])
        // Registers.
        #expect(try pl.readRegister("r", index: 2) == 0)
        #expect(try pl.readRegister("r", index: 3) == 42)
        // counter_reset and table_clear, from a second file after traffic.
        #expect(try pl.counter("c", index: 0).packets == 8)
        try EntriesFile(file: "more.txt", text: "counter_reset c\ntable_clear te\n").apply(to: pl)
        #expect(try pl.counter("c", index: 0) == (packets: 0, bytes: 0))
        #expect(try outputs(pl, 0x0102, 9) == [0x11, 0x21, 0, 0x42, 0x52])
        #expect(try pl.entries("te").isEmpty)
    }

    /// What BMv2 users have in their files: fully qualified names, and the multicast and meter
    /// commands beyond the basic ones.
    @Test func bmv2NamesAndCommandsTakeEffect() throws {
        let pl = try pipeline(Self.program())
        let text = """
            table_add MyIngress.ex MyIngress.set_ex 0x0102 => 0x11
            table_set_default MyIngress.lp set_lp 0x77
            table_reset_default MyIngress.lp
            register_write MyIngress.r 1 9
            mc_mgrp_create 1
            mc_mgrp_create 2
            mc_node_create 0 1 2
            mc_node_create 5 3
            mc_node_associate 1 0
            mc_node_associate 1 1
            mc_node_associate 2 1
            mc_node_update 1 6 7
            mc_node_dissociate 1 0
            mc_node_create 4 8
            mc_node_associate 2 2
            mc_node_destroy 1
            mc_mgrp_create 3
            mc_mgrp_destroy 3
            meter_array_set_rates MyIngress.m 1:1 1:2
            """
        #expect(try EntriesFile(file: "bmv2.txt", text: text).apply(to: pl) == 19)
        #expect(try outputs(pl, 0x0102, 0)[0] == 0x11)
        #expect(try outputs(pl, 0x0500, 0)[1] == 0, "lp's default is NoAction again")
        #expect(try pl.readRegister("r", index: 1) == 9)
        // Node 1 moved to ports 6, 7, left group 1 with node 0 gone from it, then was destroyed.
        #expect(pl.multicastGroup(1) == [])
        #expect(pl.multicastGroup(2) == [MulticastMember(port: 8, rid: 4)])
        #expect(pl.multicastGroup(3) == nil)
        let colors = try (0..<3).map { _ in try runOne(pl, pkt(0), timestamp: 10_000_000_000).bytes[5] }
        #expect(colors == [0, 1, 2])
    }

    func error(_ text: String) throws -> String {
        let pl = try pipeline(Self.program())
        do {
            try EntriesFile(file: "bad.txt", text: text).apply(to: pl)
        } catch {
            return error.description
        }
        Issue.record("no error for \(text)")
        return ""
    }

    @Test func errorsNameTheFileTheLineAndTheFix() throws {
        #expect(try error("table_add nope set_ex 1 => 2") ==
            "bad.txt:1: no table 'nope'; tables: ex, lp, te, rg, op")
        #expect(try error("# header\n\ntable_add ex set_ex 1 2 => 3") ==
            "bad.txt:3: table 'ex' has 1 key (hdr.h.k: exact), the line gives 2 matches; usage: table_add TABLE ACTION MATCH... => ARG... [PRIORITY]")
        #expect(try error("table_add ex set_ex zz => 3") ==
            "bad.txt:1: key hdr.h.k: 'zz' is not a value (use decimal, 0x hex, 0b binary, a MAC, IPv4 or IPv6 address)")
        #expect(try error("table_add ex set_ex 1 => 0xZZ") ==
            "bad.txt:1: argument of set_ex: '0xZZ' is not a value (use decimal, 0x hex, 0b binary, a MAC, IPv4 or IPv6 address)")
        #expect(try error("table_add ex set_ex 1 => 256") ==
            "bad.txt:1: argument v = 0x100 of action 'set_ex' does not fit in 8 bits")
        #expect(try error("frobnicate ex") ==
            "bad.txt:1: unknown command 'frobnicate'; commands: table_add, table_set_default, table_reset_default, table_modify, table_delete, table_clear, mc_mgrp_create, mc_mgrp_destroy, mc_node_create, mc_node_update, mc_node_associate, mc_node_dissociate, mc_node_destroy, mc_group_set, register_write, register_reset, counter_reset, meter_set_rates, meter_array_set_rates")
        #expect(try error("table_dump ex") ==
            "bad.txt:1: table_dump is a BMv2 command Sluice does not take: it reads state, and an entries file only writes it; read with the Swift control plane (entries, counter, readRegister) or a command's --json output")
        #expect(try error("mirroring_add 1 3") ==
            "bad.txt:1: mirroring_add is a BMv2 command Sluice does not take: Sluice programs have no mirroring sessions; send copies through a multicast group (mc_group_set) instead")
        #expect(try error("mc_node_dissociate 1 0") == "bad.txt:1: multicast node 0 is not in group 1")
        #expect(try error("mc_node_create 0 1\nmc_node_destroy 0\nmc_node_update 0 2") == "bad.txt:3: no multicast node 0; mc_node_create has made 1")
        #expect(try error("table_add Ingress.nope set_ex 1 => 2") == "bad.txt:1: no table 'Ingress.nope'; tables: ex, lp, te, rg, op")
        #expect(try error("table_add ex set_ex 1 => 1\ntable_add ex set_ex 2 => 2\ntable_add ex set_ex 3 => 3\ntable_add ex set_ex 4 => 4") ==
            "bad.txt:4: table 'ex' is full (size 3); raise its Size or delete entries")
        #expect(try error("table_add ex set_ex 1 => 1\ntable_add ex set_ex 1 => 2") ==
            "bad.txt:2: table 'ex' already has an entry 1; modify it or delete it first")
        #expect(try error("table_add lp set_lp 0x0100/17 => 1") ==
            "bad.txt:1: key hdr.h.k of table 'lp': prefix length 17 is outside 0...16")
        #expect(try error("mc_node_associate 1 0") ==
            "bad.txt:1: no multicast node 0; mc_node_create has made 0")
        #expect(try error("register_write r 4 1") ==
            "bad.txt:1: register 'r' has indices 0...3; 4 is outside")
        #expect(try error("meter_set_rates m 0 1000 2000:1") ==
            "bad.txt:1: '1000' is not RATE:BURST (integers, per second)")
        #expect(try error("table_modify ex set_ex 0 => 1") ==
            "bad.txt:1: table 'ex' has no entry with handle 0")
        #expect(try error("table_add ex") ==
            "bad.txt:1: table_add needs more arguments; usage: table_add TABLE ACTION MATCH... => ARG... [PRIORITY]")
    }

    @Test func applyStopsAtTheFirstError() throws {
        let pl = try pipeline(Self.program())
        #expect(throws: (any Error).self) {
            try EntriesFile(file: "x", text: "table_add ex set_ex 1 => 1\nbogus\ntable_add ex set_ex 2 => 2").apply(to: pl)
        }
        #expect(try pl.entries("ex").map { $0.1.matches } == [[.exact(1)]])
    }

    // MARK: STF

    static let spec = """
        # STF end to end against the entries program
        add ex hdr.h.k:0x0102 set_ex(v:0x11)
        add te 20 hdr.h.k:0x01** set_te(v:0x32)
        add op 1 set_op(v:0x51)
        setdefault lp set_lp(v:0x99)
        mc_group_set 3 6 7
        packet 0 0102 09 0000 00 0000000000 abcd
        expect 0 0102 09 0000 00 11 99 32 00 51 abcd $
        packet 1 0202 09 0003 00 0000000000
        expect 6 0202 09 0003 ** 00 99 00 00 51
        expect 7 0202 09 0003 ** 00 99 00 00 51 $
        """

    @Test func stfSpecRunsEndToEnd() throws {
        let result = try STFSpec(file: "entries.stf", text: Self.spec).run(Self.program().verified())
        #expect(result.packets == 2)
        #expect(result.expectations == 3)
    }

    @Test func failingSTFExpectationNamesTheLine() throws {
        let bad = Self.spec.replacingOccurrences(of: "expect 0 0102 09 0000 00 11", with: "expect 0 0102 09 0000 00 12")
        do {
            _ = try STFSpec(file: "entries.stf", text: bad).run(Self.program().verified())
            Issue.record("the spec should have failed")
        } catch let e as STFError {
            #expect(e.line == 8)
            let text = "\(e)"
            #expect(text.hasPrefix("entries.stf:8: port 0: the packet differs from the expected one\n"))
            #expect(text.contains("  byte 6: expected 12, got 11\n"))
        }
        // An expectation for a port where nothing came out.
        let missing = Self.spec + "\nexpect 5 00"
        do {
            _ = try STFSpec(file: "entries.stf", text: missing).run(Self.program().verified())
            Issue.record("the spec should have failed")
        } catch let e as STFError {
            #expect(e.line == 12)
            #expect("\(e)".hasPrefix("entries.stf:12: expected a packet on port 5, but none came out there"))
        }
        // A spec error names its line too.
        do {
            _ = try STFSpec(file: "entries.stf", text: "packet 0 00\nadd nope k:1 a()").run(Self.program().verified())
            Issue.record("the spec should have failed")
        } catch let e as STFError {
            #expect("\(e)" == "entries.stf:2: no table 'nope'; tables: ex, lp, te, rg, op")
        }
    }
}

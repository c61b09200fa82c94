// Entries files with bad input: every problem is an error naming file:line, never a crash and
// never a value silently truncated to fit.

import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct EntriesFileRobustnessTests {
    /// A ternary table, a register, a counter, a meter and multicast.
    static func program() -> SwitchProgram {
        SwitchProgram("robust") {
            HeaderType("h_t") { Field("k", 16); Field("grp", 16); Field("color", 8); Field("o", 8) }
            Header("h", "h_t")
            Register("r", width: 16, size: 4)
            Counter("c", size: 4)
            Meter("m", size: 1, unit: .packets)
            Parser { State("start") { Extract(hdr.h) } }
            NoAction()
            Action("set", Param("v", 8)) { Assign(hdr.h.o, param.v) }
            Table("te") {
                Key(hdr.h.k, .ternary)
                Actions("set", "NoAction")
                Size(16)
            }
            Ingress {
                Apply("te")
                Count("c", index: 0)
                ExecuteMeter("m", index: 0, into: hdr.h.color)
                Multicast(group: hdr.h.grp)
            }
            Deparser { Emit(hdr.h) }
        }
    }

    func error(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let pl = try pipeline(Self.program())
        do {
            try EntriesFile(file: "bad.txt", text: text).apply(to: pl)
        } catch {
            return error.description
        }
        Issue.record("no error for \(text)", sourceLocation: sourceLocation)
        return ""
    }

    @Test func malformedMulticastMembersAreErrors() throws {
        #expect(try error("mc_group_set 1 :") == "bad.txt:1: ':' is not PORT or PORT:RID")
        #expect(try error("mc_group_set 1 1:") == "bad.txt:1: '1:' is not PORT or PORT:RID")
        #expect(try error("mc_group_set 1 :2") == "bad.txt:1: ':2' is not PORT or PORT:RID")
        #expect(try error("mc_group_set 1 1:2:3") == "bad.txt:1: '1:2:3' is not PORT or PORT:RID")
        #expect(try error("# members\nmc_group_set 1 2 3:4 ::") == "bad.txt:2: '::' is not PORT or PORT:RID")
        #expect(try error("mc_group_set 1 x:1") == "bad.txt:1: port: 'x' is not a non-negative integer")
    }

    @Test func handlesMustFitInt32() throws {
        #expect(try error("table_modify te set 2147483648 => 1") ==
            "bad.txt:1: entry handle 2147483648 is outside 0...2147483647")
        #expect(try error("table_delete te 9223372036854775807") ==
            "bad.txt:1: entry handle 9223372036854775807 is outside 0...2147483647")
        #expect(try error("table_delete te 99999999999999999999999") ==
            "bad.txt:1: entry handle 99999999999999999999999 is outside 0...2147483647")
        // In range but absent: the control plane's own error.
        #expect(try error("table_delete te 2147483647") ==
            "bad.txt:1: table 'te' has no entry with handle 2147483647")
    }

    @Test func prioritiesMustFitInt32() throws {
        #expect(try error("table_add te set 1&&&1 => 1 2147483648") ==
            "bad.txt:1: priority 2147483648 is outside 0...2147483647")
        #expect(try error("table_add te set 1&&&1 => 1 18446744073709551616") ==
            "bad.txt:1: priority 18446744073709551616 is outside 0...2147483647")
        let pl = try pipeline(Self.program())
        try EntriesFile(file: "ok.txt", text: "table_add te set 1&&&1 => 1 2147483647").apply(to: pl)
        #expect(try pl.entries("te").map { $0.1.priority } == [2147483647])
    }

    @Test func groupsReplicaIdsAndPortsAreNotTruncated() throws {
        #expect(try error("mc_mgrp_create 65537") == "bad.txt:1: group 65537 is outside 0...65535")
        #expect(try error("mc_group_set 65536 1") == "bad.txt:1: group 65536 is outside 0...65535")
        #expect(try error("mc_node_create 0 1\nmc_node_associate 70000 0") == "bad.txt:2: group 70000 is outside 0...65535")
        #expect(try error("mc_node_create 65536 1") == "bad.txt:1: replica id 65536 is outside 0...65535")
        #expect(try error("mc_group_set 1 1:65536") == "bad.txt:1: replica id 65536 is outside 0...65535")
        #expect(try error("mc_group_set 1 512") == "bad.txt:1: port 512 is outside 0...511 (ports are 9 bits)")
        #expect(try error("mc_group_set 1 65537:1") == "bad.txt:1: port 65537 is outside 0...511 (ports are 9 bits)")
        #expect(try error("mc_node_create 0 1 600") == "bad.txt:1: port 600 is outside 0...511 (ports are 9 bits)")
        #expect(try error("mc_mgrp_create 99999999999999999999") == "bad.txt:1: group 99999999999999999999 is outside 0...65535")
        // The largest values go through unchanged.
        let pl = try pipeline(Self.program())
        try EntriesFile(file: "ok.txt", text: "mc_group_set 65535 511:65535 0").apply(to: pl)
        #expect(pl.multicastGroup(65535) == [MulticastMember(port: 511, rid: 65535), MulticastMember(port: 0, rid: 0)])
        #expect(pl.multicastGroup(65535 &+ 2) == nil)
    }

    @Test func registerValuesAreNotTruncated() throws {
        #expect(try error("register_write r 0 0x10000000000000001") ==
            "bad.txt:1: value '0x10000000000000001' does not fit in 64 bits (registers hold at most 64)")
        #expect(try error("register_write r 0 18446744073709551616") ==
            "bad.txt:1: value '18446744073709551616' does not fit in 64 bits (registers hold at most 64)")
        #expect(try error("register_write r 0 0x100000000000000000000000000000000") ==
            "bad.txt:1: value: '0x100000000000000000000000000000000' is too large (values have at most 128 bits)")
        #expect(try error("register_write r 99999999999999999999 1") == "bad.txt:1: index 99999999999999999999 is too large")
    }

    static let valid = """
        # a valid file exercising every command
        table_add te set 0x0100&&&0xFF00 => 0x31 10
        table_add te set 0x0002&&&0x00FF => 0x32 20
        table_set_default te set 7
        table_modify te set 0 => 0x33
        table_delete te 1
        mc_mgrp_create 1
        mc_node_create 0 1 2
        mc_node_create 5 3
        mc_node_associate 1 0
        mc_node_associate 1 1
        mc_group_set 2 4 5:9
        register_write r 2 7
        register_reset r
        register_write r 3 42
        counter_reset c
        meter_set_rates m 0 1:1 1:2
        table_clear te
        """

    @Test func validFileApplies() throws {
        let pl = try pipeline(Self.program())
        #expect(try EntriesFile(file: "ok.txt", text: Self.valid).apply(to: pl) == 17)
    }

    /// Random mutations of a valid file: apply() succeeds or throws an EntriesFileError naming
    /// the file and a line of it, and never crashes.
    @Test func randomMutationsNeverCrash() throws {
        var rng = SplitMix64(seed: testSeed("EntriesFileRobustnessTests.randomMutationsNeverCrash"))
        let huge = ["2147483648", "4294967296", "65536", "65537", "512", "-1", "-2147483649",
                    "9223372036854775808", "18446744073709551616", "99999999999999999999999999999999999999999",
                    "0x10000000000000001", "0x" + String(repeating: "f", count: 40), "0b" + String(repeating: "1", count: 200),
                    "340282366920938463463374607431768211456", ":", "::", "1:", ":1", "1:2:3", "=>", "&&&", "->", "/",
                    "1/999999999999999999999", "1&&&", "&&&1", "1->", "->1", "ff:ff:ff:ff:ff:ff", "255.255.255.256", "*", ""]
        let chars: [Character] = Array("0123456789abcdefxX:/&->=*# \t\n.-_+")
        let lines = Self.valid.split(separator: "\n", omittingEmptySubsequences: false).count
        var errors = 0
        for _ in 0..<2_000 {
            var tokens = Self.valid.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !tokens.isEmpty else { break }
                let i = Int.random(in: 0..<tokens.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0:
                    tokens.remove(at: i)
                case 1:
                    tokens.insert(tokens[i], at: i)
                case 2:
                    var cs = Array(tokens[i])
                    if cs.isEmpty { cs = ["0"] }
                    cs[Int.random(in: 0..<cs.count, using: &rng)] = chars.randomElement(using: &rng)!
                    tokens[i] = String(cs)
                case 3:
                    // Keep a line break the token may hold, so lines stay lines.
                    let nl = tokens[i].contains("\n") ? "\n" + (tokens[i].split(separator: "\n").last.map(String.init) ?? "") : ""
                    tokens[i] = huge.randomElement(using: &rng)! + nl
                default:
                    tokens.swapAt(i, Int.random(in: 0..<tokens.count, using: &rng))
                }
            }
            let text = tokens.joined(separator: " ")
            let pl = try pipeline(Self.program())
            do {
                try EntriesFile(file: "fuzz.txt", text: text).apply(to: pl)
            } catch {
                errors += 1
                #expect(error.file == "fuzz.txt")
                #expect(error.line >= 1 && error.line <= lines + 8, "line \(error.line) for:\n\(text)")
                #expect(!error.message.isEmpty)
            }
        }
        // Most mutations break something.
        #expect(errors > 500)
    }
}

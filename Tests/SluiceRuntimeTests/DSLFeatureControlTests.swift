// Controls (If, Apply with hit/miss, Switch on the action, Call, Exit) and tables (every match
// kind, priorities, parameters, defaults, const entries, size, direct counters).

import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct DSLFeatureControlTests {
    /// `h`: a key `k`, and result bytes `r0`...`r3`.
    static func program(@StatementBuilder ingress: () -> [Stmt]) -> SwitchProgram {
        SwitchProgram("controls") {
            HeaderType("h_t") { Field("k", 8); Field("r0", 8); Field("r1", 8); Field("r2", 8); Field("r3", 16) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h) } }
            NoAction()
            Action("setR0", Param("v", 8)) { Assign(hdr.h.r0, param.v) }
            Action("setBoth", Param("a", 8), Param("b", 16)) {
                Assign(hdr.h.r1, param.a)
                Assign(hdr.h.r3, param.b)
            }
            Action("mark") { Assign(hdr.h.r2, 0x99) }
            Action("leave") { Assign(hdr.h.r2, 0x11); Exit(); Assign(hdr.h.r2, 0x22) }
            // An action calling another with an argument computed from its own parameter.
            Action("twice", Param("v", 8)) { Call("setR0", param.v + param.v) }
            Table("t") {
                Key(hdr.h.k, .exact)
                Actions("setR0", "setBoth", "mark", "leave", "NoAction")
                DefaultAction("NoAction")
            }
            Ingress(ingress)
            Deparser { Emit(hdr.h) }
        }
    }

    static func withEntries(_ p: SwitchProgram) throws -> Pipeline {
        let pl = try pipeline(p)
        try pl.insert("t", TableEntry([.exact(1)], ActionCall("setR0", [0x41])))
        try pl.insert("t", TableEntry([.exact(2)], ActionCall("setBoth", [0x42, 0x4344])))
        try pl.insert("t", TableEntry([.exact(3)], ActionCall("mark")))
        try pl.insert("t", TableEntry([.exact(4)], ActionCall("leave")))
        return pl
    }

    @Test func ifElse() throws {
        let pl = try pipeline(Self.program {
            If(hdr.h.k > 10) {
                Assign(hdr.h.r0, 1)
            } else: {
                If(hdr.h.k == 5) { Assign(hdr.h.r0, 2) } else: { Assign(hdr.h.r0, 3) }
            }
            If(hdr.h.k == 0) { Assign(hdr.h.r1, 7) }
        })
        #expect(try runOne(pl, [11, 0, 0, 0, 0, 0]).bytes == [11, 1, 0, 0, 0, 0])
        #expect(try runOne(pl, [5, 0, 0, 0, 0, 0]).bytes == [5, 2, 0, 0, 0, 0])
        #expect(try runOne(pl, [0, 0, 0, 0, 0, 0]).bytes == [0, 3, 7, 0, 0, 0])
    }

    @Test func applyWithHitAndMissBranches() throws {
        let pl = try Self.withEntries(Self.program {
            Apply("t", hit: { Assign(hdr.h.r2, hdr.h.r2 + 1) }, miss: { Assign(hdr.h.r2, 0xEE) })
        })
        #expect(try runOne(pl, [1, 0, 0, 0, 0, 0]).bytes == [1, 0x41, 0, 1, 0, 0])
        #expect(try runOne(pl, [2, 0, 0, 0, 0, 0]).bytes == [2, 0, 0x42, 1, 0x43, 0x44])
        #expect(try runOne(pl, [3, 0, 0, 0, 0, 0]).bytes == [3, 0, 0, 0x9A, 0, 0])
        #expect(try runOne(pl, [9, 0, 0, 0, 0, 0]).bytes == [9, 0, 0, 0xEE, 0, 0])
    }

    @Test func switchOnTheActionThatRan() throws {
        let pl = try Self.withEntries(Self.program {
            Switch(apply: "t") {
                On("setR0") { Assign(hdr.h.r3, 0x0001) }
                On("setBoth") { Assign(hdr.h.r0, 0x02) }
                On("NoAction") { Assign(hdr.h.r3, 0xFFFF) }
            }
        })
        #expect(try runOne(pl, [1, 0, 0, 0, 0, 0]).bytes == [1, 0x41, 0, 0, 0x00, 0x01])
        #expect(try runOne(pl, [2, 0, 0, 0, 0, 0]).bytes == [2, 0x02, 0x42, 0, 0x43, 0x44])
        // mark has no branch.
        #expect(try runOne(pl, [3, 0, 0, 0, 0, 0]).bytes == [3, 0, 0, 0x99, 0, 0])
        // A miss runs the default action, NoAction, whose branch runs.
        #expect(try runOne(pl, [8, 0, 0, 0, 0, 0]).bytes == [8, 0, 0, 0, 0xFF, 0xFF])
        // The switch follows the default action when the control plane changes it.
        try pl.setDefault("t", ActionCall("setBoth", [7, 8]))
        #expect(try runOne(pl, [8, 0, 0, 0, 0, 0]).bytes == [8, 0x02, 7, 0, 0, 8])
    }

    @Test func callRunsAnActionWithArguments() throws {
        let pl = try pipeline(Self.program {
            Call("setBoth", hdr.h.k + 1, 0xABCD)
            Call("twice", hdr.h.k)
            Call("mark")
        })
        #expect(try runOne(pl, [0x10, 0, 0, 0, 0, 0]).bytes == [0x10, 0x20, 0x11, 0x99, 0xAB, 0xCD])
        #expect(try runOne(pl, [0x90, 0, 0, 0, 0, 0]).bytes == [0x90, 0x20, 0x91, 0x99, 0xAB, 0xCD])
    }

    @Test func exitStopsTheControl() throws {
        let pl = try Self.withEntries(Self.program {
            Assign(hdr.h.r0, 1)
            If(hdr.h.k == 0) { Exit() }
            Assign(hdr.h.r1, 2)
            Apply("t", hit: { Assign(hdr.h.r3, 0x1111) })   // `leave` exits inside the action
            Assign(hdr.h.r3, 0x3333)
        })
        #expect(try runOne(pl, [0, 0, 0, 0, 0, 0]).bytes == [0, 1, 0, 0, 0, 0])
        #expect(try runOne(pl, [9, 0, 0, 0, 0, 0]).bytes == [9, 1, 2, 0, 0x33, 0x33])
        // The exit inside the action stops the action, the hit branch and the rest of the control.
        #expect(try runOne(pl, [4, 0, 0, 0, 0, 0]).bytes == [4, 1, 2, 0x11, 0, 0])
        // Exit in a called action.
        let pc = try pipeline(Self.program {
            Call("leave")
            Assign(hdr.h.r0, 5)
        })
        #expect(try runOne(pc, [0, 0, 0, 0, 0, 0]).bytes == [0, 0, 0, 0x11, 0, 0])
    }
}

@Suite struct DSLFeatureTableTests {
    /// A table of every match kind on its own, each setting `out` from its parameter.
    static func program(_ kind: MatchKind, size: Int = 16, directCounter: Bool = false,
                        @EntryBuilder entries: () -> [TableEntry] = { [] }, constEntries: Bool = false) -> SwitchProgram {
        let es = entries()
        let body: () -> [TableEntry] = { es }
        return SwitchProgram("tables-\(kind.rawValue)") {
            HeaderType("h_t") { Field("k", 16); Field("k2", 8); Field("out", 8); Field("mac", 48); Field("port", 16) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h) } }
            NoAction()
            Action("set", Param("v", 8)) { Assign(hdr.h.out, param.v) }
            Action("fwd", Param("mac", 48), Param("port", 9), Param("tag", 8)) {
                Assign(hdr.h.mac, param.mac)
                Forward(port: param.port)
                Assign(hdr.h.port, param.port.cast(16))
                Assign(hdr.h.out, param.tag)
            }
            Table("t") {
                Key(hdr.h.k, kind)
                Key(hdr.h.k2, .exact, name: "k2")
                Actions("set", "fwd", "NoAction")
                DefaultAction("set", 0xD0)
                Size(size)
                if directCounter { DirectCounter() }
                if !es.isEmpty { Entries(isConst: constEntries, body) }
            }
            Ingress { Apply("t") }
            Deparser { Emit(hdr.h) }
        }
    }

    func pkt(_ k: UInt16, _ k2: UInt8 = 0) -> [UInt8] { be(UInt128(k), 2) + [k2, 0] + [UInt8](repeating: 0, count: 8) }
    func out(_ pl: Pipeline, _ k: UInt16, _ k2: UInt8 = 0) throws -> UInt8 { try runOne(pl, pkt(k, k2)).bytes[3] }

    @Test func exactMatchAndActionParameters() throws {
        let pl = try pipeline(Self.program(.exact))
        try pl.insert("t", TableEntry([.exact(0x1234), .exact(1)], ActionCall("set", [0x11])))
        try pl.insert("t", TableEntry([.exact(0x1234), .exact(2)], ActionCall("fwd", [0x0A0B_0C0D_0E0F, 0x1FF, 0x22])))
        #expect(try out(pl, 0x1234, 1) == 0x11)
        let o = try runOne(pl, pkt(0x1234, 2))
        #expect(o.port == 0x1FF)
        #expect(o.bytes == [0x12, 0x34, 2, 0x22, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x01, 0xFF])
        #expect(try out(pl, 0x1234, 3) == 0xD0)  // default action with its argument
        #expect(try out(pl, 0x1235, 1) == 0xD0)
    }

    @Test func lpmLongestPrefixWins() throws {
        let pl = try pipeline(Self.program(.lpm))
        try pl.insert("t", TableEntry([.lpm(0x1200, prefixLength: 8), .exact(0)], ActionCall("set", [8])))
        try pl.insert("t", TableEntry([.lpm(0x1230, prefixLength: 12), .exact(0)], ActionCall("set", [12])))
        try pl.insert("t", TableEntry([.lpm(0, prefixLength: 0), .exact(0)], ActionCall("set", [0])))
        try pl.insert("t", TableEntry([.lpm(0x1234, prefixLength: 16), .exact(0)], ActionCall("set", [16])))
        #expect(try out(pl, 0x1234) == 16)
        #expect(try out(pl, 0x1235) == 12)
        #expect(try out(pl, 0x1240) == 8)
        #expect(try out(pl, 0x9999) == 0)
        #expect(try out(pl, 0x1234, 1) == 0xD0)
    }

    @Test func ternaryHigherPriorityWins() throws {
        for order in [false, true] {
            let pl = try pipeline(Self.program(.ternary))
            let low = TableEntry([.ternary(0x1200, mask: 0xFF00), .exact(0)], ActionCall("set", [1]), priority: 10)
            let high = TableEntry([.ternary(0x0034, mask: 0x00FF), .exact(0)], ActionCall("set", [2]), priority: 20)
            for e in order ? [high, low] : [low, high] { try pl.insert("t", e) }
            #expect(try out(pl, 0x1234) == 2)  // both match: priority 20 wins, whatever the order
            #expect(try out(pl, 0x1235) == 1)
            #expect(try out(pl, 0x9934) == 2)
            #expect(try out(pl, 0x9999) == 0xD0)
        }
    }

    @Test func rangeMatchWithPriorities() throws {
        let pl = try pipeline(Self.program(.range))
        try pl.insert("t", TableEntry([.range(100, 200), .exact(0)], ActionCall("set", [1]), priority: 1))
        try pl.insert("t", TableEntry([.range(150, 160), .exact(0)], ActionCall("set", [2]), priority: 5))
        try pl.insert("t", TableEntry([.range(0, 0xFFFF), .exact(7)], ActionCall("set", [3]), priority: 0))
        #expect(try out(pl, 100) == 1)
        #expect(try out(pl, 200) == 1)
        #expect(try out(pl, 150) == 2)
        #expect(try out(pl, 160) == 2)
        #expect(try out(pl, 161) == 1)
        #expect(try out(pl, 99) == 0xD0)
        #expect(try out(pl, 201) == 0xD0)
        #expect(try out(pl, 5000, 7) == 3)
    }

    @Test func optionalMatchValueOrWildcard() throws {
        let pl = try pipeline(Self.program(.optional))
        try pl.insert("t", TableEntry([.optional(nil), .exact(0)], ActionCall("set", [1]), priority: 1))
        try pl.insert("t", TableEntry([.optional(0x0042), .exact(0)], ActionCall("set", [2]), priority: 2))
        #expect(try out(pl, 0x0042) == 2)
        #expect(try out(pl, 0x0043) == 1)
        #expect(try out(pl, 0x0042, 1) == 0xD0)
    }

    @Test func setDefaultChangesTheMissAction() throws {
        let pl = try pipeline(Self.program(.exact))
        #expect(try out(pl, 1) == 0xD0)
        try pl.setDefault("t", ActionCall("set", [0x77]))
        #expect(try out(pl, 1) == 0x77)
        try pl.setDefault("t", ActionCall("NoAction"))
        #expect(try out(pl, 1) == 0)
        #expect(throws: ControlPlaneError("action 'set' takes 1 argument (v: 8 bits), got 0")) {
            try pl.setDefault("t", ActionCall("set"))
        }
    }

    @Test func constDefaultCannotChange() throws {
        let p = SwitchProgram("const-default") {
            HeaderType("h_t") { Field("k", 8) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h) } }
            NoAction()
            Action("set", Param("v", 8)) { Assign(hdr.h.k, param.v) }
            Table("t") {
                Key(hdr.h.k, .exact)
                Actions("set", "NoAction")
                DefaultAction("set", 5, isConst: true)
            }
            Ingress { Apply("t") }
            Deparser { Emit(hdr.h) }
        }
        let pl = try pipeline(p)
        #expect(try runOne(pl, [1]).bytes == [5])
        #expect(throws: ControlPlaneError("table 't' has a const default action (set); it cannot be changed")) {
            try pl.setDefault("t", ActionCall("NoAction"))
        }
        #expect(try runOne(pl, [1]).bytes == [5])
    }

    @Test func constEntriesAreInstalledAndCannotChange() throws {
        let p = Self.program(.ternary, entries: {
            Entry(.ternary(0x1200, mask: 0xFF00), .exact(0), action: "set", 1, priority: 1)
            Entry(.ternary(0x0034, mask: 0x00FF), .exact(0), action: "set", 2, priority: 2)
        }, constEntries: true)
        let pl = try pipeline(p)
        #expect(try out(pl, 0x1234) == 2)
        #expect(try out(pl, 0x1299) == 1)
        let msg = "table 't' has const entries; the control plane cannot change them"
        #expect(throws: ControlPlaneError(msg)) {
            try pl.insert("t", TableEntry([.ternary(0, mask: 0), .exact(0)], ActionCall("set", [3]), priority: 9))
        }
        let (h, _) = try #require(try pl.entries("t").first)
        #expect(throws: ControlPlaneError(msg)) { try pl.modify(h, ActionCall("set", [4])) }
        #expect(throws: ControlPlaneError(msg)) { try pl.delete(h) }
        #expect(throws: ControlPlaneError(msg)) { try pl.clear("t") }
        #expect(try out(pl, 0x1234) == 2)
        #expect(try pl.entries("t").count == 2)
    }

    @Test func programEntriesThatAreNotConstCanChange() throws {
        let pl = try pipeline(Self.program(.exact, entries: {
            Entry(.exact(1), .exact(0), action: "set", 0x31)
        }))
        #expect(try out(pl, 1) == 0x31)
        let h = try #require(try pl.find("t", [.exact(1), .exact(0)], priority: 0))
        try pl.modify(h, ActionCall("set", [0x32]))
        #expect(try out(pl, 1) == 0x32)
    }

    @Test func exactValuesForAnLpmKeyAreFullLengthPrefixes() throws {
        // The control plane takes an exact value where lpm is declared as a full-length prefix,
        // which beats a shorter prefix.
        let pl = try pipeline(Self.program(.lpm))
        try pl.insert("t", TableEntry([.exact(0x1234), .exact(0)], ActionCall("set", [16])))
        try pl.insert("t", TableEntry([.lpm(0x1200, prefixLength: 8), .exact(0)], ActionCall("set", [8])))
        #expect(try out(pl, 0x1234) == 16)
        #expect(try out(pl, 0x1235) == 8)
        // Program entries must give the declared kind; the verifier says how.
        let p = Self.program(.lpm, entries: { Entry(.exact(0x1234), .exact(0), action: "set", 16) })
        #expect(Verifier.diagnose(p.ir).map(\.description) == [
            "program 'tables-lpm', table 't': entry 1 key 'hdr.h.k' is matched lpm, but the entry gives an exact match (fix: use .lpm(value, prefixLength: n)) [constant-range]",
        ])
    }

    @Test func sizeLimitsEntries() throws {
        let pl = try pipeline(Self.program(.exact, size: 2))
        let h1 = try pl.insert("t", TableEntry([.exact(1), .exact(0)], ActionCall("set", [1])))
        try pl.insert("t", TableEntry([.exact(2), .exact(0)], ActionCall("set", [2])))
        #expect(throws: ControlPlaneError("table 't' is full (size 2); raise its Size or delete entries", full: true)) {
            try pl.insert("t", TableEntry([.exact(3), .exact(0)], ActionCall("set", [3])))
        }
        // Deleting makes room again.
        try pl.delete(h1)
        try pl.insert("t", TableEntry([.exact(3), .exact(0)], ActionCall("set", [3])))
        #expect(try out(pl, 3) == 3)
        #expect(try out(pl, 1) == 0xD0)
        #expect(try out(pl, 2) == 2)
    }

    @Test func directCounterCountsHitsPerEntry() throws {
        let pl = try pipeline(Self.program(.exact, directCounter: true))
        let h1 = try pl.insert("t", TableEntry([.exact(1), .exact(0)], ActionCall("set", [1])))
        let h2 = try pl.insert("t", TableEntry([.exact(2), .exact(0)], ActionCall("set", [2])))
        _ = try out(pl, 1); _ = try out(pl, 1); _ = try out(pl, 2); _ = try out(pl, 3)
        _ = pl.process(pkt(1) + [1, 2, 3], port: 0)
        #expect(try pl.directCounter(h1) == (packets: 3, bytes: 12 + 12 + 15))
        #expect(try pl.directCounter(h2) == (packets: 1, bytes: 12))
        // Tables without DirectCounter say so.
        let plain = try pipeline(Self.program(.exact))
        let h = try plain.insert("t", TableEntry([.exact(1), .exact(0)], ActionCall("set", [1])))
        #expect(throws: ControlPlaneError("table 't' has no direct counter; add DirectCounter() to it")) {
            try plain.directCounter(h)
        }
    }

    /// A controller sets an entry's counts (P4Runtime's DirectCounterEntry MODIFY); packets count on from there.
    @Test func directCounterIsWrittenAndCountsOn() throws {
        let pl = try pipeline(Self.program(.exact, directCounter: true))
        let h = try pl.insert("t", TableEntry([.exact(1), .exact(0)], ActionCall("set", [1])))
        _ = try out(pl, 1)
        try pl.writeDirectCounter(h, packets: 100, bytes: 5000)
        #expect(try pl.directCounter(h) == (packets: 100, bytes: 5000))
        _ = try out(pl, 1)
        #expect(try pl.directCounter(h) == (packets: 101, bytes: 5012))
        #expect(try pl.entry(h) == TableEntry([.exact(1), .exact(0)], ActionCall("set", [1])))
        try pl.delete(h)
        #expect(throws: ControlPlaneError("table 't' has no entry with handle \(h.id)")) { try pl.writeDirectCounter(h, packets: 1, bytes: 1) }
        #expect(throws: ControlPlaneError("table 't' has no entry with handle \(h.id)")) { try pl.entry(h) }
        let plain = try pipeline(Self.program(.exact))
        let hp = try plain.insert("t", TableEntry([.exact(1), .exact(0)], ActionCall("set", [1])))
        #expect(throws: ControlPlaneError("table 't' has no direct counter; add DirectCounter() to it")) {
            try plain.writeDirectCounter(hp, packets: 1, bytes: 1)
        }
    }
}

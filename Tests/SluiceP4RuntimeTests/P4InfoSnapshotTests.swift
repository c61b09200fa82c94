import Foundation
import Testing
import SluiceIR
import SluicePrograms
import SluiceTesting
@testable import SluiceP4Runtime

/// The P4Info of programs as `sluice compile --emit p4info` writes it, pinned whole: ids, names,
/// widths, match kinds, action references, externs and digests' types.
@Suite struct P4InfoSnapshotTests {
    static let snapshot = Snapshot(kind: "P4Info", verb: "built",
                                   recordCommand: "SLUICE_RECORD_SNAPSHOTS=1 swift test --filter P4InfoSnapshotTests",
                                   ext: "p4info.txt")

    /// ipv4-router (LPM), l2-switch (digests), acl-firewall (ternary, range, a direct counter),
    /// switchml (registers, counters), and a program with every kind of extern and match.
    static let programs: [(String, Program)] = [
        ("ipv4-router", IPv4Router.program().ir),
        ("l2-switch", L2Switch.program().ir),
        ("acl-firewall", ACLFirewall.program().ir),
        ("switchml", SwitchML.program().ir),
        ("every-resource", everyResource),
    ]

    /// One of each resource P4Info describes: the five match kinds, a const default action with
    /// an argument, const initial entries, a direct counter, counters of each unit, meters of
    /// each unit, registers and a digest with a signed field.
    static let everyResource = Program(
        name: "every-resource",
        headerTypes: [HeaderType("h_t", fields: [FieldDecl("a", 16), FieldDecl("b", 32), FieldDecl("c", 8)])],
        headers: [HeaderInstance("h", type: "h_t")],
        metadata: [FieldDecl("m", 12)],
        actions: [Action("NoAction", body: []),
                  Action("set_port", params: [FieldDecl("port", 9), FieldDecl("tag", 12)], body: [])],
        tables: [
            Table("kinds", keys: [
                TableKey(.field(.header("h", field: "a")), .exact, name: "hdr.h.a"),
                TableKey(.field(.header("h", field: "b")), .lpm, name: "hdr.h.b"),
                TableKey(.field(.header("h", field: "c")), .ternary, name: "hdr.h.c"),
                TableKey(.field(.meta("m")), .range, name: "meta.m"),
                TableKey(.field(.standard(.ingressPort)), .optional, name: "standard.ingressPort"),
            ], actions: ["set_port", "NoAction"], defaultAction: ActionCall("set_port", [0x1ff, 0]),
                  defaultIsConst: true, size: 64, directCounter: true),
            Table("fixed", keys: [TableKey(.field(.header("h", field: "a")), .exact, name: "hdr.h.a")],
                  actions: ["NoAction", "set_port"], defaultAction: ActionCall("NoAction"),
                  entries: [TableEntry([.exact(1)], ActionCall("set_port", [2, 3]))], entriesAreConst: true, size: 4),
        ],
        registers: [Register("flows", width: 48, size: 1024), Register("flag", width: 1, size: 1)],
        counters: [Counter("rx", size: 512, kind: .packets), Counter("rx_bytes", size: 512, kind: .bytes),
                   Counter("both", size: 8)],
        meters: [Meter("police", size: 16, unit: .bytes), Meter("pps", size: 2, unit: .packets)],
        digests: [Digest("seen", fields: [FieldDecl("addr", 48), FieldDecl("delta", 16, signed: true)])]
    )

    @Test(arguments: programs.map(\.0))
    func p4InfoMatchesItsSnapshot(_ name: String) throws {
        let program = try #require(Self.programs.first { $0.0 == name }?.1)
        let text = try P4InfoFormat.text(program)
        let url = Self.snapshot.url(name)
        if let problem = try Self.snapshot.check(text, name: name, snapshot: url, record: Snapshot.recording) {
            Issue.record(Comment(rawValue: problem))
        }
    }

    @Test func everySnapshotBelongsToAProgram() {
        let dir = Self.snapshot.url("x").deletingLastPathComponent()
        #expect(Self.snapshot.stale(in: dir, names: Set(Self.programs.map(\.0))) == [])
    }

    /// A key whose width the IR does not give is refused by name, not written as width 0.
    @Test func aKeyWithoutAWidthIsNamed() {
        var p = Self.everyResource
        p.tables[1].keys[0] = TableKey(.field(.header("nope", field: "x")), .exact, name: "hdr.nope.x")
        #expect(throws: P4InfoError("table 'fixed': key 'hdr.nope.x' has no width")) { try P4InfoBuilder.p4Info(p) }
    }

    /// So is an action a table lists but the program does not declare.
    @Test func anUndeclaredActionIsNamed() {
        var p = Self.everyResource
        p.tables[1].defaultAction = ActionCall("missing")
        #expect(throws: P4InfoError("table 'fixed': action 'missing' is not declared")) { try P4InfoBuilder.p4Info(p) }
    }
}

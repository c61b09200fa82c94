import SluiceIR

/// Programs and entries that test suites of several targets share.
public enum Fixtures {
    /// `ecmp-router`'s groups as the tests use them: the switch MAC, routes 10.0.2.0/24 to
    /// group 1 (4 members, out of ports 10 + i), 10.0.3.0/24 to group 2 (3 members, ports
    /// 20 + i) and 10.0.4.0/24 to group 3 (no members: dropped). Suites add their own
    /// `forward` routes.
    public static let ecmpGroups = """
        table_set_default switch_mac set_switch_mac 02:00:00:00:0a:01
        table_add ipv4_lpm ecmp 10.0.2.0/24 => 1 4
        table_add ipv4_lpm ecmp 10.0.3.0/24 => 2 3
        table_add ipv4_lpm ecmp 10.0.4.0/24 => 3 0
        table_add ecmp_nhop forward 1 0 => 10 08:00:00:00:0a:00
        table_add ecmp_nhop forward 1 1 => 11 08:00:00:00:0a:01
        table_add ecmp_nhop forward 1 2 => 12 08:00:00:00:0a:02
        table_add ecmp_nhop forward 1 3 => 13 08:00:00:00:0a:03
        table_add ecmp_nhop forward 2 0 => 20 08:00:00:00:0b:00
        table_add ecmp_nhop forward 2 1 => 21 08:00:00:00:0b:01
        table_add ecmp_nhop forward 2 2 => 22 08:00:00:00:0b:02

        """

    /// A stack-heavy parser loop with pushes and pops in an action, a single key-less table and
    /// no egress: the start state loops (a metadata count per pass, `.last`'s `last` bit ends
    /// it), the table's default action pops one element, pushes two and sets element 1, and
    /// ingress invalidates `.last` past 3 passes. The IR fuzzer mutates it; the XDP conformance
    /// tests compare it with the runtime.
    public static func stackTags(name: String) -> Program {
        Program(
            name: name,
            headerTypes: [HeaderType("tag_t", fields: [.init("value", 15), .init("last", 1)]),
                          HeaderType("pad_t", fields: [.init("x", 8)])],
            headers: [HeaderInstance("tags", type: "tag_t", stackSize: 4), HeaderInstance("pad", type: "pad_t")],
            metadata: [.init("n", 8)],
            parser: SluiceIR.Parser(states: [
                ParserState("start", statements: [.extract("tags", index: .next),
                                                  .assign(.meta("n"), .binary(.add, .field(.meta("n")), .int(1)))],
                            transition: .select([.field(.header("tags", field: "last", index: .last))],
                                                [SelectCase([.value(0)], next: "start"), SelectCase([.value(1)], next: "pad")])),
                ParserState("pad", statements: [.extract("pad")], transition: .accept),
            ]),
            actions: [
                Action("shift", params: [.init("n", 8)], body: [
                    .popFront("tags", count: 1),
                    .pushFront("tags", count: 2),
                    .setValid("tags", index: .at(1)),
                    .assign(.header("tags", field: "value", index: .at(1)), .cast(.param("n"), width: 15)),
                    .assign(.standard(.egressSpec), .bits(1, 9)),
                ]),
                Action("nop", body: []),
            ],
            tables: [Table("t", keys: [], actions: ["shift", "nop"], defaultAction: ActionCall("shift", [9]), size: 1)],
            ingress: [
                .apply("t"),
                .ifElse(.binary(.gt, .field(.meta("n")), .int(3)), then: [.setInvalid("tags", index: .last)], else: []),
            ],
            deparser: Deparser(emit: ["tags", "pad"]),
            onParserReject: .drop
        )
    }
}

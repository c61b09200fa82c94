@testable import SluiceIR
import Testing

// MARK: - A valid program that uses every rule's constructs

/// Ethernet, MPLS (a stack) and IPv4, an lpm route table, a flow register updated in place, a
/// counter, a meter, a learning digest and an IPv4 checksum update.
fileprivate func router() -> Program {
    let ipv4 = FieldRef.header("ipv4", field: "dstAddr")
    return Program(
        name: "router",
        headerTypes: [
            HeaderType("ethernet_t", fields: [.init("dstAddr", 48), .init("srcAddr", 48), .init("etherType", 16)]),
            HeaderType("mpls_t", fields: [.init("label", 20), .init("tc", 3), .init("bos", 1), .init("ttl", 8)]),
            HeaderType("ipv4_t", fields: [
                .init("version", 4), .init("ihl", 4), .init("diffserv", 8), .init("totalLen", 16),
                .init("identification", 16), .init("flags", 3), .init("fragOffset", 13), .init("ttl", 8),
                .init("protocol", 8), .init("hdrChecksum", 16), .init("srcAddr", 32), .init("dstAddr", 32),
            ]),
        ],
        headers: [
            HeaderInstance("ethernet", type: "ethernet_t"),
            HeaderInstance("mpls", type: "mpls_t", stackSize: 3),
            HeaderInstance("ipv4", type: "ipv4_t"),
        ],
        metadata: [.init("flowHash", 16), .init("bytes", 32), .init("color", 2), .init("nhop", 32)],
        parser: Parser(states: [
            ParserState("start", statements: [.extract("ethernet")], transition: .select(
                [.field(.header("ethernet", field: "etherType"))],
                [SelectCase([.value(0x0800)], next: "parse_ipv4"),
                 SelectCase([.value(0x8847)], next: "parse_mpls"),
                 SelectCase([.any], next: "accept")])),
            ParserState("parse_mpls", statements: [.extract("mpls", index: .next)], transition: .select(
                [.field(.header("mpls", field: "bos", index: .last))],
                [SelectCase([.value(1)], next: "parse_ipv4"), SelectCase([.value(0)], next: "parse_mpls")])),
            ParserState("parse_ipv4", statements: [
                .extract("ipv4"),
                .verify(.binary(.eq, .field(.header("ipv4", field: "version")), .int(4)), error: "BadVersion"),
            ], transition: .accept),
        ]),
        actions: [
            Action("NoAction", body: []),
            Action("drop_packet", body: [.drop]),
            Action("ipv4_forward", params: [.init("dstAddr", 48), .init("port", 9)], body: [
                .assign(.header("ethernet", field: "srcAddr"), .field(.header("ethernet", field: "dstAddr"))),
                .assign(.header("ethernet", field: "dstAddr"), .param("dstAddr")),
                .assign(.standard(.egressSpec), .param("port")),
                .assign(.header("ipv4", field: "ttl"), .binary(.sub, .field(.header("ipv4", field: "ttl")), .int(1))),
            ]),
            Action("set_nhop", params: [.init("nhop", 32)], body: [
                .assign(.meta("nhop"), .param("nhop")),
                .call("drop_packet", args: []),
            ]),
        ],
        tables: [
            Table("ipv4_lpm", keys: [TableKey(.field(ipv4), .lpm, name: "hdr.ipv4.dstAddr")],
                  actions: ["ipv4_forward", "drop_packet", "NoAction"], defaultAction: ActionCall("drop_packet"),
                  entries: [TableEntry([.lpm(0x0A00_0000, prefixLength: 8)], ActionCall("ipv4_forward", [0x0000_0000_0001, 1]))],
                  size: 1024),
            Table("acl", keys: [
                TableKey(.field(.header("ipv4", field: "srcAddr")), .ternary, name: "src"),
                TableKey(.field(.header("ipv4", field: "protocol")), .range, name: "proto"),
                TableKey(.isValid("mpls", index: .at(0)), .optional, name: "mpls"),
            ], actions: ["NoAction", "drop_packet"], defaultAction: ActionCall("NoAction"),
                  entries: [TableEntry([.ternary(0x0A00_0001, mask: 0xFFFF_FFFF), .range(6, 17), .optional(nil)], ActionCall("drop_packet"), priority: 1)],
                  size: 16),
        ],
        registers: [Register("flow_bytes", width: 32, size: 65536)],
        counters: [Counter("port_packets", size: 512)],
        meters: [Meter("port_meter", size: 512)],
        digests: [Digest("learn", fields: [.init("srcAddr", 48), .init("port", 9)])],
        ingress: [
            .verifyChecksum(.header("ipv4", field: "hdrChecksum"), over: ["ipv4"]),
            .count("port_packets", index: .field(.standard(.ingressPort))),
            .meter("port_meter", index: .field(.standard(.ingressPort)), result: .meta("color")),
            .ifElse(.binary(.eq, .field(.meta("color")), .int(2)), then: [.drop, .exit], else: []),
            .ifElse(.isValid("mpls", index: .at(0)), then: [.popFront("mpls", count: 1)], else: []),
            .ifElse(.isValid("ipv4"), then: [
                .assign(.meta("flowHash"), .hash(.crc16, [
                    .field(.header("ipv4", field: "srcAddr")), .field(.header("ipv4", field: "dstAddr")),
                    .field(.header("ipv4", field: "protocol")), .bits(0, 8),
                ], width: 16)),
                .registerAction("flow_bytes", index: .field(.meta("flowHash")),
                                update: .binary(.add, .registerOld, .field(.standard(.packetLength))),
                                result: .meta("bytes"), returnsNew: true),
                .apply("acl"),
                .apply("ipv4_lpm", outcome: ApplyOutcome(
                    miss: [.digest("learn", values: [.field(.header("ethernet", field: "srcAddr")), .field(.standard(.ingressPort))])],
                    actions: [ActionBranch("ipv4_forward", [
                        .ifElse(.binary(.logicalAnd,
                                        .binary(.eq, .field(.header("ipv4", field: "ttl")), .int(0)),
                                        .binary(.lt, .slice(.field(.meta("bytes")), hi: 15, lo: 0), .int(0xFFFF))),
                                then: [.call("drop_packet", args: [])], else: []),
                    ])])),
            ], else: [
                .call("ipv4_forward", args: [.bits(0xFFFF_FFFF_FFFF, 48), .int(511)]),
            ]),
        ],
        egress: [
            .assign(.header("ipv4", field: "diffserv"), .concat(.slice(.field(.meta("flowHash")), hi: 5, lo: 0), .bits(0, 2))),
            .ifElse(.binary(.ne, .field(.standard(.egressPort)), .int(0x1FF)), then: [], else: [.drop]),
        ],
        deparser: Deparser(statements: [.updateChecksum(.header("ipv4", field: "hdrChecksum"), over: ["ipv4"])],
                           emit: ["ethernet", "mpls", "ipv4"]),
        errors: ["BadVersion"],
        doc: "A small IPv4 router for the verifier tests."
    )
}

/// Every rendered diagnostic for the router after `change`.
fileprivate func problems(_ change: (inout Program) -> Void) -> [String] {
    var p = router()
    change(&p)
    return Verifier.diagnose(p).map(\.description)
}

fileprivate func action(_ p: inout Program, _ name: String, _ change: (inout Action) -> Void) {
    let i = p.actions.firstIndex { $0.name == name }!
    change(&p.actions[i])
}

fileprivate func table(_ p: inout Program, _ name: String, _ change: (inout Table) -> Void) {
    let i = p.tables.firstIndex { $0.name == name }!
    change(&p.tables[i])
}

@Suite struct VerifierTests {
    @Test func validProgramHasNoDiagnostics() throws {
        #expect(Verifier.diagnose(router()) == [])
        try Verifier.verify(router())
    }

    @Test func everyRuleIsRegisteredOnceInOrder() {
        #expect(Verifier.rules.map(\.name) == [
            "unique-names", "header-layout", "undefined-reference", "width-mismatch", "constant-range",
            "parser-states", "table-actions", "statement-context", "read-only-standard", "stack-index", "deparser",
        ])
    }

    @Test func verificationErrorListsEveryProblem() {
        var p = router()
        p.deparser.emit.append("ipv4")
        #expect(throws: VerificationError.self) { try Verifier.verify(p) }
        do { try Verifier.verify(p) } catch {
            #expect(error.description == "1 problem in program 'router':\n  - " + Verifier.diagnose(p)[0].description)
        }
    }
}

// MARK: - One suite per rule

/// The messages (without program, element, fix and rule) for the router after `change`.
fileprivate func messages(_ change: (inout Program) -> Void) -> [String] {
    var p = router()
    change(&p)
    return Verifier.diagnose(p).map { "\($0.element): \($0.message)" }
}

fileprivate let ttl = FieldRef.header("ipv4", field: "ttl")

@Suite struct VerifierUniqueNamesTests {
    @Test func duplicateAction() {
        #expect(problems { $0.actions.append(Action("drop_packet", body: [])) } == [
            "program 'router', action 'drop_packet': is declared 2 times (fix: rename or remove the extra declarations of 'drop_packet') [unique-names]",
        ])
    }

    @Test func duplicatesInEveryNamespace() {
        let found = messages {
            $0.headerTypes.append($0.headerTypes[0])
            $0.headerTypes[0].fields.append(.init("srcAddr", 8))
            $0.headers.append(HeaderInstance("ipv4", type: "ipv4_t"))
            $0.metadata.append(.init("color", 2))
            $0.parser.states.append(ParserState("parse_ipv4", statements: [], transition: .accept))
            action(&$0, "set_nhop") { $0.params.append(.init("nhop", 32)) }
            $0.tables.append(Table("acl", keys: [], actions: ["NoAction"], defaultAction: ActionCall("NoAction")))
            $0.registers.append(Register("flow_bytes", width: 32, size: 1))
            $0.counters.append(Counter("port_packets", size: 1))
            $0.meters.append(Meter("port_meter", size: 1))
            $0.digests.append(Digest("learn", fields: [.init("a", 8), .init("a", 8)]))
            $0.errors += ["BadVersion", "NoMatch"]
        }
        #expect(found == [
            "header type 'ethernet_t': is declared 2 times",
            "header type 'ethernet_t': field 'srcAddr' is declared 2 times",
            "header 'ipv4': is declared 2 times",
            "metadata: field 'color' is declared 2 times",
            "parser state 'parse_ipv4': is declared 2 times",
            "action 'set_nhop': parameter 'nhop' is declared 2 times",
            "table 'acl': is declared 2 times",
            "register 'flow_bytes': is declared 2 times",
            "counter 'port_packets': is declared 2 times",
            "meter 'port_meter': is declared 2 times",
            "digest 'learn': is declared 2 times",
            "digest 'learn': field 'a' is declared 2 times",
            "errors: error 'BadVersion' is declared 2 times",
            "errors: error 'NoMatch' is already a standard error",
        ])
    }
}

@Suite struct VerifierHeaderLayoutTests {
    @Test func headerNotWholeBytes() {
        #expect(problems { $0.headerTypes[2].fields[7].width = 7 } == [
            "program 'router', header type 'ipv4_t': is 159 bits long, not a whole number of bytes (fix: make the widths add up to a multiple of 8, e.g. add a 1-bit padding field) [header-layout]",
        ])
    }

    @Test func fieldWidthsTypesStacksAndMetadata() {
        let found = messages {
            $0.headerTypes[0].fields[2].width = 0
            $0.headerTypes.append(HeaderType("empty_t", fields: []))
            $0.headers.append(HeaderInstance("vlan", type: "vlan_t"))
            $0.headers[1].stackSize = 65
            $0.metadata.append(.init("wide", 129))
        }
        #expect(found == [
            "header type 'ethernet_t': field 'etherType' has 0 bits; header fields have 1 to 128 bits",
            "header type 'empty_t': has no fields",
            "header 'mpls': has stack size 65; stacks have 1 to 64 elements (0 for a plain header)",
            "header 'vlan': has type 'vlan_t', which is not declared",
            "metadata: field 'wide' has 129 bits; metadata fields have 1 to 128 bits",
        ])
    }

    @Test func undeclaredHeaderTypeSuggestsTheClosest() {
        let d = Verifier.diagnose({ var p = router(); p.headers[2].type = "ipv4_tt"; return p }())
        #expect(d.map(\.fix) == ["did you mean 'ipv4_t'? (use one of: ethernet_t, mpls_t, ipv4_t)"])
    }
}

@Suite struct VerifierUndefinedReferenceTests {
    @Test func misspelledField() {
        #expect(problems { action(&$0, "ipv4_forward") { $0.body.append(.assign(.header("ipv4", field: "tll"), .int(3))) } } == [
            "program 'router', action 'ipv4_forward': assigns hdr.ipv4.tll, but header type 'ipv4_t' has no field 'tll' (fix: did you mean 'ttl'? (use one of: version, ihl, diffserv, totalLen, identification, flags, fragOffset, ttl, protocol, hdrChecksum, srcAddr, dstAddr)) [undefined-reference]",
        ])
    }

    @Test func everyKindOfName() {
        let found = messages {
            action(&$0, "ipv4_forward") { $0.body.append(.assign(.meta("colour"), .param("prot"))) }
            $0.tables[1].keys.append(TableKey(.param("port"), .exact, name: "port"))
            $0.tables[1].entries = []
            $0.ingress += [
                .assign(.header("ipv6", field: "hopLimit"), .bits(0, 8)),
                .ifElse(.isValid("vlan"), then: [.setValid("vlan")], else: []),
                .apply("ipv4_lmp"), .call("forward", args: []),
                .count("bogus", index: .int(0)), .meter("m", index: .int(0), result: .meta("color")),
                .registerWrite("r", index: .int(0), value: .bits(0, 8)),
                .digest("d", values: []),
                .updateChecksum(.header("ipv4", field: "hdrChecksum"), over: ["ipv4", "udp"]),
            ]
            $0.parser.states[2].statements.append(.extract("tcp"))
            $0.deparser.emit.append("vlan")
        }
        #expect(found == [
            "action 'ipv4_forward': assigns meta.colour, but metadata has no field 'colour'",
            "control ingress: assigns hdr.ipv6.hopLimit, but there is no header 'ipv6'",
            "action 'ipv4_forward': reads parameter 'prot', but action 'ipv4_forward' has no parameter 'prot'",
            "table 'acl': reads parameter 'port' outside an action",
            "control ingress: tests the validity of header 'vlan', which is not declared",
            "parser state 'parse_ipv4': extracts header 'tcp', which is not declared",
            "control ingress: sets valid header 'vlan', which is not declared",
            "control ingress: applies table 'ipv4_lmp', which is not declared",
            "control ingress: calls action 'forward', which is not declared",
            "control ingress: counts with counter 'bogus', which is not declared",
            "control ingress: uses meter 'm', which is not declared",
            "control ingress: uses register 'r', which is not declared",
            "control ingress: sends digest 'd', which is not declared",
            "control ingress: computes a checksum over header 'udp', which is not declared",
            "deparser: emits header 'vlan', which is not declared",
        ])
    }
}

@Suite struct VerifierWidthMismatchTests {
    @Test func assignmentOfAWiderValue() {
        #expect(problems { action(&$0, "ipv4_forward") { $0.body.append(.assign(ttl, .field(.header("ipv4", field: "totalLen")))) } } == [
            "program 'router', action 'ipv4_forward': assigns a 16-bit value to hdr.ipv4.ttl, which has 8 bits (fix: cast the value: (bit<8>)hdr.ipv4.totalLen) [width-mismatch]",
        ])
    }

    @Test func expressionsStatementsAndDeclarations() {
        let src = Expr.field(.header("ipv4", field: "srcAddr"))
        let mac = Expr.field(.header("ethernet", field: "dstAddr"))
        let found = messages {
            $0.registers.append(Register("wide", width: 65, size: 1))
            $0.tables[0].keys.append(TableKey(.int(3), .exact, name: "three"))
            $0.tables[0].entries = []
            $0.ingress += [
                .assign(.meta("nhop"), .binary(.add, src, .field(ttl))),
                .ifElse(.field(ttl), then: [], else: []),
                .assign(.meta("nhop"), .cast(.slice(.field(ttl), hi: 8, lo: 0), width: 32)),
                .assign(.meta("nhop"), .cast(.field(ttl), width: 0)),
                .assign(.meta("nhop"), .cast(.binary(.add, .concat(mac, mac), .int(1)), width: 32)),
                .assign(.meta("nhop"), .cast(.concat(.concat(mac, mac), mac), width: 32)),
                .ifElse(.binary(.lt, .concat(mac, mac), .concat(mac, mac)), then: [], else: []),
                .ifElse(.binary(.eq, .concat(mac, mac), .concat(mac, mac)), then: [], else: []),
                .ifElse(.binary(.logicalAnd, .isValid("ipv4"), .field(ttl)), then: [], else: []),
                .ifElse(.binary(.eq, .int(1), .int(1)), then: [], else: []),
                .assign(.meta("nhop"), .mux(.field(.meta("color")), .int(1), .int(2))),
                .incrementalChecksum(.header("ipv4", field: "hdrChecksum"), old: .field(ttl), new: .int(3)),
                .incrementalChecksum(.meta("nhop"), old: src, new: .int(3)),
                .registerAction("flow_bytes", index: .int(0), update: .field(.meta("flowHash")), result: .meta("color")),
                .meter("port_meter", index: .int(0), result: .standard(.drop)),
                .digest("learn", values: [.int(1)]),
                .call("ipv4_forward", args: [.bits(1, 32), .int(1)]),
                .assign(.meta("flowHash"), .hash(.crc16, [.int(1)], width: 65)),
            ]
            $0.parser.states[2].statements.append(.advance(12))
        }
        #expect(found == [
            "register 'wide': holds 65 bits per cell; registers hold 1 to 64 bits",
            "parser state 'parse_ipv4': advances by 12 bits; the parser advances by a positive multiple of 8 bits",
            "table 'ipv4_lpm': key 'three' (3) has no width",
            "control ingress: '+' has operands of different widths in the value assigned to meta.nhop: hdr.ipv4.srcAddr has 32 bits, hdr.ipv4.ttl has 8 bits",
            "control ingress: the if condition hdr.ipv4.ttl is 8 bits wide; a condition must be 1 bit",
            "control ingress: slice [8:0] of hdr.ipv4.ttl in the value assigned to meta.nhop is out of bounds: the value has 8 bits",
            "control ingress: cast to 0 bits in the value assigned to meta.nhop; casts are to 1 to 128 bits",
            "control ingress: '+' applied to 96-bit values in the value assigned to meta.nhop; values wider than 64 bits may only be copied, compared with == or !=, sliced, concatenated and matched in tables",
            "control ingress: concatenation (hdr.ethernet.dstAddr ++ hdr.ethernet.dstAddr) ++ hdr.ethernet.dstAddr in the value assigned to meta.nhop is 144 bits; at most 128 are allowed",
            "control ingress: '<' compares 96-bit values in the if condition; values wider than 64 bits may only be copied, compared with == or !=, sliced, concatenated and matched in tables",
            "control ingress: '&&' needs 1-bit operands, but hdr.ipv4.ttl in the if condition has 8 bits",
            "control ingress: '==' compares constants without a width in the if condition",
            "control ingress: the condition of meta.color ? 1 : 2 is 2 bits wide; a condition must be 1 bit",
            "control ingress: the old value hdr.ipv4.ttl of an incremental checksum is 8 bits; it must be a multiple of 16",
            "control ingress: the new value 3 of an incremental checksum is 8 bits; it must be a multiple of 16",
            "control ingress: the checksum field meta.nhop has 32 bits; checksums are 16 bits",
            "control ingress: the update of register 'flow_bytes' is 16 bits, but the register holds 32 bits",
            "control ingress: returns register 'flow_bytes' (32 bits) into meta.color, which has 2 bits",
            "control ingress: meter 'port_meter' writes a color (0 green, 1 yellow, 2 red) into standard.drop, which has 1 bit",
            "control ingress: sends digest 'learn' with 1 value, but it has 2 fields (srcAddr, port)",
            "control ingress: passes a 32-bit value as argument 1 ('dstAddr') of action 'ipv4_forward', which takes 48 bits",
            "control ingress: hash crc16 in the value assigned to meta.flowHash produces 65 bits; hashes produce 1 to 64 bits",
            "control ingress: hash input 1 in the value assigned to meta.flowHash has no width",
        ])
    }

    @Test func wideValuesMayBeCopiedComparedForEqualityAndMatched() {
        let found = problems {
            $0.metadata.append(.init("addr6", 128))
            $0.ingress += [
                .assign(.meta("addr6"), .concat(.concat(.field(.header("ethernet", field: "dstAddr")), .field(.header("ethernet", field: "srcAddr"))), .bits(0, 32))),
                .ifElse(.binary(.ne, .field(.meta("addr6")), .int(0)), then: [.assign(.meta("nhop"), .slice(.field(.meta("addr6")), hi: 127, lo: 96))], else: []),
                .assign(.meta("flowHash"), .hash(.crc16, [.field(.meta("addr6"))], width: 16)),
            ]
            $0.tables[1].keys.append(TableKey(.field(.meta("addr6")), .ternary, name: "addr6"))
            $0.tables[1].entries = []
        }
        #expect(found == [])
    }
}

@Suite struct VerifierConstantRangeTests {
    @Test func constantTooBigForItsTarget() {
        #expect(problems { action(&$0, "ipv4_forward") { $0.body.append(.assign(ttl, .int(300))) } } == [
            "program 'router', action 'ipv4_forward': constant 0x12c in the value assigned to hdr.ipv4.ttl does not fit in 8 bits (at most 0xff) (fix: use a value from 0 to 0xff, or widen the field it goes into) [constant-range]",
        ])
    }

    @Test func selectCasesEntriesDefaultsAndExterns() {
        let found = messages {
            $0.parser.states[0].transition = .select([.field(.header("ethernet", field: "etherType"))], [
                SelectCase([.value(0x10800)], next: "parse_ipv4"), SelectCase([.value(1), .any], next: "parse_mpls"),
                SelectCase([.range(9, 3)], next: "accept"), SelectCase([.mask(1, 0x1FFFF)], next: "accept"),
            ])
            table(&$0, "ipv4_lpm") {
                $0.defaultAction = ActionCall("drop_packet", [3])
                $0.entries += [
                    TableEntry([.lpm(1, prefixLength: 33)], ActionCall("ipv4_forward", [1])),
                    TableEntry([.exact(1)], ActionCall("ipv4_forward", [1, 512])),
                    TableEntry([], ActionCall("drop_packet")),
                ]
            }
            table(&$0, "acl") {
                $0.entries.append(TableEntry([.ternary(0x1_0000_0000, mask: 0), .range(9, 3), .optional(2)], ActionCall("NoAction")))
            }
            $0.ingress += [
                .assign(.meta("nhop"), .random(lo: 5, hi: 4, width: 32)),
                .assign(.meta("flowHash"), .hash(.crc32, [.field(.meta("nhop"))], width: 16, base: 60000, modulo: 10000)),
                .count("port_packets", index: .int(512)),
                .assign(.meta("flowHash"), .cast(.bits(256, 8), width: 16)),
                .call("ipv4_forward", args: [.int(1), .int(512)]),
            ]
        }
        #expect(found == [
            "control ingress: random(5, 4) in the value assigned to meta.nhop has lo > hi",
            "control ingress: hash base 60000 + modulo 10000 in the value assigned to meta.flowHash exceeds 16 bits (results reach 69999)",
            "control ingress: index 512 is out of range for counter 'port_packets' of size 512",
            "control ingress: constant 0x100 in the value assigned to meta.flowHash does not fit in 8 bits (at most 0xff)",
            "control ingress: constant 0x200 in argument 2 of the call to 'ipv4_forward' does not fit in 9 bits (at most 0x1ff)",
            "parser state 'start': select case 1 (to 'parse_ipv4') value 0x10800 does not fit in 16 bits (at most 0xffff)",
            "parser state 'start': select case 2 (to 'parse_mpls') has 2 keyset elements, but the select has 1 key",
            "parser state 'start': select case 3 (to 'accept') range 9..3 is empty",
            "parser state 'start': select case 4 (to 'accept') mask 0x1ffff does not fit in 16 bits (at most 0xffff)",
            "table 'ipv4_lpm': the default action passes 1 argument to action 'drop_packet', which takes 0",
            "table 'ipv4_lpm': entry 2 passes 1 argument to action 'ipv4_forward', which takes 2",
            "table 'ipv4_lpm': entry 2 key 'hdr.ipv4.dstAddr' has prefix length 33; the key has 32 bits",
            "table 'ipv4_lpm': entry 3 passes 0x200 as parameter 'port' of action 'ipv4_forward', which has 9 bits (at most 0x1ff)",
            "table 'ipv4_lpm': entry 3 key 'hdr.ipv4.dstAddr' is matched lpm, but the entry gives an exact match",
            "table 'ipv4_lpm': entry 4 has 0 matches, but the table has 1 key",
            "table 'acl': entry 2 key 'src' value 0x100000000 does not fit in 32 bits (at most 0xffffffff)",
            "table 'acl': entry 2 key 'proto' range 9..3 is empty",
            "table 'acl': entry 2 key 'mpls' value 2 does not fit in 1 bit (at most 1)",
        ])
    }
}

@Suite struct VerifierParserStatesTests {
    @Test func unreachableState() {
        #expect(problems { $0.parser.states.append(ParserState("parse_udp", statements: [], transition: .accept)) } == [
            "program 'router', parser state 'parse_udp': is unreachable from the start state 'start' (fix: remove the state, or add a transition to 'parse_udp') [parser-states]",
        ])
    }

    @Test func undefinedTransitionsAndReservedNames() {
        let found = messages {
            $0.parser.states[2].transition = .goto("parse_ipv5")
            $0.parser.states[1].transition = .select([.field(.header("mpls", field: "bos", index: .last))],
                                                     [SelectCase([.value(1)], next: "parse_ip")])
            $0.parser.states.append(ParserState("accept", statements: [], transition: .accept))
        }
        #expect(found == [
            "parser state 'parse_mpls': transitions to 'parse_ip', which is not a state",
            "parser state 'parse_ipv4': transitions to 'parse_ipv5', which is not a state",
            "parser state 'accept': 'accept' is a reserved state name",
        ])
    }

    @Test func noStates() {
        var p = router()
        p.parser.states = []
        p.errors = []
        #expect(Verifier.diagnose(p).map(\.description) == [
            "program 'router', parser: has no states (fix: add a start state that extracts the first header and transitions to accept) [parser-states]",
        ])
    }
}

@Suite struct VerifierTableActionsTests {
    @Test func defaultActionNotListed() {
        #expect(problems { table(&$0, "ipv4_lpm") { $0.defaultAction = ActionCall("set_nhop", [1]) } } == [
            "program 'router', table 'ipv4_lpm': default action 'set_nhop' is not one of the table's actions (ipv4_forward, drop_packet, NoAction) (fix: add 'set_nhop' to the table's actions, or make one of them the default) [table-actions]",
        ])
    }

    @Test func actionsKeysSizesAndBranches() {
        let found = messages {
            table(&$0, "ipv4_lpm") {
                $0.actions += ["ipv4_fwd", "NoAction"]
                $0.keys.append(TableKey(.field(.header("ipv4", field: "srcAddr")), .lpm, name: "src"))
                $0.entries = []
            }
            table(&$0, "acl") { $0.size = 0 }
            $0.tables.append(Table("small", keys: [], actions: ["NoAction"], defaultAction: ActionCall("NoAction"),
                                   entries: [TableEntry([], ActionCall("NoAction")), TableEntry([], ActionCall("drop_packet"))], size: 1))
            $0.tables.append(Table("empty", keys: [], actions: [], defaultAction: ActionCall("NoAction")))
            $0.ingress += [.apply("small", outcome: ApplyOutcome(actions: [ActionBranch("drop_packet", [])])), .apply("empty")]
        }
        #expect(found == [
            "table 'ipv4_lpm': lists action 'ipv4_fwd', which is not declared",
            "table 'ipv4_lpm': lists action 'NoAction' more than once",
            "table 'ipv4_lpm': has 2 lpm keys (hdr.ipv4.dstAddr, src); a table has at most one",
            "table 'acl': has size 0",
            "table 'small': entry 2 runs action 'drop_packet', which is not one of the table's actions (NoAction)",
            "table 'small': has 2 entries but size 1",
            "table 'empty': lists no actions",
            "control ingress: applies table 'small' with a branch for action 'drop_packet', which the table does not list",
        ])
    }
}

@Suite struct VerifierStatementContextTests {
    @Test func applyInsideAnAction() {
        #expect(problems { action(&$0, "set_nhop") { $0.body.append(.apply("acl")) } } == [
            "program 'router', action 'set_nhop': applies table 'acl'; tables are applied only in the ingress or egress control (fix: apply the table from ingress or egress, not from an action) [statement-context]",
        ])
    }

    @Test func everyMisplacedConstruct() {
        let found = messages {
            action(&$0, "drop_packet") {
                $0.body += [.extract("ipv4"), .verify(.isValid("ipv4"), error: "NoMatch"), .advance(8),
                            .assign(.meta("nhop"), .lookahead(width: 32))]
            }
            $0.parser.states[2].statements += [.drop, .exit, .resubmit, .recirculate, .apply("acl"),
                                               .verify(.isValid("ipv4"), error: "BadVersoin")]
            $0.ingress += [
                .assign(.header("mpls", field: "ttl", index: .next), .bits(0, 8)),
                .setValid("mpls", index: .next),
                .ifElse(.isValid("mpls", index: .next), then: [], else: []),
                .assign(.meta("nhop"), .registerOld),
                .call("ipv4_forward", args: [.bits(1, 48)]),
            ]
            $0.deparser.statements.append(.apply("acl"))
            $0.actions += [
                Action("a", body: [.call("b", args: [])]),
                Action("b", body: [.ifElse(.isValid("ipv4"), then: [.call("a", args: [])], else: [])]),
                Action("c", body: [.call("c", args: [])]),
            ]
        }
        #expect(found == [
            "parser state 'parse_ipv4': marks the packet to drop in the parser",
            "parser state 'parse_ipv4': exits in the parser",
            "parser state 'parse_ipv4': requests resubmit in the parser",
            "parser state 'parse_ipv4': requests recirculate in the parser",
            "parser state 'parse_ipv4': applies table 'acl'; tables are applied only in the ingress or egress control",
            "parser state 'parse_ipv4': raises error 'BadVersoin', which is not declared",
            "action 'drop_packet': extracts header 'ipv4' outside the parser",
            "action 'drop_packet': uses verify outside the parser",
            "action 'drop_packet': advances the packet cursor outside the parser",
            "control ingress: uses hdr.mpls.next.setValid() outside an extract",
            "control ingress: calls action 'ipv4_forward' with 1 argument, but it takes 2 (dstAddr: bit<48>, port: bit<9>)",
            "deparser: applies table 'acl'; tables are applied only in the ingress or egress control",
            "control ingress: uses hdr.mpls.next.ttl outside an extract",
            "action 'drop_packet': looks ahead 32 bits outside the parser",
            "control ingress: uses hdr.mpls.next.isValid() outside an extract",
            "control ingress: uses the old register value outside a registerAction update",
            "action 'a': calls itself: a -> b -> a",
            "action 'c': calls itself: c -> c",
        ])
    }

    @Test func resubmitOutsideIngress() {
        // In ingress it is fine; in egress, and in an action egress runs (through a table or a
        // call), the runtime would ignore it.
        #expect(problems { $0.ingress.append(.resubmit) } == [])
        #expect(problems { $0.egress!.append(.resubmit) } == [
            "program 'router', control egress: requests resubmit; resubmit is only possible in ingress (it restarts ingress with the original packet) (fix: resubmit from the ingress control, or recirculate to send the processed packet back through ingress) [statement-context]",
        ])
        #expect(problems {
            $0.actions += [Action("again", body: [.resubmit]), Action("outer", body: [.call("again", args: [])])]
            $0.egress!.append(.call("outer", args: []))
        } == [
            "program 'router', action 'again': requests resubmit and runs in egress (called by action 'outer', which runs in egress); resubmit is only possible in ingress (it restarts ingress with the original packet) (fix: resubmit from the ingress control, or recirculate to send the processed packet back through ingress) [statement-context]",
        ])
    }

    @Test func undeclaredErrorFix() {
        let d = Verifier.diagnose({ var p = router(); p.parser.states[2].statements[1] = .verify(.isValid("ipv4"), error: "Oops"); return p }())
        #expect(d.map(\.fix) == ["add 'Oops' to the program's errors, or use one of: NoError, PacketTooShort, NoMatch, StackOutOfBounds, HeaderTooShort, ParserTimeout, ParserInvalidArgument, BadVersion"])
    }
}

@Suite struct VerifierReadOnlyStandardTests {
    @Test func assigningTheIngressPort() {
        #expect(problems { $0.ingress.append(.assign(.standard(.ingressPort), .int(1))) } == [
            "program 'router', control ingress: assigns standard.ingressPort, but standard.ingressPort is set by the target; a program may only read it (fix: copy the value into a metadata field and change that instead) [read-only-standard]",
        ])
    }

    @Test func externResultsIntoReadOnlyFields() {
        let found = problems {
            $0.ingress += [
                .assign(.standard(.egressPort), .int(1)),
                .meter("port_meter", index: .int(0), result: .standard(.instanceType)),
                .registerAction("flow_bytes", index: .int(0), update: .registerOld, result: .standard(.packetLength)),
                .registerRead(.standard(.enqTimestamp), register: "flow_bytes", index: .int(0)),
                .assign(.standard(.egressSpec), .int(1)), .assign(.standard(.mcastGrp), .int(1)),
            ]
        }
        #expect(found == [
            "program 'router', control ingress: assigns standard.egressPort, but standard.egressPort is set by the target; a program may only read it (fix: set standard.egressSpec to choose the output port) [read-only-standard]",
            "program 'router', control ingress: writes the color of meter 'port_meter' into standard.instanceType, but standard.instanceType is set by the target; a program may only read it (fix: copy the value into a metadata field and change that instead) [read-only-standard]",
            "program 'router', control ingress: returns the value of register 'flow_bytes' into standard.packetLength, but standard.packetLength is set by the target; a program may only read it (fix: copy the value into a metadata field and change that instead) [read-only-standard]",
            "program 'router', control ingress: reads register 'flow_bytes' into standard.enqTimestamp, but standard.enqTimestamp is set by the target; a program may only read it (fix: copy the value into a metadata field and change that instead) [read-only-standard]",
        ])
    }
}

@Suite struct VerifierStackIndexTests {
    @Test func stackFieldWithoutIndex() {
        #expect(problems { $0.ingress.append(.assign(.header("mpls", field: "ttl"), .int(1))) } == [
            "program 'router', control ingress: assigns hdr.mpls.ttl, but header 'mpls' is a stack of 3 (fix: pick an element: hdr.mpls[0].ttl or hdr.mpls.last.ttl) [stack-index]",
        ])
    }

    @Test func indicesPushPopAndExtract() {
        let found = messages {
            $0.ingress += [
                .assign(.header("ipv4", field: "ttl", index: .at(0)), .int(1)),
                .assign(.header("mpls", field: "ttl", index: .at(3)), .int(1)),
                .pushFront("mpls", count: 4), .popFront("mpls", count: 0), .popFront("ipv4", count: 1),
                .setValid("mpls"), .setInvalid("ipv4", index: .last),
                .ifElse(.isValid("mpls"), then: [], else: []),
            ]
            $0.parser.states[1].statements = [.extract("mpls", index: .at(0))]
            $0.parser.states[2].statements[0] = .extract("ipv4", index: .next)
        }
        #expect(found == [
            "control ingress: assigns hdr.ipv4[0].ttl, but header 'ipv4' is not a stack",
            "control ingress: assigns hdr.mpls[3].ttl, but stack 'mpls' has 3 elements",
            "control ingress: calls hdr.mpls.isValid(), but header 'mpls' is a stack of 3",
            "parser state 'parse_mpls': extracts hdr.mpls[0], but 'mpls' is a stack, extracted element by element with .next",
            "parser state 'parse_ipv4': extracts hdr.ipv4.next, but header 'ipv4' is not a stack",
            "control ingress: pushes 4 elements onto stack 'mpls', which has 3",
            "control ingress: pops 0 elements from stack 'mpls', which has 3",
            "control ingress: pops header 'ipv4', which is not a stack",
            "control ingress: calls hdr.mpls.setValid(), but header 'mpls' is a stack of 3",
            "control ingress: calls hdr.ipv4.last.setInvalid(), but header 'ipv4' is not a stack",
        ])
    }

    @Test func emittingAWholeStackIsAllowed() {
        #expect(router().deparser.emit.contains("mpls"))
        #expect(Verifier.diagnose(router()).isEmpty)
    }
}

@Suite struct VerifierDeparserTests {
    @Test func headerEmittedTwice() {
        #expect(problems { $0.deparser.emit.append("ipv4") } == [
            "program 'router', deparser: emits header 'ipv4' 2 times (fix: emit 'ipv4' once, at its place in the packet) [deparser]",
        ])
    }
}

@Suite struct VerifierRobustnessTests {
    /// Nonsense values (negative and huge widths, sizes and counts) give diagnostics, never a trap.
    @Test func nonsenseDoesNotTrap() {
        var p = router()
        p.headerTypes[0].fields[0].width = -8
        p.headerTypes[1].fields[0].width = 500
        p.headers[1].stackSize = -2
        p.metadata[0].width = -1
        p.registers[0].width = 0
        p.registers[0].size = -1
        p.counters[0].size = 0
        p.tables[0].size = -5
        p.tables[0].entries.append(TableEntry([.lpm(UInt128.max, prefixLength: -1)], ActionCall("ipv4_forward", [UInt128.max, UInt128.max])))
        p.digests[0].fields[0].width = 0
        p.actions[2].params[1].width = -3
        p.ingress += [
            .assign(.meta("flowHash"), .cast(.slice(.field(.meta("nhop")), hi: -1, lo: -3), width: -5)),
            .assign(.meta("flowHash"), .const(UInt128.max, width: 0)),
            .assign(.meta("nhop"), .random(lo: 0, hi: UInt64.max, width: 0)),
            .assign(.meta("nhop"), .hash(.identity, [], width: 0, base: UInt64.max, modulo: UInt64.max)),
            .assign(.meta("nhop"), .lookahead(width: -1)),
            .pushFront("mpls", count: -1),
            .count("port_packets", index: .int(UInt128.max)),
            .registerRead(.meta("nhop"), register: "flow_bytes", index: .int(0)),
            .call("ipv4_forward", args: [.int(UInt128.max), .int(UInt128.max)]),
        ]
        p.parser.states[2].statements.append(.advance(-8))
        let d = Verifier.diagnose(p)
        #expect(d.count > 10)
        #expect(Set(d.map(\.rule)).isSuperset(of: ["header-layout", "width-mismatch", "constant-range", "table-actions"]))
    }
}

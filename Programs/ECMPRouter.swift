import Sluice
import SluiceIR

/// `ecmp-router`: `ipv4-router` with next-hop groups. A route either names one next hop
/// (`forward`) or a group (`ecmp`); a packet of a group route goes to the member picked by a
/// CRC-32 of its 5-tuple scaled onto the group's size, so every packet of a flow takes the same
/// path while flows spread over all of them. The checks are `ipv4-router`'s (`Common.routeIPv4`):
/// non-IPv4, TTL 0 or 1, IPv4 options and bad header checksums are dropped. ECN bits are left
/// alone (the emulator's traffic manager marks them).
///
/// Tables (entries files use these names):
///
///     ipv4_lpm     hdr.ipv4.dstAddr: lpm              forward(port: 9, dmac: 48) | ecmp(group: 16, count: 16) | drop
///     ecmp_nhop    meta.ecmp_group: exact,
///                  meta.ecmp_member: exact            forward(port: 9, dmac: 48) | drop
///     switch_mac   no keys: set its default action    set_switch_mac(mac: 48)
///
///     table_set_default switch_mac set_switch_mac 02:00:00:00:0a:01
///     table_add ipv4_lpm forward 10.0.1.1/32 => 1 02:00:00:00:00:01
///     table_add ipv4_lpm ecmp 10.0.2.0/24 => 1 2
///     table_add ecmp_nhop forward 1 0 => 3 02:00:00:00:0a:02
///     table_add ecmp_nhop forward 1 1 => 4 02:00:00:00:0a:03
///
/// Choices:
/// - The member is `(crc32[15:0] * count) >> 16`, the low 16 bits of the hash scaled onto
///   `0 ..< count`, not `crc32 % count`. `hash(..., modulo:)` takes a constant and the group
///   size is a runtime value; an exact remainder is expressible only as an unrolled 32-step
///   shift-and-subtract division, which made a grouped packet cost about nine times a forwarded
///   one in the runtime (2.7 us against 0.3 us). The multiply-shift (Lemire's range reduction)
///   is one multiply and as fair as a remainder of the same 16 bits: each member gets the floor
///   or the ceiling of 2^16 / count hash values (0.1% apart at 64 members). It takes the low
///   bits because a CRC's high bits barely move when only the last bytes of its input do:
///   scaling all 32 bits put 56 of 64 consecutive source ports on one member of four.
/// - CRC-32 rather than CRC-16, at the same cost in software: CRC-16/ARC sends 64 consecutive
///   source ports to 2 members of 4 (scaled or modulo alike), CRC-32's low 16 bits 16 to each.
/// - The switch's own MAC, the source of every routed frame, is a per-switch constant: it is
///   the default action of the keyless `switch_mac` table (set once), so next-hop entries carry
///   only what differs per next hop (port and neighbour MAC). Until it is set, it is 0.
/// - Ports hash as 0 when they are not there to read: not TCP or UDP, IPv4 options, or a later
///   fragment (offset != 0). The first fragment does hash its ports, so the fragments of one
///   datagram may take different paths (as on switches that hash L4 ports).
/// - A group of count 0 drops.
public enum ECMPRouter {
    public static let name = "ecmp-router"
    public static let summary = "IPv4 LPM router with ECMP groups: a CRC-32 of the 5-tuple picks the member"

    /// The fields hashed, in order: srcAddr, dstAddr, protocol, srcPort, dstPort (13 bytes).
    public static var fiveTuple: [Value] {
        [hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.protocol, hdr.l4.srcPort, hdr.l4.dstPort]
    }

    /// Ethernet, IPv4 and L4 ports: the types, the headers and the parser (`Common`'s checks).
    /// Programs that route like ecmp-router (flowlet, drill) start with these.
    public static var headers: Components {
        Components {
                Common.ethernetAndIPv4Types
                Common.l4PortsType
                Header("ethernet", "ethernet_t")
                Header("ipv4", "ipv4_t")
                Header("l4", "l4_ports_t")
                Parser {
                    Common.ethernetStart()
                }
                Common.ipv4AndPortsStates
        }
    }

    /// The IPv4 checksum, then Ethernet, IPv4 and L4 ports.
    public static var deparser: Components {
        Components {
                Deparser {
                    UpdateChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
                    Emit(hdr.ethernet)
                    Emit(hdr.ipv4)
                    Emit(hdr.l4)
                }
        }
    }

    /// `routes` sizes the LPM table, `members` the next-hop table (all groups' members).
    public static func program(routes: Int = 131_072, members: Int = 16_384) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            headers
            routing(routes: routes, members: members)
            Ingress {
                route
            }
            deparser
        }
    }

    /// The routing part on its own: metadata, actions and the tables `switch_mac`, `ipv4_lpm`
    /// and `ecmp_nhop`. Programs that also route (the aggregation programs forward everything
    /// that is not theirs) include it and run `route`, so that the routing controller fills
    /// their tables exactly as it fills `ecmp-router`'s. Needs `hdr.ethernet`, `hdr.ipv4` and
    /// `hdr.l4` (ports, for the hash).
    ///
    /// `member` is the extension point of load-balancing programs (`flowlet`, `conga`, `hula`):
    /// the statements, run inside the `ecmp` action with the group's size (`param.count`), that
    /// set `meta.ecmp_member` to a member in `0 ..< count`. The default is `hashMember`, so a
    /// program that passes nothing routes exactly as `ecmp-router`.
    public static func routing(routes: Int = 131_072, members: Int = 16_384,
                               @StatementBuilder member: (_ count: Value) -> [Stmt] = hashMember) -> Components {
        Components {
            Metadata {
                Field("switch_mac", 48)
                Field("ecmp_group", 16)
                Field("ecmp_member", 16)
            }
            Action("drop") {
                Drop()
            }
            Action("set_switch_mac", Param("mac", 48)) {
                Assign(meta.switch_mac, param.mac)
            }
            Action("forward", Param("port", 9), Param("dmac", 48)) {
                Forward(port: param.port)
                Assign(hdr.ethernet.srcAddr, meta.switch_mac)
                Assign(hdr.ethernet.dstAddr, param.dmac)
                Assign(hdr.ipv4.ttl, hdr.ipv4.ttl - 1)
            }
            Action("ecmp", Param("group", 16), Param("count", 16)) {
                Assign(meta.ecmp_group, param.group)
                member(param.count)
                If(param.count == 0) {
                    Drop()
                }
            }
            Table("switch_mac") {
                Actions("set_switch_mac")
                DefaultAction("set_switch_mac", 0)
                Size(1)
            }
            Table("ipv4_lpm") {
                Key(hdr.ipv4.dstAddr, .lpm)
                Actions("forward", "ecmp", "drop")
                DefaultAction("drop")
                Size(routes)
            }
            Table("ecmp_nhop") {
                Key(meta.ecmp_group, .exact)
                Key(meta.ecmp_member, .exact)
                Actions("forward", "drop")
                DefaultAction("drop")
                Size(members)
            }
        }
    }

    /// ECMP's member: the CRC-32 of the 5-tuple scaled onto the group's size.
    @StatementBuilder
    public static func hashMember(count: Value) -> [Stmt] {
        // (crc32[15:0] * count) >> 16: the hash scaled onto 0 ..< count.
        Assign(meta.ecmp_member, scaled(hash(.crc32, fiveTuple, width: 16), onto: count))
    }

    /// A 16-bit value `h` scaled onto `0 ..< count`: `(h * count) >> 16` (see Choices).
    public static func scaled(_ h: Value, onto count: Value) -> Value {
        (h.cast(32) * count.cast(32))[31, 16]
    }

    /// Route an IPv4 packet with `routing`'s tables (dropping what `Common.routeIPv4` drops).
    @StatementBuilder
    public static var route: [Stmt] {
        route {}
    }

    /// `route` with `prepare` run first (after the checks, before `ipv4_lpm`): load-balancing
    /// programs apply their configuration tables there, so their `member` statements can read
    /// the result.
    @StatementBuilder
    public static func route(@StatementBuilder prepare: () -> [Stmt]) -> [Stmt] {
        Common.routeIPv4 {
            prepare()
            Apply("switch_mac")
            Switch(apply: "ipv4_lpm") {
                On("ecmp") {
                    Apply("ecmp_nhop")
                }
            }
        }
    }
}

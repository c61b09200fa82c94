import Sluice
import SluiceIR

/// Pieces the built-in programs share, so that they compose instead of copying each other.
public enum Common {
    public static let etherTypeIPv4: UInt64 = 0x0800
    public static let etherTypeARP: UInt64 = 0x0806
    public static let etherTypeIPv6: UInt64 = 0x86DD

    /// `ethernet_t` and `ipv4_t` with the field names of the p4lang tutorials.
    public static var ethernetAndIPv4Types: Components {
        Components {
            HeaderType("ethernet_t") {
                Field("dstAddr", 48)
                Field("srcAddr", 48)
                Field("etherType", 16)
            }
            HeaderType("ipv4_t") {
                Field("version", 4)
                Field("ihl", 4)
                Field("diffserv", 8)
                Field("totalLen", 16)
                Field("identification", 16)
                Field("flags", 3)
                Field("fragOffset", 13)
                Field("ttl", 8)
                Field("protocol", 8)
                Field("hdrChecksum", 16)
                Field("srcAddr", 32)
                Field("dstAddr", 32)
            }
        }
    }

    /// The start state: Ethernet, then IPv4 (`ipv4State`) for EtherType 0x0800, else accept.
    public static func ethernetStart(ipv4State: String = "parse_ipv4") -> State {
        State("start") {
            Extract(hdr.ethernet)
            Select(hdr.ethernet.etherType) {
                Case(Keyset(UInt128(etherTypeIPv4)), next: ipv4State)
                Default(next: "accept")
            }
        }
    }

    /// IPv4 forwarding as in the p4lang tutorials' basic exercise: table `ipv4_lpm` on
    /// `hdr.ipv4.dstAddr`, actions `ipv4_forward(dstAddr, port)` and `drop`, default `drop`.
    public static func ipv4Forwarding(size: Int) -> Components {
        Components {
            Action("drop") {
                Drop()
            }
            Action("ipv4_forward", Param("dstAddr", 48), Param("port", 9)) {
                Forward(port: param.port)
                Assign(hdr.ethernet.srcAddr, hdr.ethernet.dstAddr)
                Assign(hdr.ethernet.dstAddr, param.dstAddr)
                Assign(hdr.ipv4.ttl, hdr.ipv4.ttl - 1)
            }
            Table("ipv4_lpm") {
                Key(hdr.ipv4.dstAddr, .lpm)
                Actions("ipv4_forward", "drop")
                DefaultAction("drop")
                Size(size)
            }
        }
    }

    /// A switch's own settings in a one-entry table: the default action `action` of `table`
    /// copies each parameter into its metadata field (`defaults` until the control plane says
    /// otherwise: `table_set_default TABLE ACTION VALUES`).
    public static func settings(table: String, action: String,
                                _ fields: [(param: String, width: Int, into: Value, default: UInt128)]) -> Components {
        Components {
            Action(action, params: fields.map { Param($0.param, $0.width) }) {
                for f in fields { Assign(f.into, param[dynamicMember: f.param]) }
            }
            Table(table) {
                Actions(action)
                DefaultAction(action, arguments: fields.map(\.default))
                Size(1)
            }
        }
    }

    /// The switch a destination sits behind (its leaf or ToR, an id above 0), by the longest
    /// prefix of `hdr.ipv4.dstAddr`: table `table` runs `action(name: width)`, which writes
    /// `into`; no match leaves 0. CONGA and HULA look up where a flowlet is going with it.
    public static func destinationSwitch(table: String, action: String, param name: String, width: Int,
                                         into: Value, size: Int) -> Components {
        Components {
            Action(action, Param(name, width)) {
                Assign(into, param[dynamicMember: name])
            }
            Table(table) {
                Key(hdr.ipv4.dstAddr, .lpm)
                Actions(action)
                DefaultAction(action, 0)
                Size(size)
            }
        }
    }

    /// Route IPv4 packets with a TTL above 1 and a good header checksum; drop everything else.
    @StatementBuilder
    public static var routeIPv4: [Stmt] {
        routeIPv4 {
            Apply("ipv4_lpm")
        }
    }

    /// Run `lookup` for IPv4 packets with a TTL above 1, a good header checksum and no options;
    /// drop everything else (the checks of `routeIPv4`, around a program's own tables).
    @StatementBuilder
    public static func routeIPv4(@StatementBuilder lookup: () -> [Stmt]) -> [Stmt] {
        If(hdr.ipv4.isValid) {
            VerifyChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
            If(standard.checksumError == 1 || hdr.ipv4.ttl <= 1 || hdr.ipv4.ihl != 5) {
                Drop()
            } else: {
                lookup()
            }
        } else: {
            Drop()
        }
    }

    /// `l4_ports_t`: the first 32 bits of a TCP or UDP header, the ports (all a 5-tuple needs;
    /// the rest of the L4 header stays payload).
    public static var l4PortsType: Components {
        Components {
            HeaderType("l4_ports_t") {
                Field("srcPort", 16)
                Field("dstPort", 16)
            }
        }
    }

    /// `udp_rest_t`: the UDP header after the ports (length, checksum), for programs that
    /// change UDP payloads (with `l4_ports_t` in front of it).
    public static var udpRestType: Components {
        Components {
            HeaderType("udp_rest_t") {
                Field("length", 16)
                Field("checksum", 16)
            }
        }
    }

    /// The states after `ethernetStart()` for programs that look at the 5-tuple: `parse_ipv4`
    /// extracts `hdr.ipv4`, then `parse_l4` extracts the ports into `hdr.l4` (`l4_ports_t`) for
    /// TCP and UDP, but only when the ports are there to read: no IPv4 options (which the
    /// routers drop anyway) and not a later fragment. Otherwise `hdr.l4` stays invalid and its
    /// fields read as 0.
    public static var ipv4AndPortsStates: Sluice.Parser {
        // One 25-bit key, fragOffset ++ ihl ++ protocol, rather than three keys: the runtime
        // selects on one key of up to 64 bits by comparing integers (three keys took ~60 ns
        // more per packet).
        let firstFragmentWithoutOptions: UInt128 = 0 << 12 | 5 << 8
        return Parser {
            State("parse_ipv4") {
                Extract(hdr.ipv4)
                Select(hdr.ipv4.fragOffset ++ hdr.ipv4.ihl ++ hdr.ipv4.protocol) {
                    Case(Keyset(firstFragmentWithoutOptions | 6), next: "parse_l4")     // TCP
                    Case(Keyset(firstFragmentWithoutOptions | 17), next: "parse_l4")    // UDP
                    Default(next: "accept")
                }
            }
            State("parse_l4") {
                Extract(hdr.l4)
                Accept()
            }
        }
    }
}

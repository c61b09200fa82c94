import Sluice
import SluiceIR

/// What `switchml` and `atp` share: the UDP-carried header types, the IPv4 parser states, the
/// per-worker egress rewrite of multicast results, and the deparser.
enum AggregationParts {
    /// `l4_ports_t`, `udp_rest_t` (length, checksum) and `values_t` (k 32-bit fields in one
    /// header rather than a stack of k: one extract and one emit, fields at constant offsets;
    /// and stacks have at most 64 elements), with the Ethernet and IPv4 types.
    static func types(k: Int) -> Components {
        Components {
            Common.ethernetAndIPv4Types
            Common.l4PortsType
            Common.udpRestType
            HeaderType("values_t") {
                for j in 0..<k { Field("v\(j)", 32) }
            }
        }
    }

    /// `parse_ipv4` (TCP to `parse_l4`, UDP to `parse_udp`, options and later fragments
    /// accepted as they are) and `parse_l4`.
    static var ipv4States: [State] {
        [State("parse_ipv4") {
            Extract(hdr.ipv4)
            // fragOffset ++ ihl ++ protocol, one key (see Common.ipv4AndPortsStates).
            Select(hdr.ipv4.fragOffset ++ hdr.ipv4.ihl ++ hdr.ipv4.protocol) {
                Case(Keyset(5 << 8 | 6), next: "parse_l4")
                Case(Keyset(5 << 8 | 17), next: "parse_udp")
                Default(next: "accept")
            }
        },
         State("parse_l4") {
            Extract(hdr.l4)
            Accept()
        }]
    }

    /// `set_dest(mac, ip, port)` and the egress table `name` keyed by replica id, applied to
    /// multicast copies only (routed packets and unicast results are instance type 0): each
    /// copy of a result gets its worker's destination.
    static func rewrite(table name: String) -> Components {
        Components {
            Action("set_dest", Param("mac", 48), Param("ip", 32), Param("port", 16)) {
                Assign(hdr.ethernet.dstAddr, param.mac)
                Assign(hdr.ipv4.dstAddr, param.ip)
                Assign(hdr.l4.dstPort, param.port)
            }
            Table(name) {
                Key(standard.egressRid, .exact)
                Actions("set_dest", "drop")
                DefaultAction("drop")
                Size(8192)
            }
            Egress {
                If(standard.instanceType == Value(UInt128(InstanceType.replica.rawValue))) {
                    Apply(name)
                }
            }
        }
    }

    /// The IPv4 checksum, then Ethernet, IPv4, ports, the rest of UDP and `headers`.
    static func deparser(_ headers: [HeaderValue]) -> Sluice.Deparser {
        Deparser {
            UpdateChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
            Emit(hdr.ethernet)
            Emit(hdr.ipv4)
            Emit(hdr.l4)
            Emit(hdr.udp)
            for h in headers { Emit(h) }
        }
    }
}

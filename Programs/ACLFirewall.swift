import Sluice
import SluiceIR

/// `acl-firewall`: ternary and range rules on the 5-tuple with priorities and a per-rule
/// counter, in front of the IPv4 router. The highest-priority matching rule decides: `allow`
/// lets the packet reach routing, `deny` drops it. With no matching rule, packets are allowed.
public enum ACLFirewall {
    public static let name = "acl-firewall"
    public static let summary = "5-tuple ACL (ternary + range, priorities, per-rule counters) in front of ipv4-router"

    public static func program(rules: Int = 4096, routes: Int = 131_072) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            Common.ethernetAndIPv4Types
            HeaderType("l4_ports_t") {
                Field("srcPort", 16)
                Field("dstPort", 16)
            }
            Header("ethernet", "ethernet_t")
            Header("ipv4", "ipv4_t")
            Header("l4", "l4_ports_t")
            Metadata {
                Field("srcPort", 16)
                Field("dstPort", 16)
            }
            Parser {
                Common.ethernetStart()
                State("parse_ipv4") {
                    Extract(hdr.ipv4)
                    // Ports only in first fragments of TCP (6) and UDP (17) with no options.
                    Select(hdr.ipv4.fragOffset, hdr.ipv4.ihl, hdr.ipv4.protocol) {
                        Case(0, 5, 6, next: "parse_l4")
                        Case(0, 5, 17, next: "parse_l4")
                        Default(keys: 3, next: "accept")
                    }
                }
                State("parse_l4") {
                    Extract(hdr.l4)
                    Accept()
                }
            }
            Common.ipv4Forwarding(size: routes)
            Action("allow") {}
            Action("deny") {
                Drop()
            }
            Table("acl") {
                Key(hdr.ipv4.srcAddr, .ternary)
                Key(hdr.ipv4.dstAddr, .ternary)
                Key(hdr.ipv4.protocol, .ternary)
                Key(meta.srcPort, .range)
                Key(meta.dstPort, .range)
                Actions("allow", "deny")
                DefaultAction("allow")
                DirectCounter()
                Size(rules)
            }
            Ingress {
                If(hdr.l4.isValid) {
                    Assign(meta.srcPort, hdr.l4.srcPort)
                    Assign(meta.dstPort, hdr.l4.dstPort)
                }
                If(hdr.ipv4.isValid) {
                    Switch(apply: "acl") {
                        On("deny") {
                            Exit()
                        }
                    }
                }
                Common.routeIPv4
            }
            Deparser {
                UpdateChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
                Emit(hdr.ethernet)
                Emit(hdr.ipv4)
                Emit(hdr.l4)
            }
        }
    }
}

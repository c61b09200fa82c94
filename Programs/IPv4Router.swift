import Sluice
import SluiceIR

/// `ipv4-router`: the p4lang tutorials' basic router. Longest-prefix match on the destination,
/// rewrite of the Ethernet addresses, TTL decrement, IPv4 checksum update. Packets that are not
/// IPv4, have TTL 0 or 1, carry IPv4 options or a bad header checksum are dropped.
public enum IPv4Router {
    public static let name = "ipv4-router"
    public static let summary = "IPv4 LPM router (p4lang tutorials' basic): MAC rewrite, TTL, checksum"

    /// `routes` sizes the LPM table (the tutorial uses 1024; 131072 fits a full table of tests).
    public static func program(routes: Int = 131_072) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            Common.ethernetAndIPv4Types
            Header("ethernet", "ethernet_t")
            Header("ipv4", "ipv4_t")
            Parser {
                Common.ethernetStart()
                State("parse_ipv4") {
                    Extract(hdr.ipv4)
                    Accept()
                }
            }
            Common.ipv4Forwarding(size: routes)
            Ingress {
                Common.routeIPv4
            }
            Deparser {
                UpdateChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
                Emit(hdr.ethernet)
                Emit(hdr.ipv4)
            }
        }
    }
}

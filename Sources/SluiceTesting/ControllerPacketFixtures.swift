import Sluice

/// Programs with controller headers (`ControllerHeader`) that test suites of several targets
/// share: the P4Runtime device's tests and p4runtime-shell's PacketIn and PacketOut between
/// network namespaces.
public enum ControllerPacketFixtures {
    /// A program that punts every packet to the controller (out of `cpuPort`) with its ingress
    /// port and reason 5 in `packet_in`, and sends a controller's packet-out (in on `cpuPort`)
    /// to the port its `packet_out` names, without that header.
    public static func punt(cpuPort: UInt16) -> SwitchProgram {
        SwitchProgram("punt", doc: "packets to the controller; packet-outs to their port") {
            HeaderType("packet_out_t") {
                Field("egress_port", 9)
                Field("pad", 7)
            }
            HeaderType("packet_in_t") {
                Field("ingress_port", 9)
                Field("reason", 7)
            }
            HeaderType("ethernet_t") {
                Field("dstAddr", 48)
                Field("srcAddr", 48)
                Field("etherType", 16)
            }
            Header("packet_out", "packet_out_t")
            Header("packet_in", "packet_in_t")
            Header("ethernet", "ethernet_t")
            ControllerHeader(.packetIn, "packet_in")
            ControllerHeader(.packetOut, "packet_out")
            Parser {
                State("start") {
                    Select(standard.ingressPort) {
                        Case(Keyset(UInt128(cpuPort)), next: "parse_packet_out")
                        Default(next: "parse_ethernet")
                    }
                }
                State("parse_packet_out") {
                    Extract(hdr.packet_out)
                    Goto("parse_ethernet")
                }
                State("parse_ethernet") {
                    Extract(hdr.ethernet)
                    Accept()
                }
            }
            Ingress {
                If(hdr.packet_out.isValid) {
                    Forward(port: hdr.packet_out.egress_port)
                    SetInvalid(hdr.packet_out)
                } else: {
                    SetValid(hdr.packet_in)
                    Assign(hdr.packet_in.ingress_port, standard.ingressPort)
                    Assign(hdr.packet_in.reason, 5)
                    Forward(port: Value(UInt128(cpuPort)))
                }
            }
            Deparser {
                Emit(hdr.packet_in)
                Emit(hdr.ethernet)
            }
        }
    }
}

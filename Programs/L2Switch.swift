import Sluice
import SluiceIR
import SluiceControlPlane

/// `l2-switch`: a learning Ethernet switch. Known destinations go out of their port; unknown
/// and broadcast destinations flood to every port but the one they came in on (multicast group
/// `floodGroup`), and no frame leaves by the port it came in on; unknown sources reach the control plane as `learn` digests,
/// and the controller installs them.
public enum L2Switch {
    public static let name = "l2-switch"
    public static let summary = "learning Ethernet switch: exact MAC forwarding, flooding, learning by digests"
    public static let floodGroup: UInt16 = 1

    public static func program(macs: Int = 65_536) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            HeaderType("ethernet_t") {
                Field("dstAddr", 48)
                Field("srcAddr", 48)
                Field("etherType", 16)
            }
            Header("ethernet", "ethernet_t")
            DigestType("learn") {
                Field("srcAddr", 48)
                Field("ingressPort", 9)
            }
            Parser {
                State("start") {
                    Extract(hdr.ethernet)
                    Accept()
                }
            }
            NoAction()
            Action("learn") {
                SendDigest("learn", hdr.ethernet.srcAddr, standard.ingressPort)
            }
            Action("forward", Param("port", 9)) {
                Forward(port: param.port)
            }
            Action("flood") {
                Multicast(group: Value(UInt128(floodGroup)))
            }
            // Keyed on the port too, so a station that moves is learnt again.
            Table("smac") {
                Key(hdr.ethernet.srcAddr, .exact)
                Key(standard.ingressPort, .exact)
                Actions("learn", "NoAction")
                DefaultAction("learn")
                Size(macs)
            }
            Table("dmac") {
                Key(hdr.ethernet.dstAddr, .exact)
                Actions("forward", "flood")
                DefaultAction("flood")
                Size(macs)
            }
            Ingress {
                Apply("smac")
                Apply("dmac")
            }
            Egress {
                // Like an 802.1D bridge: never send a frame back out of the port it came in on
                // (neither a flooded copy nor a unicast to a station learnt on that port).
                If(standard.egressPort == standard.ingressPort) {
                    Drop()
                }
            }
            Deparser {
                Emit(hdr.ethernet)
            }
        }
    }

    /// The control plane of the switch: a flood group over `ports`, and learning from digests.
    public final class Controller: ProgramController {
        public let ports: [UInt16]
        /// Where each learnt MAC lives now.
        public private(set) var stations: [UInt64: UInt16] = [:]
        public init(ports: [UInt16]) { self.ports = ports }

        public func setup(_ cp: any ControlPlane) throws {
            try cp.setMulticastGroup(L2Switch.floodGroup, ports.map { MulticastMember(port: $0, rid: $0) })
        }

        public func handle(_ digests: [DigestMessage], _ cp: any ControlPlane) throws {
            for d in digests where d.name == "learn" {
                let mac = UInt64(truncatingIfNeeded: d.values[0]), port = UInt16(truncatingIfNeeded: d.values[1])
                // Broadcast and multicast source addresses are never learnt.
                if mac & 0x0100_0000_0000 != 0 { continue }
                if let oldPort = stations[mac], oldPort != port,
                   let h = try cp.find("smac", [.exact(UInt128(mac)), .exact(UInt128(oldPort))], priority: 0) {
                    try cp.delete(h)
                }
                stations[mac] = port
                try cp.upsert("smac", TableEntry([.exact(UInt128(mac)), .exact(UInt128(port))], ActionCall("NoAction")))
                try cp.upsert("dmac", TableEntry([.exact(UInt128(mac))], ActionCall("forward", [UInt128(port)])))
            }
        }
    }
}

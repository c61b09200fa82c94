import Sluice
import SluiceIR

extension Fixtures {
    /// A label stack of 3 behind Ethernet (type 0x8847), parsed by a loop that extracts
    /// `hdr.mpls.next` until `bos`, deparsed as Ethernet then the stack; `ingress` and `egress`
    /// (none when empty) are the caller's. The runtime's and the XDP backend's stack tests
    /// build their programs on it.
    public static func mplsProgram(name: String = "mpls", reject: ParserRejectPolicy = .drop,
                                   @StatementBuilder _ ingress: () -> [Stmt],
                                   @StatementBuilder egress: () -> [Stmt] = { [] }) -> SwitchProgram {
        let eg = egress()
        return SwitchProgram(name) {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("label_t") { Field("label", 20); Field("tc", 3); Field("bos", 1); Field("ttl", 8) }
            Header("eth", "eth_t")
            HeaderStack("mpls", "label_t", size: 3)
            OnParserReject(reject)
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) { Case(0x8847, next: "mpls"); Default(next: "accept") }
                }
                State("mpls") {
                    Extract(hdr.mpls.next)
                    Select(hdr.mpls.last.bos) { Case(1, next: "accept"); Default(next: "mpls") }
                }
            }
            Ingress(ingress)
            if !eg.isEmpty { Egress({ eg }) }
            Deparser { Emit(hdr.eth); Emit(hdr.mpls) }
        }
    }
}

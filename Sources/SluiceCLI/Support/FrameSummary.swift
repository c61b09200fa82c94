import SluiceSupport

/// One line for an Ethernet frame, as tcpdump prints one: the addresses and what the frame
/// carries (ARP, IPv4 or IPv6 with UDP or TCP ports), then its length. Frames it cannot decode
/// print their EtherType and length; nothing here reads past the frame.
enum FrameSummary {
    static func line(_ b: UnsafeRawBufferPointer, originalLength: Int) -> String {
        func u8(_ i: Int) -> Int { i < b.count ? Int(b[i]) : 0 }
        func u16(_ i: Int) -> Int { u8(i) << 8 | u8(i + 1) }
        func mac(_ i: Int) -> String { macText((0..<6).reduce(UInt64(0)) { $0 << 8 | UInt64(u8(i + $1)) }) }
        func ipv4(_ i: Int) -> String { ipv4Text((0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(u8(i + $1)) }) }
        func ipv6(_ i: Int) -> String { stride(from: 0, to: 16, by: 2).map { String(u16(i + $0), radix: 16) }.joined(separator: ":") }
        guard b.count >= 14 else { return "truncated frame, length \(originalLength)" }
        var type = u16(12), l3 = 14
        if type == 0x8100, b.count >= 18 { type = u16(16); l3 = 18 }
        let link = "\(mac(6)) > \(mac(0))"
        func ports(_ proto: Int, _ l4: Int, _ src: String, _ dst: String) -> String {
            switch proto {
            case 17 where b.count >= l4 + 4: return "\(src).\(u16(l4)) > \(dst).\(u16(l4 + 2)): UDP"
            case 6 where b.count >= l4 + 4: return "\(src).\(u16(l4)) > \(dst).\(u16(l4 + 2)): TCP"
            case 1: return "\(src) > \(dst): ICMP"
            default: return "\(src) > \(dst): protocol \(proto)"
            }
        }
        let what: String
        switch type {
        case 0x0800 where b.count >= l3 + 20:
            what = "IPv4 " + ports(u8(l3 + 9), l3 + (u8(l3) & 0x0F) * 4, ipv4(l3 + 12), ipv4(l3 + 16))
        case 0x86DD where b.count >= l3 + 40:
            what = "IPv6 " + ports(u8(l3 + 6), l3 + 40, ipv6(l3 + 8), ipv6(l3 + 24))
        case 0x0806 where b.count >= l3 + 28:
            what = "ARP \(u16(l3 + 6) == 1 ? "request who-has \(ipv4(l3 + 24)) tell \(ipv4(l3 + 14))" : "reply \(ipv4(l3 + 14)) is-at \(mac(l3 + 8))")"
        default:
            what = "ethertype 0x" + String(String(0x10000 | type, radix: 16).dropFirst())
        }
        return "\(link), \(what), length \(originalLength)"
    }
}

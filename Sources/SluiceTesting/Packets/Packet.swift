// Packet builders for tests: a fluent, scapy-like way to write the bytes of a test packet.
//
//     let p = Packet.ethernet(dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01")
//         .ipv4(src: "10.0.0.1", dst: "10.0.1.1", ttl: 64)
//         .udp(sport: 1234, dport: 4321)
//         .payload(count: 18)
//     p.bytes  // [UInt8], lengths and checksums filled in
//
// A packet is a list of layers, outermost first. Lengths, next-protocol fields and checksums
// that are left `nil` are computed when `bytes` is read, so a layer added later is accounted for.
// Any of them can be overridden to build malformed packets.

import SluiceRuntime

public struct Packet: Hashable, Sendable, CustomStringConvertible {
    public enum Layer: Hashable, Sendable {
        case ethernet(Ethernet)
        case arp(ARP)
        case ipv4(IPv4)
        case ipv6(IPv6)
        case udp(UDP)
        case tcp(TCP)
        /// Raw bytes: a payload, or a header the builders do not know.
        case raw([UInt8])
    }

    /// Outermost first.
    public var layers: [Layer]
    /// When set, the encoded packet is padded with zero bytes (after everything, so not counted
    /// in any IP or UDP length) to at least this many bytes. See `minimumFrameSize(_:)`.
    public var minimumFrameSize: Int?

    /// The minimum Ethernet frame without its FCS: 64 - 4.
    public static let ethernetMinimumFrameSize = 60

    public init(layers: [Layer] = [], minimumFrameSize: Int? = nil) {
        self.layers = layers
        self.minimumFrameSize = minimumFrameSize
    }

    // MARK: Headers

    /// An 802.1Q tag: TPID, then PCP (3 bits), DEI (1 bit), VID (12 bits). An integer literal is a VID.
    public struct VLANTag: Hashable, Sendable, ExpressibleByIntegerLiteral {
        public var tpid: UInt16
        public var pcp: UInt8
        public var dei: Bool
        public var vid: UInt16
        public init(vid: UInt16, pcp: UInt8 = 0, dei: Bool = false, tpid: UInt16 = 0x8100) {
            self.vid = vid; self.pcp = pcp; self.dei = dei; self.tpid = tpid
        }
        public init(integerLiteral vid: UInt16) { self.init(vid: vid) }
        /// The 16-bit tag control information.
        public var tci: UInt16 { UInt16(pcp & 7) << 13 | (dei ? 0x1000 : 0) | (vid & 0x0FFF) }
        public init(tpid: UInt16 = 0x8100, tci: UInt16) {
            self.init(vid: tci & 0x0FFF, pcp: UInt8(tci >> 13), dei: tci & 0x1000 != 0, tpid: tpid)
        }
    }

    public struct Ethernet: Hashable, Sendable {
        public var dst: MACAddress
        public var src: MACAddress
        /// Tags in wire order (outer first); usually zero or one.
        public var vlans: [VLANTag]
        /// `nil`: from the next layer (IPv4 0x0800, IPv6 0x86DD, ARP 0x0806, otherwise 0x88B5,
        /// the IEEE local experimental EtherType).
        public var etherType: UInt16?
        public init(dst: MACAddress, src: MACAddress, vlans: [VLANTag] = [], etherType: UInt16? = nil) {
            self.dst = dst; self.src = src; self.vlans = vlans; self.etherType = etherType
        }
    }

    /// ARP for IPv4 over Ethernet (RFC 826).
    public struct ARP: Hashable, Sendable {
        public struct Operation: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral {
            public var rawValue: UInt16
            public init(rawValue: UInt16) { self.rawValue = rawValue }
            public init(integerLiteral v: UInt16) { rawValue = v }
            public static let request = Operation(rawValue: 1)
            public static let reply = Operation(rawValue: 2)
        }
        public var hardwareType: UInt16 = 1
        public var protocolType: UInt16 = 0x0800
        public var hardwareLength: UInt8 = 6
        public var protocolLength: UInt8 = 4
        public var operation: Operation
        public var senderMAC: MACAddress
        public var senderIP: IPv4Address
        public var targetMAC: MACAddress
        public var targetIP: IPv4Address
        public init(operation: Operation, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address) {
            self.operation = operation; self.senderMAC = senderMAC; self.senderIP = senderIP
            self.targetMAC = targetMAC; self.targetIP = targetIP
        }
    }

    public struct IPv4: Hashable, Sendable {
        /// The 3-bit flags field.
        public struct Flags: OptionSet, Hashable, Sendable {
            public var rawValue: UInt8
            public init(rawValue: UInt8) { self.rawValue = rawValue & 7 }
            public static let reserved = Flags(rawValue: 4)
            public static let dontFragment = Flags(rawValue: 2)
            public static let moreFragments = Flags(rawValue: 1)
        }
        /// Protocol used when the next layer is neither UDP, TCP, IPv4 nor IPv6 (RFC 3692: experimentation).
        public static let experimentalProtocol: UInt8 = 253

        public var version: UInt8 = 4
        /// `nil`: 5 + options / 4.
        public var ihl: UInt8?
        public var dscp: UInt8 = 0
        public var ecn: UInt8 = 0
        /// `nil`: header plus everything after it.
        public var totalLength: UInt16?
        public var identification: UInt16 = 1
        public var flags: Flags = []
        /// In units of 8 bytes, 13 bits.
        public var fragmentOffset: UInt16 = 0
        public var ttl: UInt8 = 64
        /// `nil`: from the next layer (UDP 17, TCP 6, IPv4 4, IPv6 41, otherwise 253).
        public var `protocol`: UInt8?
        /// `nil`: computed.
        public var checksum: UInt16?
        public var src: IPv4Address
        public var dst: IPv4Address
        /// Raw option bytes, padded with zeros (End of Option List) to a multiple of 4.
        public var options: [UInt8] = []

        public init(src: IPv4Address, dst: IPv4Address) { self.src = src; self.dst = dst }

        /// DSCP (high 6 bits) and ECN (low 2 bits) together.
        public var tos: UInt8 {
            get { (dscp & 0x3F) << 2 | (ecn & 3) }
            set { dscp = newValue >> 2; ecn = newValue & 3 }
        }
    }

    public struct IPv6: Hashable, Sendable {
        public var version: UInt8 = 6
        public var trafficClass: UInt8 = 0
        /// 20 bits.
        public var flowLabel: UInt32 = 0
        /// `nil`: everything after the fixed header.
        public var payloadLength: UInt16?
        /// `nil`: from the next layer (UDP 17, TCP 6, IPv4 4, IPv6 41, otherwise 59: No Next Header).
        public var nextHeader: UInt8?
        public var hopLimit: UInt8 = 64
        public var src: IPv6Address
        public var dst: IPv6Address
        public init(src: IPv6Address, dst: IPv6Address) { self.src = src; self.dst = dst }
    }

    public struct UDP: Hashable, Sendable {
        public var sport: UInt16
        public var dport: UInt16
        /// `nil`: header plus payload.
        public var length: UInt16?
        /// `nil`: computed over the pseudo-header of the nearest enclosing IP layer (0 without one;
        /// a computed 0 is sent as 0xFFFF). Set 0 for "no checksum".
        public var checksum: UInt16?
        public init(sport: UInt16, dport: UInt16, length: UInt16? = nil, checksum: UInt16? = nil) {
            self.sport = sport; self.dport = dport; self.length = length; self.checksum = checksum
        }
    }

    /// TCP flags, 9 bits (NS, now AE, is the 0x100 bit).
    public struct TCPFlags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue & 0x1FF }
        public static let fin = TCPFlags(rawValue: 0x01)
        public static let syn = TCPFlags(rawValue: 0x02)
        public static let rst = TCPFlags(rawValue: 0x04)
        public static let psh = TCPFlags(rawValue: 0x08)
        public static let ack = TCPFlags(rawValue: 0x10)
        public static let urg = TCPFlags(rawValue: 0x20)
        public static let ece = TCPFlags(rawValue: 0x40)
        public static let cwr = TCPFlags(rawValue: 0x80)
        public static let ns = TCPFlags(rawValue: 0x100)
    }

    public struct TCP: Hashable, Sendable {
        public var sport: UInt16
        public var dport: UInt16
        public var seq: UInt32 = 0
        public var ack: UInt32 = 0
        /// `nil`: 5 + options / 4.
        public var dataOffset: UInt8?
        /// The 3 reserved bits between the data offset and the flags.
        public var reserved: UInt8 = 0
        public var flags: TCPFlags = .syn
        public var window: UInt16 = 8192
        /// `nil`: computed over the pseudo-header of the nearest enclosing IP layer (0 without one).
        public var checksum: UInt16?
        public var urgentPointer: UInt16 = 0
        /// Raw option bytes, padded with zeros (End of Option List) to a multiple of 4.
        public var options: [UInt8] = []
        public init(sport: UInt16, dport: UInt16) { self.sport = sport; self.dport = dport }
    }

    /// What `payload(count:fill:)` writes.
    public enum Fill: Hashable, Sendable {
        /// 00 01 02 ... ff 00 01 ... (as PTF's packet helpers do)
        case incrementing
        case byte(UInt8)
    }
}

// MARK: - Fluent API

extension Packet {
    /// Appends a layer.
    public func adding(_ layer: Layer) -> Packet {
        var p = self
        p.layers.append(layer)
        return p
    }

    public static func ethernet(dst: MACAddress, src: MACAddress, etherType: UInt16? = nil, vlan: VLANTag? = nil) -> Packet {
        Packet().ethernet(dst: dst, src: src, etherType: etherType, vlan: vlan)
    }

    public func ethernet(dst: MACAddress, src: MACAddress, etherType: UInt16? = nil, vlan: VLANTag? = nil) -> Packet {
        adding(.ethernet(Ethernet(dst: dst, src: src, vlans: vlan.map { [$0] } ?? [], etherType: etherType)))
    }

    /// ARP for IPv4 over Ethernet. For a request, `targetMAC` is usually zero.
    public func arp(
        _ operation: ARP.Operation = .request,
        senderMAC: MACAddress, senderIP: IPv4Address,
        targetMAC: MACAddress = .zero, targetIP: IPv4Address
    ) -> Packet {
        adding(.arp(ARP(operation: operation, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC, targetIP: targetIP)))
    }

    public static func ipv4(
        src: IPv4Address, dst: IPv4Address,
        tos: UInt8? = nil, dscp: UInt8 = 0, ecn: UInt8 = 0,
        id: UInt16 = 1, flags: IPv4.Flags = [], fragmentOffset: UInt16 = 0,
        ttl: UInt8 = 64, protocol proto: UInt8? = nil, options: [UInt8] = [],
        ihl: UInt8? = nil, totalLength: UInt16? = nil, checksum: UInt16? = nil
    ) -> Packet {
        Packet().ipv4(
            src: src, dst: dst, tos: tos, dscp: dscp, ecn: ecn, id: id, flags: flags, fragmentOffset: fragmentOffset,
            ttl: ttl, protocol: proto, options: options, ihl: ihl, totalLength: totalLength, checksum: checksum)
    }

    /// An IPv4 header. `tos`, when given, overrides `dscp` and `ecn`. `nil` protocol, ihl, total
    /// length and checksum are computed.
    public func ipv4(
        src: IPv4Address, dst: IPv4Address,
        tos: UInt8? = nil, dscp: UInt8 = 0, ecn: UInt8 = 0,
        id: UInt16 = 1, flags: IPv4.Flags = [], fragmentOffset: UInt16 = 0,
        ttl: UInt8 = 64, protocol proto: UInt8? = nil, options: [UInt8] = [],
        ihl: UInt8? = nil, totalLength: UInt16? = nil, checksum: UInt16? = nil
    ) -> Packet {
        var h = IPv4(src: src, dst: dst)
        h.dscp = dscp; h.ecn = ecn
        if let tos { h.tos = tos }
        h.identification = id; h.flags = flags; h.fragmentOffset = fragmentOffset
        h.ttl = ttl; h.protocol = proto; h.options = options
        h.ihl = ihl; h.totalLength = totalLength; h.checksum = checksum
        return adding(.ipv4(h))
    }

    public static func ipv6(
        src: IPv6Address, dst: IPv6Address,
        trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, nextHeader: UInt8? = nil,
        hopLimit: UInt8 = 64, payloadLength: UInt16? = nil
    ) -> Packet {
        Packet().ipv6(
            src: src, dst: dst, trafficClass: trafficClass, flowLabel: flowLabel, nextHeader: nextHeader,
            hopLimit: hopLimit, payloadLength: payloadLength)
    }

    public func ipv6(
        src: IPv6Address, dst: IPv6Address,
        trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, nextHeader: UInt8? = nil,
        hopLimit: UInt8 = 64, payloadLength: UInt16? = nil
    ) -> Packet {
        var h = IPv6(src: src, dst: dst)
        h.trafficClass = trafficClass; h.flowLabel = flowLabel; h.nextHeader = nextHeader
        h.hopLimit = hopLimit; h.payloadLength = payloadLength
        return adding(.ipv6(h))
    }

    /// A UDP header; `checksum: 0` sends no checksum, `nil` computes it.
    public func udp(sport: UInt16, dport: UInt16, length: UInt16? = nil, checksum: UInt16? = nil) -> Packet {
        adding(.udp(UDP(sport: sport, dport: dport, length: length, checksum: checksum)))
    }

    public func tcp(
        sport: UInt16, dport: UInt16, seq: UInt32 = 0, ack: UInt32 = 0,
        flags: TCPFlags = .syn, window: UInt16 = 8192, urgentPointer: UInt16 = 0,
        options: [UInt8] = [], dataOffset: UInt8? = nil, checksum: UInt16? = nil
    ) -> Packet {
        var h = TCP(sport: sport, dport: dport)
        h.seq = seq; h.ack = ack; h.flags = flags; h.window = window; h.urgentPointer = urgentPointer
        h.options = options; h.dataOffset = dataOffset; h.checksum = checksum
        return adding(.tcp(h))
    }

    public static func payload(_ bytes: [UInt8]) -> Packet { Packet().payload(bytes) }

    public func payload(_ bytes: [UInt8]) -> Packet { adding(.raw(bytes)) }

    /// The UTF-8 bytes of `text`.
    public func payload(_ text: String) -> Packet { adding(.raw(Array(text.utf8))) }

    /// `count` bytes of `fill` (by default 00 01 02 ...).
    public func payload(count: Int, fill: Fill = .incrementing) -> Packet {
        switch fill {
        case .incrementing: adding(.raw((0..<count).map { UInt8(truncatingIfNeeded: $0) }))
        case .byte(let b): adding(.raw(Array(repeating: b, count: count)))
        }
    }

    /// Pads the encoded packet with zeros to at least `size` bytes (default 60, the Ethernet
    /// minimum without FCS). The padding is a trailer: IP and UDP lengths do not count it.
    public func minimumFrameSize(_ size: Int = Packet.ethernetMinimumFrameSize) -> Packet {
        var p = self
        p.minimumFrameSize = size
        return p
    }
}

// MARK: - Encoding

extension Packet {
    /// The packet on the wire (without FCS).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for i in layers.indices.reversed() {
            out = encode(layer: i, payload: out)
        }
        if let min = minimumFrameSize, out.count < min {
            out += Array(repeating: 0, count: min - out.count)
        }
        return out
    }

    /// The number of bytes `bytes` has.
    public var count: Int { bytes.count }

    private static func protocolNumber(of layer: Layer?) -> UInt8? {
        switch layer {
        case .udp: 17
        case .tcp: 6
        case .ipv4: 4
        case .ipv6: 41
        default: nil
        }
    }

    /// The sum of the pseudo-header of the IP layer nearest before `index`, for an upper-layer
    /// segment of `length` bytes and protocol `proto`; `nil` when there is no such IP layer.
    private func pseudoHeaderSum(before index: Int, proto: UInt8, length: Int) -> UInt32? {
        for j in layers[..<index].indices.reversed() {
            switch layers[j] {
            case .ipv4(let ip):
                var ph = ip.src.bytes + ip.dst.bytes
                ph += [0, proto]
                ph.append16(UInt16(truncatingIfNeeded: length))
                return InternetChecksum.sum(ph)
            case .ipv6(let ip):
                var ph = ip.src.bytes + ip.dst.bytes
                ph.append32(UInt32(truncatingIfNeeded: length))
                ph += [0, 0, 0, proto]
                return InternetChecksum.sum(ph)
            default: continue
            }
        }
        return nil
    }

    private func encode(layer i: Int, payload: [UInt8]) -> [UInt8] {
        let next = i + 1 < layers.count ? layers[i + 1] : nil
        var h: [UInt8] = []
        switch layers[i] {
        case .raw(let b):
            return b + payload

        case .ethernet(let e):
            h += e.dst.bytes + e.src.bytes
            for tag in e.vlans { h.append16(tag.tpid); h.append16(tag.tci) }
            let inferred: UInt16 = switch next {
            case .ipv4: 0x0800
            case .ipv6: 0x86DD
            case .arp: 0x0806
            default: 0x88B5
            }
            h.append16(e.etherType ?? inferred)

        case .arp(let a):
            h.append16(a.hardwareType); h.append16(a.protocolType)
            h += [a.hardwareLength, a.protocolLength]
            h.append16(a.operation.rawValue)
            h += a.senderMAC.bytes + a.senderIP.bytes + a.targetMAC.bytes + a.targetIP.bytes

        case .ipv4(let ip):
            let options = ip.options.paddedTo4()
            let headerLength = 20 + options.count
            let ihl = ip.ihl ?? {
                precondition(headerLength <= 60, "IPv4 options are \(options.count) bytes; at most 40 fit")
                return UInt8(headerLength / 4)
            }()
            let total = ip.totalLength ?? {
                precondition(headerLength + payload.count <= 0xFFFF, "IPv4 packet longer than 65535 bytes")
                return UInt16(headerLength + payload.count)
            }()
            h += [(ip.version & 0xF) << 4 | (ihl & 0xF), ip.tos]
            h.append16(total)
            h.append16(ip.identification)
            h.append16(UInt16(ip.flags.rawValue) << 13 | (ip.fragmentOffset & 0x1FFF))
            h += [ip.ttl, ip.protocol ?? Packet.protocolNumber(of: next) ?? IPv4.experimentalProtocol]
            h += [0, 0]
            h += ip.src.bytes + ip.dst.bytes + options
            let checksum = ip.checksum ?? InternetChecksum.checksum(h)
            h[10] = UInt8(checksum >> 8); h[11] = UInt8(checksum & 0xFF)

        case .ipv6(let ip):
            let first = UInt32(ip.version & 0xF) << 28 | UInt32(ip.trafficClass) << 20 | (ip.flowLabel & 0xF_FFFF)
            h.append32(first)
            h.append16(ip.payloadLength ?? {
                precondition(payload.count <= 0xFFFF, "IPv6 payload longer than 65535 bytes (jumbograms are not supported)")
                return UInt16(payload.count)
            }())
            h += [ip.nextHeader ?? Packet.protocolNumber(of: next) ?? 59, ip.hopLimit]
            h += ip.src.bytes + ip.dst.bytes

        case .udp(let u):
            let length = 8 + payload.count
            h.append16(u.sport); h.append16(u.dport)
            h.append16(u.length ?? {
                precondition(length <= 0xFFFF, "UDP datagram longer than 65535 bytes")
                return UInt16(length)
            }())
            h += [0, 0]
            let checksum: UInt16 = u.checksum ?? {
                guard let ph = pseudoHeaderSum(before: i, proto: 17, length: length) else { return 0 }
                let c = ~InternetChecksum.fold(InternetChecksum.sum(payload, initial: InternetChecksum.sum(h, initial: ph)))
                return c == 0 ? 0xFFFF : c
            }()
            h[6] = UInt8(checksum >> 8); h[7] = UInt8(checksum & 0xFF)

        case .tcp(let t):
            let options = t.options.paddedTo4()
            let headerLength = 20 + options.count
            let offset = t.dataOffset ?? {
                precondition(headerLength <= 60, "TCP options are \(options.count) bytes; at most 40 fit")
                return UInt8(headerLength / 4)
            }()
            h.append16(t.sport); h.append16(t.dport)
            h.append32(t.seq); h.append32(t.ack)
            h.append16(UInt16(offset & 0xF) << 12 | UInt16(t.reserved & 7) << 9 | t.flags.rawValue)
            h.append16(t.window)
            h += [0, 0]
            h.append16(t.urgentPointer)
            h += options
            let checksum: UInt16 = t.checksum ?? {
                guard let ph = pseudoHeaderSum(before: i, proto: 6, length: h.count + payload.count) else { return 0 }
                return ~InternetChecksum.fold(InternetChecksum.sum(payload, initial: InternetChecksum.sum(h, initial: ph)))
            }()
            h[16] = UInt8(checksum >> 8); h[17] = UInt8(checksum & 0xFF)
        }
        return h + payload
    }

    /// One line a layer, scapy style: "Ethernet(...) / IPv4(...) / UDP(...) / 18 bytes".
    public var description: String {
        var parts: [String] = layers.map { layer in
            switch layer {
            case .ethernet(let e):
                let tags = e.vlans.map { ", vlan: \($0.vid)" + ($0.pcp != 0 ? "/\($0.pcp)" : "") }.joined()
                return "Ethernet(\(e.src) > \(e.dst)\(tags)\(e.etherType.map { ", type: 0x" + String($0, radix: 16) } ?? ""))"
            case .arp(let a):
                return "ARP(\(a.operation == .request ? "request" : a.operation == .reply ? "reply" : "op \(a.operation.rawValue)") \(a.senderMAC) \(a.senderIP) > \(a.targetMAC) \(a.targetIP))"
            case .ipv4(let ip): return "IPv4(\(ip.src) > \(ip.dst), ttl: \(ip.ttl))"
            case .ipv6(let ip): return "IPv6(\(ip.src) > \(ip.dst), hop limit: \(ip.hopLimit))"
            case .udp(let u): return "UDP(\(u.sport) > \(u.dport))"
            case .tcp(let t): return "TCP(\(t.sport) > \(t.dport), flags: 0x\(String(t.flags.rawValue, radix: 16)))"
            case .raw(let b): return "\(b.count) bytes"
            }
        }
        if let min = minimumFrameSize { parts.append("pad to \(min)") }
        return parts.joined(separator: " / ")
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func append16(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(v & 0xFF)) }
    @inline(__always)
    mutating func append32(_ v: UInt32) { append16(UInt16(v >> 16)); append16(UInt16(v & 0xFFFF)) }
    func paddedTo4() -> [UInt8] { count % 4 == 0 ? self : self + Array(repeating: 0, count: 4 - count % 4) }
}

// Decoding test packets for assertions: `parse(bytes).ipv4?.ttl`, `parse(bytes).udp?.checksumValid`.
// Tolerant: a header cut short ends decoding, and everything decoded before it is kept.

import SluiceRuntime

/// The headers found in a packet. A header that is absent or cut short is `nil`.
public struct ParsedPacket: Hashable, Sendable {
    /// Where decoding starts.
    public enum Start: Hashable, Sendable { case ethernet, ipv4, ipv6 }

    public struct Ethernet: Hashable, Sendable {
        public var dst: MACAddress
        public var src: MACAddress
        /// 802.1Q / 802.1ad tags (TPID 0x8100, 0x88A8 or 0x9100), outer first.
        public var vlans: [Packet.VLANTag]
        /// The EtherType after any tags.
        public var etherType: UInt16
        /// The outer tag, if any.
        public var vlan: Packet.VLANTag? { vlans.first }
    }

    public struct ARP: Hashable, Sendable {
        public var hardwareType: UInt16
        public var protocolType: UInt16
        public var hardwareLength: UInt8
        public var protocolLength: UInt8
        public var operation: Packet.ARP.Operation
        public var senderMAC: MACAddress
        public var senderIP: IPv4Address
        public var targetMAC: MACAddress
        public var targetIP: IPv4Address
    }

    public struct IPv4: Hashable, Sendable {
        public var version: UInt8
        public var ihl: UInt8
        public var dscp: UInt8
        public var ecn: UInt8
        public var tos: UInt8 { dscp << 2 | ecn }
        public var totalLength: UInt16
        public var identification: UInt16
        public var flags: Packet.IPv4.Flags
        public var fragmentOffset: UInt16
        public var ttl: UInt8
        public var `protocol`: UInt8
        public var checksum: UInt16
        public var src: IPv4Address
        public var dst: IPv4Address
        /// Empty when the options are cut short.
        public var options: [UInt8]
        /// The header (ihl * 4 bytes) is complete and sums to 0xFFFF.
        public var checksumValid: Bool
    }

    public struct IPv6: Hashable, Sendable {
        public var version: UInt8
        public var trafficClass: UInt8
        public var flowLabel: UInt32
        public var payloadLength: UInt16
        public var nextHeader: UInt8
        public var hopLimit: UInt8
        public var src: IPv6Address
        public var dst: IPv6Address
    }

    public struct UDP: Hashable, Sendable {
        public var sport: UInt16
        public var dport: UInt16
        public var length: UInt16
        public var checksum: UInt16
        /// `nil` when it cannot be checked: no enclosing IP header, the datagram is cut short, or
        /// the checksum is 0 over IPv4 (no checksum). Over IPv6 a 0 checksum is invalid.
        public var checksumValid: Bool?
    }

    public struct TCP: Hashable, Sendable {
        public var sport: UInt16
        public var dport: UInt16
        public var seq: UInt32
        public var ack: UInt32
        public var dataOffset: UInt8
        public var reserved: UInt8
        public var flags: Packet.TCPFlags
        public var window: UInt16
        public var checksum: UInt16
        public var urgentPointer: UInt16
        /// Empty when the options are cut short.
        public var options: [UInt8]
        /// `nil` when it cannot be checked: no enclosing IP header or the segment is cut short.
        public var checksumValid: Bool?
    }

    public var ethernet: Ethernet?
    public var arp: ARP?
    public var ipv4: IPv4?
    public var ipv6: IPv6?
    public var udp: UDP?
    public var tcp: TCP?
    /// The bytes after the last decoded header, up to the end given by the IP (or UDP) length.
    public var payload: [UInt8] = []
    /// Bytes beyond the IP packet (Ethernet padding, for instance).
    public var trailer: [UInt8] = []
    /// A header, or the data an IP or UDP length promises, was cut short.
    public var truncated = false

    public init() {}
}

/// Decodes Ethernet (with VLAN tags), ARP, IPv4, IPv6, UDP and TCP headers. IPv6 extension
/// headers and IP-in-IP are not followed (they end up in `payload`); non-first IPv4 fragments
/// are not decoded past IPv4.
public func parse(_ bytes: [UInt8], from start: ParsedPacket.Start = .ethernet) -> ParsedPacket {
    var r = ParsedPacket()
    var cursor = 0
    var end = bytes.count

    func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) << 16 | UInt32(u16(at + 2)) }
    func have(_ n: Int) -> Bool {
        if cursor + n <= end { return true }
        r.truncated = true
        return false
    }
    func finish() -> ParsedPacket {
        r.payload = Array(bytes[Swift.min(cursor, end)..<end])
        return r
    }

    var next: ParsedPacket.Start? = start
    if start == .ethernet {
        guard have(14) else { return finish() }
        let dst = MACAddress(bytes: Array(bytes[0..<6])), src = MACAddress(bytes: Array(bytes[6..<12]))
        cursor = 12
        var vlans: [Packet.VLANTag] = []
        var type = u16(cursor)
        while [0x8100, 0x88A8, 0x9100].contains(type) {
            guard have(6) else {
                r.ethernet = ParsedPacket.Ethernet(dst: dst, src: src, vlans: vlans, etherType: type)
                return finish()
            }
            vlans.append(Packet.VLANTag(tpid: type, tci: u16(cursor + 2)))
            cursor += 4
            type = u16(cursor)
        }
        cursor += 2
        r.ethernet = ParsedPacket.Ethernet(dst: dst, src: src, vlans: vlans, etherType: type)
        switch type {
        case 0x0800: next = .ipv4
        case 0x86DD: next = .ipv6
        case 0x0806:
            next = nil
            guard have(28) else { return finish() }
            let c = cursor
            r.arp = ParsedPacket.ARP(
                hardwareType: u16(c), protocolType: u16(c + 2), hardwareLength: bytes[c + 4], protocolLength: bytes[c + 5],
                operation: .init(rawValue: u16(c + 6)),
                senderMAC: MACAddress(bytes: Array(bytes[c + 8..<c + 14])), senderIP: IPv4Address(value: u32(c + 14)),
                targetMAC: MACAddress(bytes: Array(bytes[c + 18..<c + 24])), targetIP: IPv4Address(value: u32(c + 24)))
            cursor += 28
            r.trailer = Array(bytes[cursor...])
            end = cursor
            return finish()
        default: next = nil
        }
    }

    // The network layer, and what it says comes next.
    var l4: UInt8? = nil
    var pseudo: ((UInt8, Int) -> UInt32)? = nil
    var isIPv6 = false
    switch next {
    case .ipv4:
        guard have(20) else { return finish() }
        let c = cursor
        let ihl = bytes[c] & 0xF
        let headerLength = Int(ihl) * 4
        let total = u16(c + 2)
        let headerComplete = headerLength >= 20 && c + headerLength <= end
        let ip = ParsedPacket.IPv4(
            version: bytes[c] >> 4, ihl: ihl, dscp: bytes[c + 1] >> 2, ecn: bytes[c + 1] & 3,
            totalLength: total, identification: u16(c + 4),
            flags: Packet.IPv4.Flags(rawValue: bytes[c + 6] >> 5), fragmentOffset: u16(c + 6) & 0x1FFF,
            ttl: bytes[c + 8], protocol: bytes[c + 9], checksum: u16(c + 10),
            src: IPv4Address(value: u32(c + 12)), dst: IPv4Address(value: u32(c + 16)),
            options: headerComplete ? Array(bytes[c + 20..<c + headerLength]) : [],
            checksumValid: headerComplete && InternetChecksum.checksum(Array(bytes[c..<c + headerLength])) == 0)
        r.ipv4 = ip
        guard headerComplete else { r.truncated = true; return finish() }
        // The packet ends where the total length says, unless it says something impossible.
        if Int(total) >= headerLength {
            if c + Int(total) <= end {
                r.trailer = Array(bytes[(c + Int(total))..<end]); end = c + Int(total)
            } else { r.truncated = true }
        }
        cursor += headerLength
        if ip.fragmentOffset == 0 { l4 = ip.protocol }
        pseudo = { proto, length in
            var ph = ip.src.bytes + ip.dst.bytes + [0, proto]
            ph.append16(UInt16(truncatingIfNeeded: length))
            return InternetChecksum.sum(ph)
        }
    case .ipv6:
        guard have(40) else { return finish() }
        let c = cursor
        let first = u32(c)
        let ip = ParsedPacket.IPv6(
            version: UInt8(first >> 28), trafficClass: UInt8((first >> 20) & 0xFF), flowLabel: first & 0xF_FFFF,
            payloadLength: u16(c + 4), nextHeader: bytes[c + 6], hopLimit: bytes[c + 7],
            src: IPv6Address(bytes: Array(bytes[c + 8..<c + 24])), dst: IPv6Address(bytes: Array(bytes[c + 24..<c + 40])))
        r.ipv6 = ip
        cursor += 40
        let length = Int(ip.payloadLength)
        if length > 0 {  // 0: a jumbogram, or nonsense; take what is there
            if cursor + length <= end {
                r.trailer = Array(bytes[(cursor + length)..<end]); end = cursor + length
            } else { r.truncated = true }
        }
        l4 = ip.nextHeader
        isIPv6 = true
        pseudo = { proto, length in
            var ph = ip.src.bytes + ip.dst.bytes
            ph.append32(UInt32(truncatingIfNeeded: length))
            ph += [0, 0, 0, proto]
            return InternetChecksum.sum(ph)
        }
    default:
        break
    }

    /// Checks the checksum of the segment `from..<to` (nil if cut short or no IP layer).
    func verify(_ proto: UInt8, from: Int, to: Int) -> Bool? {
        guard let pseudo, to <= bytes.count, from <= to else { return nil }
        let segment = Array(bytes[from..<to])
        return InternetChecksum.fold(InternetChecksum.sum(segment, initial: pseudo(proto, segment.count))) == 0xFFFF
    }

    switch l4 {
    case 17:
        guard have(8) else { return finish() }
        let c = cursor
        let length = u16(c + 4)
        let checksum = u16(c + 6)
        var valid: Bool? = nil
        if Int(length) >= 8 && c + Int(length) <= end {
            valid = (checksum == 0 && !isIPv6) ? nil : verify(17, from: c, to: c + Int(length))
            if c + Int(length) < end { r.trailer = Array(bytes[(c + Int(length))..<end]) + r.trailer; end = c + Int(length) }
        } else if Int(length) > end - c {
            r.truncated = true
        }
        r.udp = ParsedPacket.UDP(sport: u16(c), dport: u16(c + 2), length: length, checksum: checksum, checksumValid: valid)
        cursor += 8
    case 6:
        guard have(20) else { return finish() }
        let c = cursor
        let offset = bytes[c + 12] >> 4
        let headerLength = Int(offset) * 4
        let complete = headerLength >= 20 && c + headerLength <= end
        // Verifiable only when the IP layer's length was honoured (the segment is whole).
        r.tcp = ParsedPacket.TCP(
            sport: u16(c), dport: u16(c + 2), seq: u32(c + 4), ack: u32(c + 8),
            dataOffset: offset, reserved: (bytes[c + 12] >> 1) & 7,
            flags: Packet.TCPFlags(rawValue: u16(c + 12) & 0x1FF), window: u16(c + 14),
            checksum: u16(c + 16), urgentPointer: u16(c + 18),
            options: complete ? Array(bytes[c + 20..<c + headerLength]) : [],
            checksumValid: r.truncated ? nil : verify(6, from: c, to: end))
        guard complete else { r.truncated = true; return finish() }
        cursor += headerLength
    default:
        break
    }
    return finish()
}

// Address value types for building and checking test packets: MAC, IPv4 and IPv6, parsed from
// and printed to their usual text forms.

import SluiceSupport

/// Why an address did not parse; `text` is the whole text given.
public struct AddressParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable { case mac = "MAC", ipv4 = "IPv4", ipv6 = "IPv6" }
    public var kind: Kind
    public var text: String
    public var reason: String
    public init(_ kind: Kind, _ text: String, _ reason: String) {
        self.kind = kind; self.text = text; self.reason = reason
    }
    public var description: String { "invalid \(kind.rawValue) address '\(text)': \(reason)" }
}

@inline(__always)
private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

// MARK: - MAC

/// A 48-bit IEEE 802 MAC address; `value` holds it in the low 48 bits, first octet highest.
/// Text form: six colon- or hyphen-separated octets of one or two hex digits ("0:1b:2c:..").
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var value: UInt64

    public static let zero = MACAddress(value: 0)
    public static let broadcast = MACAddress(value: 0xFFFF_FFFF_FFFF)

    /// The low 48 bits of `value`.
    public init(value: UInt64) { self.value = value & 0xFFFF_FFFF_FFFF }

    /// From exactly six octets.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 6, "a MAC address has 6 octets, not \(bytes.count)")
        self.value = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public init(_ text: String) throws(AddressParseError) {
        let fail = { (reason: String) in AddressParseError(.mac, text, reason) }
        let separator: Character = text.contains("-") && !text.contains(":") ? "-" : ":"
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        guard parts.count == 6 else { throw fail("expected 6 octets separated by '\(separator)', found \(parts.count) parts") }
        var v: UInt64 = 0
        for part in parts {
            guard (1...2).contains(part.utf8.count) else { throw fail("octet '\(part)' is not 1 or 2 hex digits") }
            var octet: UInt64 = 0
            for c in part.utf8 {
                guard let d = hexValue(c) else { throw fail("octet '\(part)' is not hex") }
                octet = octet << 4 | UInt64(d)
            }
            v = v << 8 | octet
        }
        self.value = v
    }

    /// A string literal must be a valid address (a bad literal is a programming error and traps).
    public init(stringLiteral text: String) {
        do { try self.init(text) } catch { fatalError(error.description) }
    }

    /// Big-endian, 6 octets.
    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * $0)) } }
    public var isBroadcast: Bool { value == 0xFFFF_FFFF_FFFF }
    public var isMulticast: Bool { value & 0x0100_0000_0000 != 0 }

    /// Lowercase, colon-separated, two digits an octet.
    public var description: String { macText(value) }

    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.value < b.value }
}

// MARK: - IPv4

/// An IPv4 address; `value` is the address as a big-endian number (10.0.0.1 = 0x0A000001).
/// Text form: strict dotted decimal, four octets 0...255, no leading zeros ("010" is refused
/// because it is octal for `inet_aton`).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var value: UInt32

    public static let any = IPv4Address(value: 0)
    public static let broadcast = IPv4Address(value: 0xFFFF_FFFF)

    public init(value: UInt32) { self.value = value }
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4, "an IPv4 address has 4 octets, not \(bytes.count)")
        self.init(bytes[0], bytes[1], bytes[2], bytes[3])
    }

    public init(_ text: String) throws(AddressParseError) {
        value = try IPv4Address.parseDotted(Substring(text), fail: { AddressParseError(.ipv4, text, $0) })
    }

    /// Shared with IPv6's embedded-IPv4 form; throws what `fail` makes.
    static func parseDotted(_ text: Substring, fail: (String) -> AddressParseError) throws(AddressParseError) -> UInt32 {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw fail("expected 4 dotted decimal octets, found \(parts.count) parts") }
        var v: UInt32 = 0
        for part in parts {
            guard !part.isEmpty else { throw fail("empty octet") }
            guard part.utf8.count <= 3, part.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                throw fail("octet '\(part)' is not a decimal number 0...255")
            }
            guard !(part.utf8.count > 1 && part.utf8.first == UInt8(ascii: "0")) else {
                throw fail("octet '\(part)' has a leading zero")
            }
            let octet = part.utf8.reduce(0) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
            guard octet <= 255 else { throw fail("octet '\(part)' is greater than 255") }
            v = v << 8 | octet
        }
        return v
    }

    public init(stringLiteral text: String) {
        do { try self.init(text) } catch { fatalError(error.description) }
    }

    public var bytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    public var description: String { ipv4Text(value) }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

// MARK: - IPv6

/// An IPv6 address; `value` is the address as a big-endian 128-bit number.
/// Parses every RFC 4291 §2.2 text form: eight groups of 1-4 hex digits, one `::` standing for
/// one or more zero groups, and a trailing dotted-quad IPv4 address in place of the last two
/// groups ("::ffff:10.0.0.1", "64:ff9b::192.0.2.1"). Zone indices ("%eth0") and prefixes are
/// refused. `description` is the RFC 5952 canonical form.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var value: UInt128

    public static let unspecified = IPv6Address(value: 0)
    public static let loopback = IPv6Address(value: 1)

    public init(value: UInt128) { self.value = value }

    /// From exactly sixteen octets.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "an IPv6 address has 16 octets, not \(bytes.count)")
        value = bytes.reduce(0) { $0 << 8 | UInt128($1) }
    }

    /// From eight 16-bit groups.
    public init(groups: [UInt16]) {
        precondition(groups.count == 8, "an IPv6 address has 8 groups, not \(groups.count)")
        value = groups.reduce(0) { $0 << 16 | UInt128($1) }
    }

    /// The IPv4-mapped address ::ffff:a.b.c.d.
    public init(ipv4Mapped v4: IPv4Address) { value = 0xFFFF_0000_0000 | UInt128(v4.value) }

    public init(_ text: String) throws(AddressParseError) {
        let fail = { (reason: String) in AddressParseError(.ipv6, text, reason) }
        if text.contains("%") { throw fail("zone indices are not supported") }
        if text.contains("/") { throw fail("a prefix length is not part of an address") }
        guard !text.isEmpty else { throw fail("empty") }

        // Split around the (single) "::".
        var head: [Substring] = []
        var tail: [Substring] = []
        var compressed = false
        if let r = text.firstRange(of: "::") {
            compressed = true
            let before = text[..<r.lowerBound], after = text[r.upperBound...]
            if after.contains("::") || after.hasPrefix(":") { throw fail("'::' may appear only once") }
            head = before.isEmpty ? [] : before.split(separator: ":", omittingEmptySubsequences: false)
            tail = after.isEmpty ? [] : after.split(separator: ":", omittingEmptySubsequences: false)
        } else {
            head = text.split(separator: ":", omittingEmptySubsequences: false)
        }

        func groups(_ parts: [Substring], allowIPv4Last: Bool) throws(AddressParseError) -> [UInt16] {
            var out: [UInt16] = []
            for (i, part) in parts.enumerated() {
                if part.contains(".") {
                    guard allowIPv4Last, i == parts.count - 1 else {
                        throw fail("an embedded IPv4 address '\(part)' may only end the address")
                    }
                    let v4 = try IPv4Address.parseDotted(part, fail: { fail("embedded IPv4 address '\(part)': \($0)") })
                    out.append(UInt16(truncatingIfNeeded: v4 >> 16)); out.append(UInt16(truncatingIfNeeded: v4))
                    continue
                }
                guard !part.isEmpty else { throw fail("empty group (a lone ':' at the start or end, or ':::')") }
                guard part.utf8.count <= 4 else { throw fail("group '\(part)' has more than 4 hex digits") }
                var g: UInt16 = 0
                for c in part.utf8 {
                    guard let d = hexValue(c) else { throw fail("group '\(part)' is not hex") }
                    g = g << 4 | UInt16(d)
                }
                out.append(g)
            }
            return out
        }

        let h = try groups(head, allowIPv4Last: !compressed)
        let t = try groups(tail, allowIPv4Last: true)
        let all: [UInt16]
        if compressed {
            guard h.count + t.count <= 7 else { throw fail("'::' must stand for at least one zero group, but \(h.count + t.count) groups are given") }
            all = h + Array(repeating: 0, count: 8 - h.count - t.count) + t
        } else {
            guard h.count == 8 else { throw fail("expected 8 groups, found \(h.count)") }
            all = h
        }
        self.init(groups: all)
    }

    public init(stringLiteral text: String) {
        do { try self.init(text) } catch { fatalError(error.description) }
    }

    public var bytes: [UInt8] { (0..<16).map { UInt8(truncatingIfNeeded: value >> (120 - 8 * $0)) } }
    public var groups: [UInt16] { (0..<8).map { UInt16(truncatingIfNeeded: value >> (112 - 16 * $0)) } }
    public var isIPv4Mapped: Bool { value >> 32 == 0xFFFF }

    /// RFC 5952: lowercase, no leading zeros, the longest run (first if tied) of two or more zero
    /// groups as "::"; IPv4-mapped addresses end in dotted decimal.
    public var description: String {
        let g = groups
        if isIPv4Mapped {
            return "::ffff:" + IPv4Address(value: UInt32(truncatingIfNeeded: value)).description
        }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ x: UInt16) -> String { String(x, radix: 16) }
        if bestLen < 2 { return g.map(hex).joined(separator: ":") }
        let left = g[..<bestStart].map(hex).joined(separator: ":")
        let right = g[(bestStart + bestLen)...].map(hex).joined(separator: ":")
        return left + "::" + right
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { a.value < b.value }
}

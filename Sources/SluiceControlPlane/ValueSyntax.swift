import Foundation

/// Values as people write them in entries files and on the command line: decimal, `0x` hex,
/// `0b` binary, MAC `00:11:22:33:44:55`, IPv4 `10.0.0.1`, IPv6 `2001:db8::1`.
public enum ValueSyntax {
    public static func parse(_ s: String) -> UInt128? {
        if s.isEmpty { return nil }
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt128(s.dropFirst(2).replacingOccurrences(of: "_", with: ""), radix: 16) }
        if s.hasPrefix("0b") || s.hasPrefix("0B") { return UInt128(s.dropFirst(2).replacingOccurrences(of: "_", with: ""), radix: 2) }
        if let v = UInt128(s, radix: 10) { return v }
        if let v = ipv4(s) { return UInt128(v) }
        if let v = mac(s) { return UInt128(v) }
        if let v = ipv6(s) { return v }
        return nil
    }

    public static func ipv4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, let b = UInt8(p) else { return nil }
            v = v << 8 | UInt32(b)
        }
        return v
    }

    public static func mac(_ s: String) -> UInt64? {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var v: UInt64 = 0
        for p in parts {
            guard p.count == 2 || p.count == 1, let b = UInt8(p, radix: 16) else { return nil }
            v = v << 8 | UInt64(b)
        }
        return v
    }

    public static func ipv6(_ s: String) -> UInt128? {
        guard s.contains(":") else { return nil }
        var text = Substring(s)
        var tail: [UInt16] = []
        // Embedded IPv4 in the last 32 bits.
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = ipv4(String(text[text.index(after: lastColon)...])) else { return nil }
            tail = [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        func groups(_ t: Substring) -> [UInt16]? {
            if t.isEmpty { return [] }
            var out: [UInt16] = []
            for g in t.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        var words: [UInt16]
        if let r = text.range(of: "::") {
            guard let head = groups(text[..<r.lowerBound]), let rest = groups(text[r.upperBound...]) else { return nil }
            if text[r.upperBound...].contains("::") { return nil }
            let fill = 8 - head.count - rest.count - tail.count
            guard fill >= 1 else { return nil }
            words = head + Array(repeating: 0, count: fill) + rest + tail
        } else {
            guard let all = groups(text) else { return nil }
            words = all + tail
        }
        guard words.count == 8 else { return nil }
        return words.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }
}

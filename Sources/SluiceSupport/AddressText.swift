/// The text forms of addresses held as numbers, for reports, messages and test packets: one
/// formatter of each, so every module prints an address alike.

/// An IPv4 address (host order, 10.0.0.1 = 0x0A000001) in dotted decimal.
public func ipv4Text(_ a: UInt32) -> String { "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)" }

/// A MAC address (the low 48 bits, first octet highest): lowercase, colon-separated, two digits
/// an octet.
public func macText(_ m: UInt64) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    for i in 0..<6 {
        let b = Int(truncatingIfNeeded: m >> UInt64(40 - 8 * i)) & 255
        if i > 0 { s.append(":") }
        s.append(digits[b >> 4]); s.append(digits[b & 15])
    }
    return s
}

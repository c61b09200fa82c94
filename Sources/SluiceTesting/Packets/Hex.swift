// Hex text <-> bytes, for writing expected packets by hand and for readable failure messages.
import SluiceSupport
import SluiceRuntime

/// Why hex text did not parse; `token` is the offending whitespace-separated token.
public struct HexParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var token: String
    public var reason: String
    /// 1-based line of the token in the text.
    public var line: Int
    public init(token: String, reason: String, line: Int) { self.token = token; self.reason = reason; self.line = line }
    public var description: String { "invalid hex token '\(token)' on line \(line): \(reason)" }
}

extension Array where Element == UInt8 {
    /// Parses hex text: tokens separated by any whitespace (spaces, tabs, newlines), each an even
    /// number of hex digits ("00 01 f2 03", "0001f203", "00 0102 03"), optionally prefixed "0x".
    /// `#` starts a comment that runs to the end of the line, for annotating expected packets.
    public init(hex text: String) throws(HexParseError) {
        var out: [UInt8] = []
        for (n, line) in FileIO.lines(text).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for token in content.split(whereSeparator: { $0.isWhitespace }) {
                var digits = Substring(token)
                if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
                guard !digits.isEmpty, digits.utf8.count % 2 == 0 else {
                    throw HexParseError(token: String(token), reason: "odd number of hex digits", line: n + 1)
                }
                var high: UInt8? = nil
                for c in digits.utf8 {
                    let d: UInt8
                    switch c {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                    case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                    default: throw HexParseError(token: String(token), reason: "not a hex digit", line: n + 1)
                    }
                    if let h = high { out.append(h << 4 | d); high = nil } else { high = d }
                }
            }
        }
        self = out
    }

    /// Lowercase hex, two digits a byte, joined by `separator` ("" gives "0001f203").
    public func hexString(separator: String = " ") -> String {
        map { b in
            let d: [Character] = Swift.Array("0123456789abcdef")
            return String([d[Int(b >> 4)], d[Int(b & 15)]])
        }.joined(separator: separator)
    }
}

/// A classic hex dump: offset, 16 bytes in two groups of 8, printable ASCII.
///
///     0000  00 00 00 00 01 01 00 00  00 00 00 01 08 00 45 00  ..............E.
public func hexdump(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    func hex(_ v: Int, width: Int) -> String {
        String((0..<width).reversed().map { digits[(v >> (4 * $0)) & 15] })
    }
    var lines: [String] = []
    var offset = 0
    while offset < bytes.count {
        let row = bytes[offset..<Swift.min(offset + 16, bytes.count)]
        var line = hex(offset, width: 4) + "  "
        for (i, b) in row.enumerated() {
            line += hex(Int(b), width: 2) + " "
            if i == 7 { line += " " }
        }
        let used = row.count * 3 + (row.count > 8 ? 1 : 0)
        line += String(repeating: " ", count: 49 - used + 1)
        line += String(row.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." })
        lines.append(line)
        offset += 16
    }
    return lines.joined(separator: "\n")
}

import SluiceIR

/// Quantities with explicit units, as topology files write them: rates (`100Gbps`), times
/// (`1.5us`), sizes (`4MiB`), queue limits (`4MB` or `1000p`) and probabilities (`0.001`, `0.1%`).
///
/// Decimals are read as integers (`1.5us` is 15 tenths of a microsecond, then scaled), so every
/// conversion is exact or refused: `1.5us` is exactly 1,500,000 ps and `0.5ps` is an error, never
/// a rounded 0 or 1. A value that does not fit is an error too, never a wrapped number.
public enum Units {
    /// Why a value was refused: what is wrong, and what would be valid (the units, or a range).
    public struct Problem: Error, CustomStringConvertible, Hashable, Sendable {
        public var message: String
        public var valid: String
        public init(_ message: String, valid: String) { self.message = message; self.valid = valid }
        /// `unknown unit 'Gbs' in '100Gbs' (valid: bps, Kbps, Mbps, Gbps, Tbps)`.
        public var description: String { "\(message) (valid: \(valid))" }
    }

    /// A queue limit counts bytes or packets.
    public enum Limit: Hashable, Sendable {
        case bytes(Int)
        case packets(Int)
    }

    static let rateUnits: [(String, UInt64)] = [
        ("bps", 1), ("Kbps", 1_000), ("Mbps", 1_000_000), ("Gbps", 1_000_000_000), ("Tbps", 1_000_000_000_000),
    ]
    static let timeUnits: [(String, UInt64)] = [
        ("ps", 1), ("ns", 1_000), ("us", 1_000_000), ("ms", 1_000_000_000), ("s", 1_000_000_000_000),
    ]
    static let sizeUnits: [(String, UInt64)] = [
        ("B", 1), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000),
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
    ]
    static let packetUnits = ["p", "packets", "packet"]

    static var rateValid: String { rateUnits.map(\.0).joined(separator: ", ") }
    static var timeValid: String { timeUnits.map(\.0).joined(separator: ", ") }
    static var sizeValid: String { sizeUnits.map(\.0).joined(separator: ", ") }
    static var limitValid: String { sizeValid + ", p, packets" }
    static let probabilityValid = "a number from 0 to 1, or a percentage such as 0.1%"

    /// A rate in bits per second; it must be positive and carry a unit.
    public static func rate(_ text: String) throws(Problem) -> UInt64 {
        let v = try quantity(text, units: rateUnits, valid: rateValid, unitRequired: true, what: "bits per second")
        guard v > 0 else { throw Problem("'\(text)' is not positive", valid: "a rate above 0 in " + rateValid) }
        return v
    }

    /// A time (or duration) in picoseconds, at least 0. A bare `0` needs no unit.
    public static func time(_ text: String) throws(Problem) -> Int64 {
        let v = try quantity(text, units: timeUnits, valid: timeValid, unitRequired: true, what: "picoseconds")
        guard v <= UInt64(Int64.max) else { throw Problem("'\(text)' is too large", valid: timeValid) }
        return Int64(v)
    }

    /// A size in bytes, at least 0; a plain integer is bytes.
    public static func size(_ text: String) throws(Problem) -> Int {
        let v = try quantity(text, units: sizeUnits, valid: sizeValid, unitRequired: false, what: "bytes")
        guard v <= UInt64(Int.max) else { throw Problem("'\(text)' is too large", valid: sizeValid) }
        return Int(v)
    }

    /// A queue limit: a size (`4MB`, `1500B`, `65536`) or a packet count (`1000p`, `1000 packets`).
    public static func queueLimit(_ text: String) throws(Problem) -> Limit {
        let (number, unit) = split(text)
        if packetUnits.contains(String(unit)) {
            let v = try scale(text, number: number, by: 1, valid: limitValid, what: "packets")
            guard v <= UInt64(Int.max) else { throw Problem("'\(text)' is too large", valid: limitValid) }
            return .packets(Int(v))
        }
        let v = try quantity(text, units: sizeUnits, valid: limitValid, unitRequired: false, what: "bytes")
        guard v <= UInt64(Int.max) else { throw Problem("'\(text)' is too large", valid: limitValid) }
        return .bytes(Int(v))
    }

    /// A probability from 0 to 1: `0.001`, `1`, or a percentage `0.1%`.
    public static func probability(_ text: String) throws(Problem) -> Double {
        var t = Substring(trimmed(text))
        var percent = false
        if t.hasSuffix("%") { percent = true; t = t.dropLast() }
        if t.hasSuffix(" ") { t = Substring(trimmed(String(t))) }
        // A percentage is read as the decimal `x e-2`: rounded once, so 0.1% == 0.001.
        guard isDecimal(t), let p = Double(String(t).filter { $0 != "_" } + (percent ? "e-2" : "")) else {
            if t.hasPrefix("-") { throw Problem("'\(text)' is negative", valid: probabilityValid) }
            throw Problem("'\(text)' is not a probability", valid: probabilityValid)
        }
        guard p <= 1 else { throw Problem("'\(text)' is above 1", valid: probabilityValid) }
        return p
    }

    // MARK: parsing

    /// Splits `"1.5 us"` into `("1.5", "us")`: the number is the leading digits, `_` and `.`.
    static func split(_ text: String) -> (number: Substring, unit: Substring) {
        let t = Substring(trimmed(text))
        var i = t.startIndex
        if i < t.endIndex, t[i] == "-" || t[i] == "+" { i = t.index(after: i) }
        while i < t.endIndex, t[i].isASCII, t[i].isNumber || t[i] == "." || t[i] == "_" { i = t.index(after: i) }
        var u = t[i...]
        while u.first == " " { u = u.dropFirst() }
        return (t[..<i], u)
    }

    static func quantity(_ text: String, units: [(String, UInt64)], valid: String, unitRequired: Bool, what: String) throws(Problem) -> UInt64 {
        let (number, unit) = split(text)
        let multiplier: UInt64
        if unit.isEmpty {
            // A bare zero needs no unit: `delay: 0`.
            if unitRequired && !(isDecimal(number) && number.allSatisfy { $0 == "0" || $0 == "." || $0 == "_" }) {
                if isDecimal(number) { throw Problem("'\(text)' has no unit", valid: valid) }
                throw Problem("'\(text)' is not a number with a unit", valid: valid)
            }
            multiplier = 1
        } else if let m = units.first(where: { $0.0 == unit })?.1 {
            multiplier = m
        } else if number.isEmpty || number == "-" || number == "+" {
            throw Problem("'\(text)' is not a number with a unit", valid: valid)
        } else if let mean = Suggest.didYouMean(String(unit), units.map(\.0), maxDistance: 0) {
            // Suggested only when the case alone differs (`gbps` for `Gbps`).
            throw Problem("unknown unit '\(unit)' in '\(text)'; \(mean)", valid: valid)
        } else {
            throw Problem("unknown unit '\(unit)' in '\(text)'", valid: valid)
        }
        return try scale(text, number: number, by: multiplier, valid: valid, what: what)
    }

    /// `number * multiplier`, exactly: digits after the point are an integer over a power of ten.
    static func scale(_ text: String, number: Substring, by multiplier: UInt64, valid: String, what: String) throws(Problem) -> UInt64 {
        if number.hasPrefix("-") && isDecimal(number.dropFirst()) { throw Problem("'\(text)' is negative", valid: valid) }
        guard isDecimal(number) else {
            throw Problem(number.isEmpty ? "'\(text)' is not a number with a unit" : "'\(text)' is not a number", valid: valid)
        }
        let digits = number.filter { $0 != "_" }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
        let tooLarge = Problem("'\(text)' is too large", valid: valid)
        var value: UInt64 = 0
        for c in whole {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c.asciiValue! - 48))
            if o1 || o2 { throw tooLarge }
            value = a
        }
        let (scaled, o) = value.multipliedReportingOverflow(by: multiplier)
        if o { throw tooLarge }
        // The fraction: numerator / 10^digits, times the multiplier, must be a whole number.
        var fractionDigits = Substring(fraction)
        while fractionDigits.last == "0" { fractionDigits = fractionDigits.dropLast() }
        if fractionDigits.isEmpty { return scaled }
        var numerator: UInt64 = 0, denominator: UInt64 = 1
        for c in fractionDigits {
            let (m, o1) = numerator.multipliedReportingOverflow(by: 10)
            let (d, o2) = denominator.multipliedReportingOverflow(by: 10)
            if o1 || o2 { throw Problem("'\(text)' has too many digits after the point", valid: valid) }
            numerator = m + UInt64(c.asciiValue! - 48); denominator = d
        }
        let product = numerator.multipliedFullWidth(by: multiplier)
        let (q, r) = denominator.dividingFullWidth(product)
        guard r == 0 else { throw Problem("'\(text)' is not a whole number of \(what)", valid: valid) }
        let (sum, o3) = scaled.addingReportingOverflow(q)
        if o3 { throw tooLarge }
        return sum
    }

    /// Digits with optional `_` separators between them and at most one `.`.
    static func isDecimal(_ s: Substring) -> Bool {
        var dots = 0, digits = 0
        for c in s {
            if c == "." { dots += 1 } else if c.isASCII && c.isNumber { digits += 1 } else if c != "_" { return false }
        }
        return dots <= 1 && digits > 0 && s.first != "_" && s.last != "_"
    }

    /// Without leading and trailing spaces and tabs (no Foundation).
    static func trimmed(_ text: String) -> String {
        var s = Substring(text)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}

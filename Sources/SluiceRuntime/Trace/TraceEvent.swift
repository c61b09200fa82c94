import Foundation

/// One line of a pipeline trace: what happened (`event`, a snake_case kind), how deep in the
/// pipeline it happened (`depth`: 0 the packet, 1 a stage, 2 and on what runs inside it), the
/// readable line and the same facts as JSON fields. Traces are for people debugging a program:
/// built only by a traced pipeline, never on the untraced packet path.
public struct TraceEvent: Sendable {
    public var event: String
    public var depth: Int
    public var text: String
    public var fields: [(key: String, value: TraceValue)]

    public init(_ event: String, depth: Int, text: String, _ fields: [(key: String, value: TraceValue)] = []) {
        self.event = event; self.depth = depth; self.text = text; self.fields = fields
    }
}

/// A JSON value of a trace line.
public enum TraceValue: Sendable, Encodable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case strings([(String, String)])
    case list([String])

    public static func == (a: TraceValue, b: TraceValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.list(let x), .list(let y)): x == y
        case (.strings(let x), .strings(let y)): x.elementsEqual(y) { $0 == $1 }
        default: false
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .int(let n): var c = encoder.singleValueContainer(); try c.encode(n)
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .list(let l): var c = encoder.singleValueContainer(); try c.encode(l)
        case .strings(let pairs):
            var c = encoder.container(keyedBy: TraceKey.self)
            for (k, v) in pairs { try c.encode(v, forKey: TraceKey(k)) }
        }
    }
}

struct TraceKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// One JSON line: the packet's context, then the event's own fields (keys sorted).
struct TraceLine: Encodable {
    var context: [(key: String, value: TraceValue)]
    var event: TraceEvent
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: TraceKey.self)
        for (k, v) in context { try c.encode(v, forKey: TraceKey(k)) }
        try c.encode(event.event, forKey: TraceKey("event"))
        try c.encode(event.depth, forKey: TraceKey("depth"))
        for (k, v) in event.fields { try c.encode(v, forKey: TraceKey(k)) }
    }
}

/// How trace lines show values: by width and name, as people read them in a program's headers.
public enum TraceValueText {
    /// 48 bits: a MAC address; 32 bits named like an address: an IPv4 address; up to 9 bits
    /// (ports, TTLs, protocols, flags) and 16-bit fields named ...port: decimal; wider: hex with every digit of the width.
    public static func format(_ v: UInt128, width: Int, name: String) -> String {
        let lower = name.lowercased()
        if width == 48 && (lower.contains("addr") || lower.contains("mac") || lower.hasSuffix("src") || lower.hasSuffix("dst")) {
            return (0..<6).map { i in hex2(UInt8(truncatingIfNeeded: v >> UInt128(40 - 8 * i))) }.joined(separator: ":")
        }
        if width == 32 && (lower.contains("addr") || lower.contains("ip") || lower.hasSuffix("src") || lower.hasSuffix("dst")) {
            return (0..<4).map { i in String(UInt8(truncatingIfNeeded: v >> UInt128(24 - 8 * i))) }.joined(separator: ".")
        }
        if width <= 9 || (width <= 16 && lower.hasSuffix("port")) { return String(v) }
        let digits = String(v, radix: 16)
        let pad = max(0, (width + 3) / 4 - digits.count)
        return "0x" + String(repeating: "0", count: pad) + digits
    }

    static func hex2(_ b: UInt8) -> String { b < 16 ? "0" + String(b, radix: 16) : String(b, radix: 16) }

    /// Bytes as hex, at most `limit` of them, then how many more there are.
    public static func bytes(_ p: UnsafePointer<UInt8>, count: Int, limit: Int = 128) -> String {
        var s = ""
        s.reserveCapacity(min(count, limit) * 2 + 16)
        for i in 0..<min(count, limit) { s += hex2(p[i]) }
        if count > limit { s += "... (\(count - limit) more)" }
        return s
    }
}

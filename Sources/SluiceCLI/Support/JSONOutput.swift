import Foundation
import SluiceReports

/// `--json` output of the commands: Encodable values printed as `ReportJSON` writes reports
/// (sorted keys), never strings put together by hand, so every name and path is escaped alike.
func printJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try ReportJSON.data(value))
}

/// An optional that is written as `null` rather than left out: a field a reader can count on.
struct Nullable<T: Encodable>: Encodable {
    var value: T?
    init(_ value: T?) { self.value = value }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}

extension Nullable: Decodable where T: Decodable {
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        value = c.decodeNil() ? nil : try c.decode(T.self)
    }
}

/// A measured figure written to three decimals, as `fmt` prints it, and as `null` when it is
/// not finite (a ratio over a run that measured nothing): JSON has no infinity. Its text (for
/// tables beside the JSON) is the same: `fixed3`, or `null`.
struct Rounded: Encodable, CustomStringConvertible {
    var value: Double?
    init(_ value: Double?) { self.value = value }
    var description: String { value.flatMap { $0.isFinite ? fixed3($0) : nil } ?? "null" }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let v = value, v.isFinite { try c.encode((v * 1000).rounded() / 1000) } else { try c.encodeNil() }
    }
}

/// An object whose field names are only known at run time (counters by name, a benchmark's
/// figures), kept in the order given for the text a command prints beside it.
struct NamedFields: Encodable {
    enum Value: Encodable {
        case text(String)
        case count(UInt64)
        case figure(Rounded)

        func encode(to encoder: Encoder) throws {
            switch self {
            case .text(let s): var c = encoder.singleValueContainer(); try c.encode(s)
            case .count(let n): var c = encoder.singleValueContainer(); try c.encode(n)
            case .figure(let f): try f.encode(to: encoder)
            }
        }
    }

    var fields: [(String, Value)]
    init(_ fields: [(String, Value)]) { self.fields = fields }

    /// Written as a dictionary: its keys are names (a counter's, a figure's) that the
    /// snake_case conversion of field names must leave as they are.
    func encode(to encoder: Encoder) throws {
        var byName: [String: Value] = [:]
        for (k, v) in fields where byName[k] == nil { byName[k] = v }
        var c = encoder.singleValueContainer()
        try c.encode(byName)
    }
}

/// What another sluice command printed with --json, decoded as the type that command encodes
/// (for the benchmarks that run commands), from its first `{`; nil when it printed no such object.
func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
    guard let start = text.firstIndex(of: "{") else { return nil }
    return try? JSONDecoder().decode(T.self, from: Data(text[start...].utf8))
}

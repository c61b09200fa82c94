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

/// An object's fields with names only known at run time (counters by name), all numbers, plus
/// fixed string fields.
struct NamedCounts: Encodable {
    var strings: [(String, String)]
    var counts: [(String, UInt64)]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (k, v) in strings { try c.encode(v, forKey: Key(stringValue: k)) }
        for (k, v) in counts { try c.encode(v, forKey: Key(stringValue: k)) }
    }
}

/// What another sluice command printed with --json, read back as JSON (for the benchmarks that
/// run commands), not searched as text.
func jsonObject(_ text: String) -> [String: Any]? {
    guard let start = text.firstIndex(of: "{") else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(text[start...].utf8))) as? [String: Any]
}

/// The number at `key` of the object `text` holds.
func jsonNumber(_ text: String, _ key: String) -> Double? {
    (jsonObject(text)?[key] as? NSNumber)?.doubleValue
}

/// The number at `key` of element `index` of the object's `ports` array (attach's counters).
func jsonPortNumber(_ text: String, port index: Int, _ key: String) -> Double? {
    guard let ports = jsonObject(text)?["ports"] as? [[String: Any]], ports.indices.contains(index) else { return nil }
    return (ports[index][key] as? NSNumber)?.doubleValue
}

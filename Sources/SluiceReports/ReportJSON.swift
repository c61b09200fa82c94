import Foundation

/// JSON for reports and every command's --json: sorted keys and pretty printing, so runs diff
/// cleanly, and snake_case keys (`fctPs` is written `fct_ps`), so every object reads alike. Only
/// the names of fields are converted: the keys of a `[String: T]` (node, counter and table names)
/// are data and are written as they are.
public enum ReportJSON {
    public static func data<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var data = try encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try data(value), as: UTF8.self)
    }
}

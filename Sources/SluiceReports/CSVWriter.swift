import Foundation

/// Comma-separated values with a header row. Fields holding a comma, a quote or a line break
/// are quoted, with quotes doubled (RFC 4180); lines end in "\n".
public struct CSVWriter {
    public let header: [String]
    public private(set) var text: String
    public private(set) var rowCount = 0

    public init(header: [String]) {
        self.header = header
        text = CSVWriter.line(header)
    }

    /// Appends a row; it must have one field per header column.
    public mutating func append(_ fields: [String]) {
        precondition(fields.count == header.count, "CSV row has \(fields.count) fields, header has \(header.count)")
        text += CSVWriter.line(fields)
        rowCount += 1
    }

    public static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func line(_ fields: [String]) -> String { fields.map(quote).joined(separator: ",") + "\n" }

    public func write(to path: String) throws {
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw ReportWriteError(path: path, reason: reportReason(error))
        }
    }
}

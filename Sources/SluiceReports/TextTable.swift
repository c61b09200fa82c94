/// A plain-text table for the terminal: a header, a rule, and columns padded to their widest
/// cell. Columns whose cells all start with a number ("12", "-3", "45.0 Gb/s") are right-aligned.
public struct TextTable: CustomStringConvertible {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]] = []) {
        self.header = header; self.rows = rows
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    public var description: String { render() }

    /// The number of columns: the header's or the longest row's.
    public var columnCount: Int { max(header.count, rows.map(\.count).max() ?? 0) }

    /// Per column: every non-empty cell starts with a number (right-aligned).
    public var numericColumns: [Bool] {
        (0..<columnCount).map { c in
            let cells = rows.map { c < $0.count ? $0[c] : "" }.filter { !$0.isEmpty }
            return !cells.isEmpty && cells.allSatisfy(TextTable.looksNumeric)
        }
    }

    public func render() -> String {
        let columns = columnCount
        func cell(_ row: [String], _ c: Int) -> String { c < row.count ? row[c] : "" }
        var widths = [Int](repeating: 0, count: columns)
        let numeric = numericColumns
        for c in 0..<columns {
            widths[c] = cell(header, c).count
            for r in rows { widths[c] = max(widths[c], cell(r, c).count) }
        }
        func render(_ row: [String]) -> String {
            var parts: [String] = []
            for c in 0..<columns {
                let v = cell(row, c), pad = String(repeating: " ", count: widths[c] - v.count)
                parts.append(numeric[c] ? pad + v : v + pad)
            }
            var line = parts.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line + "\n"
        }
        var out = render(header)
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in rows { out += render(r) }
        return out
    }

    static func looksNumeric(_ s: String) -> Bool {
        var chars = s.unicodeScalars.makeIterator()
        guard var c = chars.next() else { return false }
        if c == "-" || c == "+" { guard let n = chars.next() else { return false }; c = n }
        if c == "." { guard let n = chars.next() else { return false }; c = n }
        return c.properties.numericType != nil && c.isASCII
    }
}

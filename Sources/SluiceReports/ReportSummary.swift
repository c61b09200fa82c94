/// The end-of-run summary as lines and tables: the terminal prints it as text, a report's
/// `index.html` shows the lines as paragraphs and the tables as HTML tables.
public struct ReportSummary: CustomStringConvertible {
    public enum Block {
        case line(String)
        case table(TextTable)
    }

    public var blocks: [Block] = []

    public init() {}

    /// Each line of `text` (a trailing line break ends the last, it does not add one).
    public init(text: String) { add(text: text) }

    public mutating func add(line: String) { blocks.append(.line(line)) }

    public mutating func add(text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        for l in lines { blocks.append(.line(l)) }
    }

    public mutating func add(table: TextTable) { blocks.append(.table(table)) }

    public mutating func append(_ other: ReportSummary) { blocks += other.blocks }

    public static func + (a: ReportSummary, b: ReportSummary) -> ReportSummary {
        var out = a
        out.append(b)
        return out
    }

    /// The terminal's form: a line a line, a table followed by a blank line.
    public var text: String {
        var out = ""
        for b in blocks {
            switch b {
            case .line(let l): out += l + "\n"
            case .table(let t): out += t.render() + "\n"
            }
        }
        return out
    }

    public var description: String { text }
}

/// Lines of C being written, indented four spaces a level: `line` writes one at the current
/// depth, `open` writes one and indents what follows, `close` ends the level with a line.
/// It also names the temporaries: `fresh` numbers them across the whole text, so a name is
/// never declared twice in one function.
final class CBlockWriter {
    private(set) var lines: [String] = []
    private(set) var depth: Int
    /// The number in the last name `fresh` handed out.
    private(set) var lastNumber = 0

    init(depth: Int) { self.depth = depth }

    func line(_ s: String) { lines.append(String(repeating: "    ", count: depth) + s) }

    /// `s` (`if (...) {`), then what follows one level deeper.
    func open(_ s: String) { line(s); depth += 1 }

    /// Back one level, then `s`.
    func close(_ s: String = "}") { depth -= 1; line(s) }

    /// Back one level for `s` (`} else {`), then on at the level `open` began.
    func reopen(_ s: String) { close(s); depth += 1 }

    /// `open`, `body`, `close`.
    func block<E: Error>(_ open: String, _ close: String = "}", _ body: () throws(E) -> Void) throws(E) {
        self.open(open)
        try body()
        self.close(close)
    }

    func fresh(_ base: String) -> String { lastNumber += 1; return "\(base)\(lastNumber)" }

    /// The lines written so far, leaving none (the names go on counting).
    func take() -> [String] {
        defer { lines = [] }
        return lines
    }
}

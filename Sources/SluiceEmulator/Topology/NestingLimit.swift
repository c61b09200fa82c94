import SluiceSupport
import SluiceRuntime

/// How deeply a topology document nests, measured on the text before the YAML library sees it:
/// the library builds its tree recursively, and a document nested some thousands of levels deep
/// (`[[[[...]]]]`, or keys indented one more each line) overflowed the stack and crashed the
/// process. Real topology files nest fewer than ten levels.
enum NestingLimit {
    static let maxDepth = 64

    /// The first line (1-based) where the nesting passes `maxDepth`, or nil. Counts flow
    /// brackets outside quotes and comments, block indentation levels and `- ` entries that
    /// open on the same line. It can only overestimate a document's depth a little, never miss
    /// a deep one.
    static func firstLineTooDeep(_ text: String) -> Int? {
        var indents: [Int] = []
        var flow = 0
        for (n, raw) in FileIO.lines(text).enumerated() {
            let line = Array(raw.utf8)
            var i = 0
            while i < line.count && line[i] == UInt8(ascii: " ") { i += 1 }
            guard i < line.count, line[i] != UInt8(ascii: "#") else { continue }
            if flow == 0 {
                while let last = indents.last, last >= i { indents.removeLast() }
                indents.append(i)
            }
            var dashes = 0
            var j = i
            while j + 1 < line.count && line[j] == UInt8(ascii: "-") && line[j + 1] == UInt8(ascii: " ") {
                dashes += 1; j += 2
                while j < line.count && line[j] == UInt8(ascii: " ") { j += 1 }
            }
            var quote: UInt8 = 0
            var peak = flow
            while j < line.count {
                let c = line[j]
                if quote != 0 {
                    if c == quote { quote = 0 }
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    quote = c
                } else if c == UInt8(ascii: "#") && (j == 0 || line[j - 1] == UInt8(ascii: " ")) {
                    break
                } else if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                    flow += 1; peak = max(peak, flow)
                } else if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                    flow = max(0, flow - 1)
                }
                j += 1
            }
            if indents.count + dashes + peak > maxDepth { return n + 1 }
        }
        return nil
    }
}

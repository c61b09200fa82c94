import Foundation

// What the commands print besides their results: errors reported as they are, lines on
// standard error, short numbers and table columns.

/// An error the CLI reports as it is (already naming the file, option or field).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A progress line on standard error, in place of the one before it; "" clears it.
func progressLine(_ text: String) {
    FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
}

/// A line on standard error.
func stderr(_ line: String) {
    FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
}

/// `x` to three decimals, without trailing zeros.
func fmt(_ x: Double) -> String {
    let v = (x * 1000).rounded() / 1000
    return "\(v)"
}

/// `x` with exactly three decimals, as the benchmarks print their figures.
func fixed3(_ x: Double) -> String { String(format: "%.3f", x) }

extension String {
    /// Padded with spaces to `n` characters: left-aligned in a column.
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// `value` right-aligned in `width` columns.
func rightAligned(_ value: some CustomStringConvertible, _ width: Int) -> String {
    let s = value.description
    return s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

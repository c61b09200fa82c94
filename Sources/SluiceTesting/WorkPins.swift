import Foundation

/// Work counts (events, packets, retransmissions, timer firings) of a fixed run, pinned in a
/// test: they are exact and deterministic for the same code, inputs and seed, so a change that
/// makes a run do more work fails on every machine, with no timing involved.
///
/// A count passes within `margin` of its pin either way: growing past it is a regression to
/// find, shrinking past it is an improvement to pin (so that a later regression back cannot
/// hide inside the gained room).
public struct WorkPins {
    public let run: String
    public let margin: Double
    var rows: [(name: String, actual: UInt64, pinned: UInt64)] = []

    public init(_ run: String, margin: Double = 0.01) {
        self.run = run
        self.margin = margin
    }

    /// Compare one count with its pin.
    public mutating func check(_ name: String, _ actual: UInt64, pinned: UInt64) {
        rows.append((name, actual, pinned))
    }

    /// The counts outside the margin, each with the pinned and measured figure; nil when all pass.
    public var failure: String? {
        let bad = rows.filter { !Self.within($0.actual, $0.pinned, margin) }
        guard !bad.isEmpty else { return nil }
        var lines = ["\(run): work counts moved more than \(margin * 100)% from their pins"]
        for r in bad {
            let change = r.pinned == 0 ? "from 0" : String(format: "%+.2f%%", (Double(r.actual) / Double(r.pinned) - 1) * 100)
            let verdict = r.actual > r.pinned ? "more work: a regression, find its cause" : "less work: pin the new figure"
            lines.append("  \(r.name): \(r.actual), pinned \(r.pinned) (\(change); \(verdict))")
        }
        lines.append("  all counts of this run: " + rows.map { "\($0.name) \($0.actual)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    static func within(_ actual: UInt64, _ pinned: UInt64, _ margin: Double) -> Bool {
        let a = Double(actual), p = Double(pinned)
        return a <= p * (1 + margin) && a >= p * (1 - margin)
    }
}

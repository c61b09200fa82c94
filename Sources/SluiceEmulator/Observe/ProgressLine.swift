import Foundation
import SluiceSupport

/// A progress line on standard error for runs longer than a second: simulated time, events per
/// second and, when the end time is known, an ETA. Redrawn in place on a terminal; a plain line
/// every ten seconds otherwise (CI logs).
struct ProgressLine {
    let enabled: Bool
    let limit: Int64?
    let start = MonotonicClock.nanoseconds
    var lastPrint: Int64 = 0
    var shown = false
    let terminal = isatty(2) != 0

    init(enabled: Bool, limit: Int64?) { self.enabled = enabled; self.limit = limit }

    /// `note`: more to say, at the end of the line (a parallel run: its slowest partition),
    /// made only when the line is printed.
    mutating func update(simulated: Int64, events: UInt64, note: @autoclosure () -> String = "") {
        guard enabled else { return }
        let t = MonotonicClock.nanoseconds
        let elapsed = t - start
        guard elapsed > 1_000_000_000, t - lastPrint > (terminal ? 500_000_000 : 10_000_000_000) else { return }
        lastPrint = t
        let secs = Double(elapsed) / 1e9
        var line = "simulated \(Self.time(simulated))"
        if let l = limit {
            let frac = Double(simulated) / Double(max(l, 1))
            line += " of \(Self.time(l)) (\(Int(frac * 100))%)"
            if frac > 0.001 { line += ", ETA \(Int((secs / frac - secs).rounded()))s" }
        }
        line += String(format: ", %.2f M events/s, %.0fs wall", Double(events) / secs / 1e6, secs)
        let more = note()
        if !more.isEmpty { line += ", " + more }
        if terminal {
            FileHandle.standardError.write(("\r\u{1B}[K" + line).data(using: .utf8)!)
        } else {
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
        }
        shown = true
    }

    func finish() {
        if shown && terminal { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
    }

    static func time(_ ps: Int64) -> String {
        let v = Double(ps)
        if v >= 1e12 { return String(format: "%.3f s", v / 1e12) }
        if v >= 1e9 { return String(format: "%.3f ms", v / 1e9) }
        if v >= 1e6 { return String(format: "%.3f us", v / 1e6) }
        return String(format: "%.0f ns", v / 1e3)
    }
}

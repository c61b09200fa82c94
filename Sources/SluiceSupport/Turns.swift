/// How a benchmark that compares engines on the same work times them: in turns. In each of
/// `rounds` rounds every engine does the round's share of the work, and each round starts
/// with the next engine, so that a slow spell of a shared host falls on all of them alike and
/// none always follows the same other one (finding the caches as that one left them). Timing
/// one engine after the other instead let a few seconds of a noisy neighbour decide a ratio.
public enum Turns {
    /// The turns over items `0..<count`: `min(rounds, count)` rounds (at least one), in round
    /// `r` each engine once, engine `r mod engines` first, all on the round's same range.
    public static func order(engines: Int, count: Int, rounds: Int) -> [(engine: Int, range: Range<Int>)] {
        precondition(engines > 0 && count > 0 && rounds > 0, "Turns.order: engines, count and rounds must be positive")
        let rounds = min(rounds, count)
        var turns: [(engine: Int, range: Range<Int>)] = []
        for r in 0..<rounds {
            let range = count * r / rounds ..< count * (r + 1) / rounds
            for k in 0..<engines { turns.append(((r + k) % engines, range)) }
        }
        return turns
    }

    /// Each engine's seconds over all its turns: `run(engine, range)` times one turn. After each
    /// round, `roundDone(itemsDoneByEach, secondsSoFar)` (for a progress line).
    public static func seconds(engines: Int, count: Int, rounds: Int,
                               roundDone: (_ items: Int, _ seconds: [Double]) -> Void = { _, _ in },
                               _ run: (_ engine: Int, _ range: Range<Int>) -> Double) -> [Double] {
        var seconds = [Double](repeating: 0, count: engines)
        for (i, t) in order(engines: engines, count: count, rounds: rounds).enumerated() {
            seconds[t.engine] += run(t.engine, t.range)
            if (i + 1) % engines == 0 { roundDone(t.range.upperBound, seconds) }
        }
        return seconds
    }
}

import SluiceSupport
import Testing

/// `sluice bench pipeline` times its engines in turns (`Turns`), so that the ratios it reports
/// compare the engines under the same host conditions.
@Suite struct BenchTurnsTests {
    @Test func everyEngineRunsEveryItemOnceInRoundsThatRotateWhoGoesFirst() {
        let turns = Turns.order(engines: 3, count: 1_000, rounds: 10)
        #expect(turns.count == 30)
        for e in 0..<3 {
            let ranges = turns.filter { $0.engine == e }.map(\.range)
            // Contiguous, covering 0..<1000 exactly once.
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 1_000)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        }
        // Within a round all engines run the same range; the first engine rotates.
        for r in 0..<10 {
            let round = turns[3 * r ..< 3 * r + 3]
            #expect(Set(round.map(\.range)).count == 1)
            #expect(round.map(\.engine) == [r % 3, (r + 1) % 3, (r + 2) % 3])
        }
    }

    @Test func fewerItemsThanRoundsMakeOneRoundAnItem() {
        let turns = Turns.order(engines: 2, count: 3, rounds: 10)
        #expect(turns.map(\.engine) == [0, 1, 1, 0, 0, 1])
        #expect(turns.map(\.range) == [0..<1, 0..<1, 1..<2, 1..<2, 2..<3, 2..<3])
    }

    @Test func secondsAreSummedPerEngineAndEachRoundIsReported() {
        var reported: [(Int, [Double])] = []
        // Engine e takes e + 1 seconds an item.
        let s = Turns.seconds(engines: 2, count: 100, rounds: 4, roundDone: { reported.append(($0, $1)) }) { e, range in
            Double((e + 1) * range.count)
        }
        #expect(s == [100, 200])
        #expect(reported.map(\.0) == [25, 50, 75, 100])
        #expect(reported.map(\.1) == [[25, 50], [50, 100], [75, 150], [100, 200]])
    }
}

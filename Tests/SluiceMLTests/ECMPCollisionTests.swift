import Foundation
import Testing
@testable import SluiceML

/// ECMP on 8 equal elephants over 8 uplinks behaves as balls into bins: the busiest uplink
/// averages the exact expectation within 5% over 200 seeds of queue-pair source ports.
@Suite struct ECMPCollisionTests {
    /// Brute force over all bins^balls placements.
    static func enumerate(balls: Int, bins: Int) -> (max: Double, used: Double) {
        var total = 0.0, used = 0.0, count = 0.0
        var assignment = [Int](repeating: 0, count: balls)
        while true {
            var load = [Int](repeating: 0, count: bins)
            for b in assignment { load[b] += 1 }
            total += Double(load.max()!); used += Double(load.filter { $0 > 0 }.count); count += 1
            var i = 0
            while i < balls { assignment[i] += 1; if assignment[i] < bins { break }; assignment[i] = 0; i += 1 }
            if i == balls { break }
        }
        return (total / count, used / count)
    }

    @Test func expectedMaxLoadMatchesEnumeration() {
        for (balls, bins) in [(3, 3), (4, 4), (5, 3), (6, 6)] {
            let e = Self.enumerate(balls: balls, bins: bins)
            #expect(abs(ECMPCollisions.expectedMaxLoad(balls: balls, bins: bins) - e.max) < 1e-9, "\(balls) into \(bins)")
        }
        #expect(abs(ECMPCollisions.expectedMaxLoad(balls: 8, bins: 8) - 2.597) < 0.001)
    }

    @Test func ecmpBusiestUplinkIsBallsIntoBins() throws {
        print("ECMPCollisionTests seeds 1 ... 200")
        let r = try ECMPCollisions.run(seeds: 200, firstSeed: 1, bytes: 16 << 10)
        #expect(abs(r.meanBusiestFlows / r.expectedBusiestFlows - 1) < 0.05, "busiest \(r.meanBusiestFlows), expected \(r.expectedBusiestFlows)")
        #expect(abs(r.meanLinksUsed / r.expectedLinksUsed - 1) < 0.05, "links used \(r.meanLinksUsed), expected \(r.expectedLinksUsed)")
        // Fixed source ports (no seed) would give the same placement every run: the seed matters.
        #expect(Set(r.busiest).count > 1)
    }
}

import Foundation
import Testing
@testable import SluiceML

/// Rows on several threads come out in row order, each lane with its own state, and the first
/// failing row (in row order) is thrown after the rows before it.
@Suite struct ConcurrentRowsTests {
    final class Lanes: @unchecked Sendable {
        let lock = NSLock()
        var made = 0
        func make() -> Int { lock.lock(); defer { lock.unlock() }; made += 1; return made }
    }

    @Test(arguments: [1, 2, 3, 8])
    func rowsComeOutInRowOrder(_ lanes: Int) throws {
        let made = Lanes()
        var out: [Int] = []
        try ConcurrentRows.run(count: 7, lanes: lanes, progress: false, label: { "row \($0)" }, state: { made.make() }) { lane, i in
            // Later rows finish first: the order must come from the board, not from finishing.
            Thread.sleep(forTimeInterval: Double(7 - i) * 0.002)
            return i * 10
        } emit: { out.append($0) }
        #expect(out == [0, 10, 20, 30, 40, 50, 60])
        #expect(made.made == min(lanes, 7), "one state per lane that ran a row")
    }

    struct RowFailed: Error, Equatable { let row: Int }

    @Test(arguments: [1, 2, 4])
    func theFirstFailingRowIsThrownAfterTheRowsBeforeIt(_ lanes: Int) {
        var out: [Int] = []
        #expect(throws: RowFailed(row: 2)) {
            try ConcurrentRows.run(count: 6, lanes: lanes, progress: false, label: { "row \($0)" }, state: { () }) { _, i in
                if i == 2 || i == 4 { throw RowFailed(row: i) }
                return i
            } emit: { out.append($0) }
        }
        #expect(out == [0, 1])
    }

    /// ina-e1 at a small size: the same rows, in the same order, on one lane or two.
    @Test func e1RowsAreTheSameOnOneLaneOrTwo() throws {
        var s = ExperimentSettings()
        s.seed = 3
        s.scale = 0.002
        print("ConcurrentRowsTests seed \(s.seed)")
        func rows(_ lanes: Int) throws -> [ExperimentRow] {
            s.rowsAtOnce = lanes
            return try Experiments.e1(s, rates: [100], emit: { _ in }).map { var r = $0; r.wallS = 0; return r }
        }
        let one = try rows(1), two = try rows(2)
        #expect(one.map(\.scheme) == ["switchml-k64", "switchml-k256", "ring", "tree", "ps", "ps-sharded"])
        #expect(one.allSatisfy { $0.withinBound == true && $0.timeS != nil })
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys
        #expect(try json.encode(one) == json.encode(two))
    }
}

import Foundation
import Testing
import SluiceP4Runtime
import SluiceP4RuntimeServer
import SwiftProtobuf

/// ROLLBACK_ON_ERROR: a batch that fails part way leaves the switch exactly as it was (every
/// entity a Read returns, and what packets see), the failing update gets its own code and the
/// others ABORTED saying which update failed; a batch that succeeds lands whole.
@Suite struct P4RuntimeRollbackTests {
    static let fwd = Externs.ids.id(.table, "fwd")!

    /// Entries 5 -> port 2 (counted 50 / 500) and 6 -> port 3, counter cell 1, meter cell 0,
    /// register cell 2 and multicast group 1 (ports 1 and 2), all written.
    static func device() throws -> (P4RuntimeDevice, PipelineSwitch) {
        let (d, sw) = try Externs.device()
        try d.write(P4R.write([
            P4R.update(.insert, Externs.entry(5, port: 2)), P4R.update(.insert, Externs.entry(6, port: 3)),
            Externs.counter(1, packets: 10, bytes: 100), Externs.directCounter(5, packets: 50, bytes: 500),
            Externs.meter(0, cir: 1, cburst: 1, pir: 1, pburst: 2), Externs.register(2, 0x1234),
            Externs.group(.insert, 1, ports: [1, 2]),
        ]))
        return (d, sw)
    }

    static func rollback(_ updates: [P4_V1_Update]) -> P4_V1_WriteRequest {
        var w = P4R.write(updates); w.atomicity = .rollbackOnError; return w
    }

    static func results(_ d: P4RuntimeDevice, _ w: P4_V1_WriteRequest) -> [P4RuntimeError?] {
        do { try d.write(w) } catch let e as P4RuntimeBatchError { return e.results } catch { Issue.record("\(error)") }
        return []
    }

    @Test func aFailedBatchLeavesEverythingAsItWas() throws {
        let (d, sw) = try Self.device()
        let before = try Externs.state(d)
        var flood = Externs.entry(0, port: 0)
        flood.match = []; flood.isDefaultAction = true
        flood.action.action = P4_V1_Action(); flood.action.action.actionID = Externs.ids.id(.action, "flood")!
        // One change of every kind, then a duplicate INSERT (update 11), then one never tried.
        let batch = Self.rollback([
            P4R.update(.insert, Externs.entry(7, port: 4)),
            P4R.update(.modify, Externs.entry(6, port: 9)),
            P4R.update(.delete, Externs.entry(5, port: 2)),
            P4R.update(.modify, flood),
            Externs.counter(nil, packets: 1, bytes: 1),
            Externs.directCounter(6, packets: 77, bytes: 7),
            Externs.meter(nil, cir: 5, cburst: 5, pir: 5, pburst: 5),
            Externs.register(nil, 0xFFFF),
            Externs.group(.modify, 1, ports: [3]),
            Externs.group(.insert, 2, ports: [4]),
            Externs.update(.modify) { $0.counterEntry.counterID = Externs.ids.id(.counter, "hits")!; $0.counterEntry.index.index = 2 },
            P4R.update(.insert, Externs.entry(6, port: 1)),
            Externs.counter(0, packets: 3, bytes: 3),
        ])
        let results = Self.results(d, batch)
        #expect(results.map { $0?.code } == Array(repeating: .aborted, count: 11) + [.alreadyExists, .aborted])
        #expect(results[0] == P4RuntimeError(.aborted, "undone: update 11 failed, and ROLLBACK_ON_ERROR applies every update or none"))
        #expect(results[11] == P4RuntimeError(.alreadyExists, "table 'fwd' (id \(Self.fwd)): an entry with these match fields exists; MODIFY it or DELETE it first"))
        #expect(results[12] == P4RuntimeError(.aborted, "not attempted: update 11 failed, and ROLLBACK_ON_ERROR applies every update or none"))

        // Every entity reads back as before (entries, default, counts, meters, registers, groups).
        #expect(try Externs.state(d) == before)
        #expect(try P4RuntimeWriteTests.directCounts(d) == [5: [50, 500], 6: [0, 0]])
        #expect(try Externs.hits(d) == [[0, 0], [10, 100], [0, 0], [0, 0]])
        // And packets see it: 5 and 6 go where they went, 7 and a miss are dropped (the default
        // is drop again), meter cell 0 has its 1-packet committed and 2-packet peak bursts.
        #expect(P4RuntimeWriteTests.colors(sw, idx: 0, 3) == [0, 1, 2])
        #expect(sw.send(Externs.packet(key: 6, idx: 3), port: 1)?.map(\.port) == [3])
        #expect(sw.send(Externs.packet(key: 7, idx: 3), port: 1)?.isEmpty == true)
        #expect(sw.send(Externs.packet(key: 9, idx: 3), port: 1)?.isEmpty == true)
        #expect(try P4RuntimeWriteTests.directCounts(d) == [5: [53, 509], 6: [1, 3]])
        // Group 1 still has ports 1 and 2; group 2 does not exist.
        try d.write(P4R.write([P4R.update(.insert, { var e = Externs.entry(8, port: 0); e.action.action = flood.action.action; return e }())]))
        #expect(sw.send(Externs.packet(key: 8, idx: 3), port: 0)?.map(\.port).sorted() == [1, 2])
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([Externs.group(.delete, 2, ports: [])])) }?.code == .notFound)
    }

    /// An entry deleted, inserted again and changed in one batch comes back as it was, counts
    /// and all: the undo finds entries by their match fields, not by handles that changed.
    @Test func anEntryDeletedAndInsertedAgainIsRestored() throws {
        let (d, sw) = try Self.device()
        let before = try Externs.state(d)
        let results = Self.results(d, Self.rollback([
            P4R.update(.delete, Externs.entry(5, port: 2)),
            P4R.update(.delete, Externs.entry(6, port: 3)),
            P4R.update(.insert, Externs.entry(5, port: 7)),
            P4R.update(.modify, Externs.entry(5, port: 8)),
            Externs.directCounter(5, packets: 1, bytes: 1),
            P4R.update(.delete, Externs.entry(6, port: 3)),
        ]))
        #expect(results.map { $0?.code } == [.aborted, .aborted, .aborted, .aborted, .aborted, .notFound])
        #expect(results[5] == P4RuntimeError(.notFound, "table 'fwd' (id \(Self.fwd)): no entry with these match fields to delete"))
        #expect(try Externs.state(d).sorted() == before.sorted())
        #expect(try P4RuntimeWriteTests.directCounts(d) == [5: [50, 500], 6: [0, 0]])
        #expect(sw.send(Externs.packet(key: 5, idx: 3), port: 1)?.map(\.port) == [2])
    }

    @Test func aBatchThatSucceedsLandsWholeAndAFirstFailureChangesNothing() throws {
        let (d, sw) = try Self.device()
        try d.write(Self.rollback([P4R.update(.insert, Externs.entry(7, port: 4)), Externs.counter(3, packets: 9, bytes: 90)]))
        #expect(sw.send(Externs.packet(key: 7, idx: 0), port: 1)?.map(\.port) == [4])
        #expect(try Externs.hits(d) == [[1, 3], [10, 100], [0, 0], [9, 90]])
        let before = try Externs.state(d)
        let results = Self.results(d, Self.rollback([Externs.counter(4, packets: 1, bytes: 1), P4R.update(.insert, Externs.entry(9, port: 4))]))
        #expect(results == [P4RuntimeError(.outOfRange, "counter 'hits' (id \(Externs.ids.id(.counter, "hits")!)): index 4; valid: 0...3"),
                            P4RuntimeError(.aborted, "not attempted: update 0 failed, and ROLLBACK_ON_ERROR applies every update or none")])
        #expect(try Externs.state(d) == before)
    }

    @Test func continueOnErrorKeepsWhatSucceeded() throws {
        let (d, _) = try Self.device()
        let results = Self.results(d, P4R.write([P4R.update(.insert, Externs.entry(7, port: 4)), P4R.update(.insert, Externs.entry(5, port: 4))]))
        #expect(results.map { $0?.code } == [nil, .alreadyExists])
        #expect(try P4RuntimeWriteTests.directCounts(d).keys.sorted() == [5, 6, 7])
    }
}

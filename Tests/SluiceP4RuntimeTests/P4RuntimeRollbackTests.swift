import Foundation
import Synchronization
import SluiceControlPlane
import SluiceIR
import SluicePrograms
import Testing
import SluiceP4Runtime
import SluiceP4RuntimeServer
import SwiftProtobuf

/// ROLLBACK_ON_ERROR: a batch that fails part way leaves the switch exactly as it was (every
/// entity a Read returns, and what packets see), the failing update gets its own code and the
/// others ABORTED saying which update failed; a batch that succeeds lands whole.
/// DATAPLANE_ATOMIC: the same, and packets sent while batches land never see part of one.
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

    /// The switch's packets run while batches land: entry 5 (to port 2) and the default (drop)
    /// swap roles in one batch and back in the next (DELETE 5 + default to port 2; default drop +
    /// INSERT 5), and a third batch fails after deleting entry 5. A packet that saw part of a
    /// batch would be dropped; every one comes out on port 2.
    @Test func packetsNeverSeePartOfADataplaneAtomicBatch() throws {
        let (d, sw) = try Self.device()
        var toPort2 = Externs.entry(0, port: 2)
        toPort2.match = []; toPort2.isDefaultAction = true
        var drop = toPort2
        drop.action.action = P4_V1_Action(); drop.action.action.actionID = Externs.ids.id(.action, "drop")!
        func atomic(_ updates: [P4_V1_Update]) -> P4_V1_WriteRequest {
            var w = P4R.write(updates); w.atomicity = .dataplaneAtomic; return w
        }
        let away = atomic([P4R.update(.delete, Externs.entry(5, port: 2)), P4R.update(.modify, toPort2)])
        let back = atomic([P4R.update(.modify, drop), P4R.update(.insert, Externs.entry(5, port: 2))])
        let failing = atomic([P4R.update(.delete, Externs.entry(5, port: 2)), P4R.update(.insert, Externs.entry(6, port: 2))])

        let done = Atomic<Bool>(false)
        let sending = Atomic<Bool>(false)
        let seen = Mutex<[Int: Int]>([:])
        let failures = Mutex<[[CanonicalCode?]]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                defer { done.store(true, ordering: .releasing) }
                while !sending.load(ordering: .acquiring) { usleep(100) }
                for _ in 0..<500 {
                    do {
                        try d.write(away)
                        try d.write(back)
                    } catch { failures.withLock { $0.append([.unknown]) } }
                    do { try d.write(failing) } catch let e as P4RuntimeBatchError {
                        failures.withLock { $0.append(e.results.map { $0?.code }) }
                    } catch { failures.withLock { $0.append([.unknown]) } }
                }
            } else {
                var counts: [Int: Int] = [:]
                sending.store(true, ordering: .releasing)
                while !done.load(ordering: .acquiring) {
                    let ports = sw.send(Externs.packet(key: 5, idx: 3), port: 1)?.map(\.port) ?? []
                    counts[ports == [2] ? 2 : -1, default: 0] += 1
                }
                seen.withLock { $0 = counts }
            }
        }
        let counts = seen.withLock { $0 }
        #expect(counts[-1] == nil, "packets that saw part of a batch: \(counts)")
        #expect(counts[2, default: 0] > 100, "too few packets ran beside the batches: \(counts)")
        let codes = failures.withLock { $0 }
        #expect(codes.count == 500)
        #expect(Set(codes.map { $0.map { $0?.name ?? "OK" } }) == [["ABORTED", "ALREADY_EXISTS"]])
        // After the last `back`: entry 5 to port 2 and a drop default, as before.
        #expect(try d.read(Externs.read { $0.tableEntry.tableID = Self.fwd; $0.tableEntry.isDefaultAction = true }).map(\.tableEntry.action.action.actionID)
                == [Externs.ids.id(.action, "drop")!])
        #expect(sw.send(Externs.packet(key: 9, idx: 3), port: 1)?.isEmpty == true)
    }

    /// A switch that runs packets while its tables change refuses DATAPLANE_ATOMIC, saying what
    /// to use; ROLLBACK_ON_ERROR still works there.
    @Test func aSwitchThatIsNotDataplaneAtomicRefusesIt() throws {
        final class Concurrent: SwitchTarget, @unchecked Sendable {
            let inner = PipelineSwitch()
            func check(_ program: VerifiedProgram) throws { try inner.check(program) }
            func install(_ program: VerifiedProgram, seed: UInt64) throws { try inner.install(program, seed: seed) }
            func withControlPlane<R>(_ body: (any ControlPlane) throws -> R) throws -> R? { try inner.withControlPlane(body) }
            func inject(_ bytes: [UInt8], port: UInt16) -> Bool { inner.inject(bytes, port: port) }
            var dataplaneAtomic: Bool { false }
        }
        let d = P4RuntimeDevice(deviceID: 1, target: Concurrent(), resolver: ProgramRegistry.resolver)
        _ = try d.arbitrate(token: nil, P4R.arbitration(P4R.election)) { _ in }
        try d.setPipeline(try Externs.setPipeline())
        var w = P4R.write([P4R.update(.insert, Externs.entry(5, port: 2))])
        w.atomicity = .dataplaneAtomic
        #expect(P4RuntimeDeviceTests.error { try d.write(w) } == P4RuntimeError(.unimplemented,
            "Write: atomicity DATAPLANE_ATOMIC is not supported: this switch runs packets while its tables change; use ROLLBACK_ON_ERROR (every update or none) or CONTINUE_ON_ERROR"))
        w.atomicity = .rollbackOnError
        try d.write(w)
        #expect(try P4RuntimeWriteTests.directCounts(d) == [5: [0, 0]])
    }
}

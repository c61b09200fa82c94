import Foundation
import Testing
import SluiceP4Runtime
import SluiceP4RuntimeServer
import SwiftProtobuf

/// Writes of counters, direct counters and meters on `p4rt-externs`: what lands is read back
/// exactly, packets count on from what was written, and every bad write gets its code and a
/// message naming the resource, the field and what would be valid.
@Suite struct P4RuntimeWriteTests {
    let hitsID = Externs.ids.id(.counter, "hits")!

    @Test func counterCellsAreSetAndCountOn() throws {
        let (d, sw) = try Externs.device()
        try d.write(P4R.write([Externs.counter(2, packets: 40, bytes: 4000)]))
        #expect(try Externs.hits(d) == [[0, 0], [0, 0], [40, 4000], [0, 0]])
        // A 3-byte packet at index 2 counts on from the written figures.
        _ = sw.send(Externs.packet(key: 9, idx: 2), port: 1)
        #expect(try Externs.hits(d) == [[0, 0], [0, 0], [41, 4003], [0, 0]])
        // With no index, every cell takes the data.
        try d.write(P4R.write([Externs.counter(nil, packets: 5, bytes: 6)]))
        #expect(try Externs.hits(d) == [[5, 6], [5, 6], [5, 6], [5, 6]])
        // With no data, nothing changes; zero data sets zero.
        var noData = Externs.counter(1, packets: 0, bytes: 0)
        noData.entity.counterEntry.clearData()
        try d.write(P4R.write([noData, Externs.counter(3, packets: 0, bytes: 0)]))
        #expect(try Externs.hits(d) == [[5, 6], [5, 6], [5, 6], [0, 0]])
        // One index reads back alone.
        let one = try d.read(Externs.read { $0.counterEntry.counterID = hitsID; $0.counterEntry.index.index = 1 })
        #expect(one.map { [$0.counterEntry.index.index, $0.counterEntry.data.packetCount, $0.counterEntry.data.byteCount] } == [[1, 5, 6]])
    }

    @Test func badCounterWritesSayWhatIsValid() throws {
        let (d, sw) = try Externs.device()
        let what = "counter 'hits' (id \(hitsID))"
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([Externs.counter(0, packets: 1, bytes: 1, type: .insert)])) }
                == P4RuntimeError(.invalidArgument, "\(what): INSERT; counters take MODIFY only"))
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([Externs.counter(0, packets: 1, bytes: 1, type: .delete)])) }
                == P4RuntimeError(.invalidArgument, "\(what): DELETE; counters take MODIFY only"))
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([Externs.counter(4, packets: 1, bytes: 1)])) }
                == P4RuntimeError(.outOfRange, "\(what): index 4; valid: 0...3"))
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([Externs.counter(-1, packets: 1, bytes: 1)])) }
                == P4RuntimeError(.invalidArgument, "\(what): index -1 is negative; valid: 0...3"))
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([Externs.counter(nil, packets: -1, bytes: 0)])) }
                == P4RuntimeError(.invalidArgument, "\(what): packet_count -1, byte_count 0; counts must be >= 0"))
        var unknown = Externs.counter(0, packets: 1, bytes: 1); unknown.entity.counterEntry.counterID = 7
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([unknown])) }
                == P4RuntimeError(.notFound, "no counter with id 7 in program 'p4rt-externs'; valid: hits (\(hitsID))"))
        // Nothing landed, and the switch counts on.
        #expect(try Externs.hits(d) == [[0, 0], [0, 0], [0, 0], [0, 0]])
        _ = sw.send(Externs.packet(key: 9, idx: 0), port: 1)
        #expect(try Externs.hits(d) == [[1, 3], [0, 0], [0, 0], [0, 0]])
    }

    /// Every entry's direct counter of `fwd`, by key.
    static func directCounts(_ d: P4RuntimeDevice) throws -> [UInt8: [Int64]] {
        let all = try d.read(Externs.read { $0.directCounterEntry.tableEntry.tableID = Externs.ids.id(.table, "fwd")! })
        return Dictionary(uniqueKeysWithValues: all.map { ($0.directCounterEntry.tableEntry.match[0].exact.value.last!, [$0.directCounterEntry.data.packetCount, $0.directCounterEntry.data.byteCount]) })
    }

    @Test func directCountersAreSetAndCountOn() throws {
        let (d, sw) = try Externs.device()
        try d.write(P4R.write([P4R.update(.insert, Externs.entry(5, port: 2)), P4R.update(.insert, Externs.entry(6, port: 3))]))
        #expect(sw.send(Externs.packet(key: 5, idx: 0), port: 1)?.map(\.port) == [2])
        #expect(try Self.directCounts(d) == [5: [1, 3], 6: [0, 0]])
        try d.write(P4R.write([Externs.directCounter(5, packets: 100, bytes: 10_000)]))
        #expect(try Self.directCounts(d) == [5: [100, 10_000], 6: [0, 0]])
        // Packets count on from the written figures.
        #expect(sw.send(Externs.packet(key: 5, idx: 0), port: 1)?.map(\.port) == [2])
        #expect(try Self.directCounts(d) == [5: [101, 10_003], 6: [0, 0]])
        // With no data, nothing changes.
        var noData = Externs.directCounter(6, packets: 0, bytes: 0)
        noData.entity.directCounterEntry.clearData()
        try d.write(P4R.write([noData]))
        #expect(try Self.directCounts(d) == [5: [101, 10_003], 6: [0, 0]])

        // A table entry's counter_data: INSERT starts the counter there, MODIFY sets it, and a
        // Read asking for counter_data gets it back with the entry.
        var seven = Externs.entry(7, port: 4)
        seven.counterData.packetCount = 9; seven.counterData.byteCount = 900
        var six = Externs.entry(6, port: 5)
        six.counterData.packetCount = 60; six.counterData.byteCount = 6000
        try d.write(P4R.write([P4R.update(.insert, seven), P4R.update(.modify, six)]))
        #expect(try Self.directCounts(d) == [5: [101, 10_003], 6: [60, 6000], 7: [9, 900]])
        #expect(sw.send(Externs.packet(key: 6, idx: 0), port: 1)?.map(\.port) == [5])
        let read = try d.read(Externs.read { $0.tableEntry.tableID = Externs.ids.id(.table, "fwd")!; $0.tableEntry.counterData = P4_V1_CounterData() })
        #expect(Dictionary(uniqueKeysWithValues: read.map { ($0.tableEntry.match[0].exact.value.last!, [$0.tableEntry.counterData.packetCount, $0.tableEntry.counterData.byteCount]) })
                == [5: [101, 10_003], 6: [61, 6003], 7: [9, 900]])
        // Without counter_data in the request, entries come back without it.
        #expect(try d.read(Externs.read { $0.tableEntry.tableID = Externs.ids.id(.table, "fwd")! }).allSatisfy { !$0.tableEntry.hasCounterData })
    }

    @Test func badDirectCounterWritesSayWhatIsValid() throws {
        let (d, sw) = try Externs.device()
        try d.write(P4R.write([P4R.update(.insert, Externs.entry(5, port: 2))]))
        let fwd = Externs.ids.id(.table, "fwd")!
        let what = "direct counter of table 'fwd' (id \(fwd))"
        func error(_ u: P4_V1_Update) -> P4RuntimeError? { P4RuntimeDeviceTests.error { try d.write(P4R.write([u])) } }
        #expect(error(Externs.directCounter(5, packets: 1, bytes: 1, type: .insert))
                == P4RuntimeError(.invalidArgument, "\(what): INSERT; direct counters take MODIFY only (an entry's counter comes with its INSERT and goes with its DELETE)"))
        #expect(error(Externs.directCounter(5, packets: 1, bytes: 1, type: .delete))
                == P4RuntimeError(.invalidArgument, "\(what): DELETE; direct counters take MODIFY only (an entry's counter comes with its INSERT and goes with its DELETE)"))
        #expect(error(Externs.directCounter(9, packets: 1, bytes: 1)) == P4RuntimeError(.notFound, "\(what): no entry with these match fields; INSERT it first"))
        #expect(error(Externs.directCounter(5, packets: 5, bytes: -1)) == P4RuntimeError(.invalidArgument, "\(what): packet_count 5, byte_count -1; counts must be >= 0"))
        var zero = Externs.directCounter(5, packets: 1, bytes: 1); zero.entity.directCounterEntry.tableEntry.tableID = 0
        #expect(error(zero) == P4RuntimeError(.invalidArgument, "direct counter: table_entry.table_id is 0; a write names one table's entry (tables with one: fwd (id \(fwd)))"))
        var unknown = Externs.directCounter(5, packets: 1, bytes: 1); unknown.entity.directCounterEntry.tableEntry.tableID = 7
        #expect(error(unknown) == P4RuntimeError(.notFound, "no table with id 7 in program 'p4rt-externs'; valid: fwd (\(fwd))"))
        var wide = Externs.directCounter(5, packets: 1, bytes: 1); wide.entity.directCounterEntry.tableEntry.match[0].exact.value = Data([1, 5])
        #expect(error(wide) == P4RuntimeError(.invalidArgument, "table 'fwd' (id \(fwd)), match field 'hdr.h.key' (id 1, exact, 8 bits) value: value 0x0105 has 9 bits; the field is 8 bits wide"))
        var defaultEntry = Externs.directCounter(5, packets: 1, bytes: 1)
        defaultEntry.entity.directCounterEntry.tableEntry.match = []; defaultEntry.entity.directCounterEntry.tableEntry.isDefaultAction = true
        #expect(error(defaultEntry) == P4RuntimeError(.unimplemented, "\(what): the default entry has no direct counter in Sluice (only installed entries count their hits)"))
        #expect(try Self.directCounts(d) == [5: [0, 0]])
        #expect(sw.send(Externs.packet(key: 5, idx: 0), port: 1)?.map(\.port) == [2])
        #expect(try Self.directCounts(d) == [5: [1, 3]])
        // Reading one entry's counter: it must exist.
        #expect(try d.read(Externs.read { $0.directCounterEntry.tableEntry = Externs.entry(5, port: 0) }).map(\.directCounterEntry.data.packetCount) == [1])
        #expect(P4RuntimeDeviceTests.error { _ = try d.read(Externs.read { $0.directCounterEntry.tableEntry = Externs.entry(9, port: 0) }) }
                == P4RuntimeError(.notFound, "\(what): no entry with these match fields; read with no match fields for every entry"))

        // A table with no direct counter, by the entity and by a table entry's counter_data.
        try d.setPipeline(try P4R.setPipeline("ipv4-router"))
        let lpm = P4R.ids("ipv4-router").id(.table, "ipv4_lpm")!
        var route = P4R.route(0x0A00_0100, 24, mac: 2, port: 2)
        try d.write(P4R.write([P4R.update(.insert, route)]))
        var onRoute = Externs.directCounter(5, packets: 1, bytes: 1); onRoute.entity.directCounterEntry.tableEntry = route
        #expect(error(onRoute) == P4RuntimeError(.invalidArgument, "table 'ipv4_lpm' (id \(lpm)) has no direct counter; program 'ipv4-router' has no table with one"))
        route.counterData.packetCount = 1
        #expect(error(P4R.update(.modify, route)) == P4RuntimeError(.invalidArgument, "table 'ipv4_lpm' (id \(lpm)): counter_data is set but the table has no direct counter; leave it unset"))
    }

    /// The meter colors (0 green, 1 yellow, 2 red) of `n` packets at index `idx`, all at time 0.
    static func colors(_ sw: PipelineSwitch, idx: UInt8, _ n: Int) -> [UInt8] {
        (0..<n).compactMap { _ in sw.send(Externs.packet(key: 5, idx: idx), port: 1)?.first?.bytes[2] }
    }

    @Test func metersAreConfiguredAndResetToGreen() throws {
        let (d, sw) = try Externs.device()
        try d.write(P4R.write([P4R.update(.insert, Externs.entry(5, port: 2))]))
        #expect(Self.colors(sw, idx: 1, 4) == [0, 0, 0, 0], "unconfigured: green")
        // A burst of 1 committed and 2 peak packets: green, yellow, then red.
        try d.write(P4R.write([Externs.meter(1, cir: 1, cburst: 1, pir: 1, pburst: 2)]))
        #expect(Self.colors(sw, idx: 1, 4) == [0, 1, 2, 2])
        #expect(Self.colors(sw, idx: 0, 2) == [0, 0], "index 0 is still unconfigured")
        let meters = { try d.read(Externs.read { $0.meterEntry.meterID = Externs.ids.id(.meter, "police")! }).map(\.meterEntry) }
        #expect(try meters().map { $0.hasConfig ? [$0.config.cir, $0.config.cburst, $0.config.pir, $0.config.pburst] : [] } == [[], [1, 1, 1, 2]])
        // MODIFY with no config: back to the default, every packet green, read back unset.
        var reset = Externs.meter(1, cir: 0, cburst: 0, pir: 0, pburst: 0)
        reset.entity.meterEntry.clearConfig()
        try d.write(P4R.write([reset]))
        #expect(Self.colors(sw, idx: 1, 4) == [0, 0, 0, 0])
        #expect(try meters().map(\.hasConfig) == [false, false])
        // With no index, every cell.
        try d.write(P4R.write([Externs.meter(nil, cir: 1, cburst: 1, pir: 1, pburst: 1)]))
        #expect(Self.colors(sw, idx: 0, 2) == [0, 2])
        #expect(Self.colors(sw, idx: 1, 2) == [0, 2])
        #expect(try meters().map { [$0.index.index, $0.config.cir, $0.config.pburst] } == [[0, 1, 1], [1, 1, 1]])
    }

    @Test func badMeterWritesSayWhatIsValid() throws {
        let (d, _) = try Externs.device()
        let what = "meter 'police' (id \(Externs.ids.id(.meter, "police")!))"
        func error(_ u: P4_V1_Update) -> P4RuntimeError? { P4RuntimeDeviceTests.error { try d.write(P4R.write([u])) } }
        var insert = Externs.meter(0, cir: 1, cburst: 1, pir: 1, pburst: 1); insert.type = .insert
        #expect(error(insert) == P4RuntimeError(.invalidArgument, "\(what): INSERT; meters take MODIFY only"))
        #expect(error(Externs.meter(2, cir: 1, cburst: 1, pir: 1, pburst: 1)) == P4RuntimeError(.outOfRange, "\(what): index 2; valid: 0...1"))
        #expect(error(Externs.meter(-3, cir: 1, cburst: 1, pir: 1, pburst: 1)) == P4RuntimeError(.invalidArgument, "\(what): index -3 is negative; valid: 0...1"))
        #expect(error(Externs.meter(0, cir: 5, cburst: 1, pir: 4, pburst: 1))
                == P4RuntimeError(.invalidArgument, "\(what): config cir 5, cburst 1, pir 4, pburst 1; rates and bursts must be >= 0 and cir <= pir"))
        var eburst = Externs.meter(0, cir: 1, cburst: 1, pir: 1, pburst: 1); eburst.entity.meterEntry.config.eburst = 3
        #expect(error(eburst) == P4RuntimeError(.invalidArgument, "\(what): config eburst 3; the meter is two-rate three-color (RFC 2698), which takes no eburst"))
        var colorCounters = Externs.meter(0, cir: 1, cburst: 1, pir: 1, pburst: 1); colorCounters.entity.meterEntry.counterData.green.packetCount = 0
        #expect(error(colorCounters) == P4RuntimeError(.unimplemented, "\(what): counter_data; Sluice meters keep no per-color counters, leave it unset"))
        #expect(try d.read(Externs.read { $0.meterEntry = P4_V1_MeterEntry() }).allSatisfy { !$0.meterEntry.hasConfig })
    }
}

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
}

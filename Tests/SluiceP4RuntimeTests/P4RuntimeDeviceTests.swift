import Foundation
import Testing
import SluiceControlPlane
import SluiceIR
import SluicePrograms
import SluiceTesting
import SluiceP4Runtime
import SluiceP4RuntimeServer
import SwiftProtobuf

/// The P4Runtime device over the in-memory pipeline: what a controller's requests do to the
/// switch (packets in, exact bytes out) and the canonical code and message of each bad request.
@Suite struct P4RuntimeDeviceTests {
    /// A device on an in-memory switch with a primary controller (election id 10).
    static func device() throws -> (P4RuntimeDevice, PipelineSwitch) {
        let sw = PipelineSwitch()
        let d = P4RuntimeDevice(deviceID: 1, target: sw, resolver: ProgramRegistry.resolver)
        _ = try d.arbitrate(token: nil, P4R.arbitration(P4R.election)) { _ in }
        return (d, sw)
    }

    static func packet(dst: IPv4Address, ttl: UInt8 = 64, ethDst: MACAddress = "00:00:00:00:01:01", ethSrc: MACAddress = "00:00:00:00:01:99") -> [UInt8] {
        Packet.ethernet(dst: ethDst, src: ethSrc).ipv4(src: "10.0.0.1", dst: dst, ttl: ttl).udp(sport: 1000, dport: 2000).bytes
    }

    /// The error `body` throws, as a P4RuntimeError (nil when it succeeds).
    static func error(_ body: () throws -> Void) -> P4RuntimeError? {
        do { try body(); return nil } catch let e as P4RuntimeError { return e } catch let e as P4RuntimeBatchError {
            return e.results.compactMap { $0 }.first
        } catch { return P4RuntimeError(.unknown, "\(error)") }
    }

    @Test func routesForwardPacketsAndReadBack() throws {
        let (d, sw) = try Self.device()
        try d.setPipeline(try P4R.setPipeline("ipv4-router"))
        let r1 = P4R.route(0x0A00_0100, 24, mac: 0x0000_0000_0202, port: 2)
        let r2 = P4R.route(0x0A00_0000, 16, mac: 0x0000_0000_0303, port: 3)
        try d.write(P4R.write([P4R.update(.insert, r1), P4R.update(.insert, r2)]))

        let out = try #require(sw.send(Self.packet(dst: "10.0.1.5"), port: 1))
        #expect(out.count == 1)
        #expect(out.first?.port == 2)
        #expect(out.first?.bytes == Self.packet(dst: "10.0.1.5", ttl: 63, ethDst: "00:00:00:00:02:02", ethSrc: "00:00:00:00:01:01"))
        let out2 = try #require(sw.send(Self.packet(dst: "10.0.9.9"), port: 1))
        #expect(out2.map(\.port) == [3])
        #expect(out2.first?.bytes == Self.packet(dst: "10.0.9.9", ttl: 63, ethDst: "00:00:00:00:03:03", ethSrc: "00:00:00:00:01:01"))
        #expect(sw.send(Self.packet(dst: "192.168.0.1"), port: 1)?.isEmpty == true)

        // Read: the table's wildcard gives both entries as written; a match selects one.
        let read = try d.read(P4R.readTable(r1.tableID)).map(\.tableEntry)
        #expect(Set(read.map { $0.textFormatString() }) == Set([r1, r2].map { $0.textFormatString() }))
        var one = P4R.readTable(0)
        var q = P4_V1_TableEntry(); q.tableID = r1.tableID; q.match = r1.match
        one.entities[0].tableEntry = q
        #expect(try d.read(one).map(\.tableEntry) == [r1])

        // MODIFY moves the /24 to port 3; DELETE of the /16 leaves 10.0.9.9 to the default (drop).
        var moved = P4R.route(0x0A00_0100, 24, mac: 0x0000_0000_0303, port: 3)
        try d.write(P4R.write([P4R.update(.modify, moved), P4R.update(.delete, r2)]))
        #expect(sw.send(Self.packet(dst: "10.0.1.5"), port: 1)?.map(\.port) == [3])
        #expect(sw.send(Self.packet(dst: "10.0.9.9"), port: 1)?.isEmpty == true)
        moved.priority = 0
        #expect(try d.read(P4R.readTable(0)).map(\.tableEntry) == [moved])
    }

    @Test func defaultEntryIsModifiedAndRead() throws {
        let (d, sw) = try Self.device()
        try d.setPipeline(try P4R.setPipeline("ipv4-router"))
        var e = P4R.route(0, 0, mac: 0x0000_0000_0404, port: 4)
        e.match = []
        e.isDefaultAction = true
        try d.write(P4R.write([P4R.update(.modify, e)]))
        #expect(sw.send(Self.packet(dst: "172.16.0.1"), port: 1)?.map(\.port) == [4])
        var q = P4R.readTable(e.tableID)
        q.entities[0].tableEntry.isDefaultAction = true
        #expect(try d.read(q).map(\.tableEntry) == [e])
        // INSERT of a default entry is refused.
        #expect(Self.error { try d.write(P4R.write([P4R.update(.insert, e)])) }?.code == .invalidArgument)
    }

    @Test func directCountersCountThePacketsOfTheirEntry() throws {
        let (d, sw) = try Self.device()
        try d.setPipeline(try P4R.setPipeline("acl-firewall"))
        let ids = P4R.ids("acl-firewall")
        let route = P4R.route(0x0A00_0100, 24, mac: 0x0000_0000_0202, port: 2, program: "acl-firewall")
        // acl: protocol 17 (ternary, mask 0xff) -> allow, priority 10.
        var acl = P4_V1_TableEntry()
        acl.tableID = ids.id(.table, "acl")!
        var f = P4_V1_FieldMatch(); f.fieldID = 3
        var t = P4_V1_FieldMatch.Ternary(); t.value = Data([17]); t.mask = Data([0xFF]); f.ternary = t
        acl.match = [f]
        acl.priority = 10
        acl.action.action.actionID = ids.id(.action, "allow")!
        try d.write(P4R.write([P4R.update(.insert, route), P4R.update(.insert, acl)]))
        let sent = 7
        for _ in 0..<sent { #expect(sw.send(Self.packet(dst: "10.0.1.5"), port: 1)?.map(\.port) == [2]) }
        var r = P4_V1_ReadRequest(); r.deviceID = 1
        var e = P4_V1_Entity(); e.directCounterEntry.tableEntry.tableID = acl.tableID
        r.entities = [e]
        let counters = try d.read(r).map(\.directCounterEntry)
        #expect(counters.count == 1)
        #expect(counters.first?.tableEntry.match == acl.match)
        #expect(counters.first?.data.packetCount == Int64(sent))
        #expect(counters.first?.data.byteCount == Int64(sent * Self.packet(dst: "10.0.1.5").count))
    }

    /// A table at its size refuses one more entry with RESOURCE_EXHAUSTED (not the request's
    /// fault), and takes it once an entry is deleted.
    @Test func aFullTableIsResourceExhausted() throws {
        let (d, _) = try Self.device()
        let small = try IPv4Router.program(routes: 4).verified()
        var r = try P4R.setPipeline("ipv4-router")
        r.config.p4Info = try P4InfoBuilder.p4Info(small.program)
        r.config.p4DeviceConfig = try ProgramFile.encode(small, writtenBy: "P4RuntimeDeviceTests")
        try d.setPipeline(r)
        let routes = (0..<5).map { P4R.route(0x0A00_0000 | UInt32($0) << 8, 24, mac: 0x0202, port: 2) }
        for e in routes.prefix(4) { try d.write(P4R.write([P4R.update(.insert, e)])) }
        let full = Self.error { try d.write(P4R.write([P4R.update(.insert, routes[4])])) }
        #expect(full == P4RuntimeError(.resourceExhausted, "table 'ipv4_lpm' is full (size 4); raise its Size or delete entries"))
        try d.write(P4R.write([P4R.update(.delete, routes[0])]))
        try d.write(P4R.write([P4R.update(.insert, routes[4])]))
    }

    @Test func badWritesGetTheirCanonicalCodesAndTheSwitchKeepsServing() throws {
        let (d, sw) = try Self.device()
        // Before a pipeline.
        let early = Self.error { try d.write(P4R.write([P4R.update(.insert, P4R.route(0x0A00_0100, 24, mac: 1, port: 2))])) }
        #expect(early == P4RuntimeError(.failedPrecondition, "Write: no forwarding pipeline is set on device 1; send SetForwardingPipelineConfig first"))
        try d.setPipeline(try P4R.setPipeline("ipv4-router"))
        let good = P4R.route(0x0A00_0100, 24, mac: 0x0000_0000_0202, port: 2)
        let table = good.tableID

        var unknownTable = good; unknownTable.tableID = 0x0200_0001
        let e1 = try #require(Self.error { try d.write(P4R.write([P4R.update(.insert, unknownTable)])) })
        #expect(e1.code == .notFound)
        #expect(e1.message == "no table with id 33554433 in program 'ipv4-router'; valid: ipv4_lpm (\(table))")

        var unknownAction = good; unknownAction.action.action.actionID = 0x0100_0001
        #expect(Self.error { try d.write(P4R.write([P4R.update(.insert, unknownAction)])) }?.code == .notFound)

        var wide = good; wide.match[0].lpm.value = Data([1, 10, 0, 1, 0])
        let e2 = try #require(Self.error { try d.write(P4R.write([P4R.update(.insert, wide)])) })
        #expect(e2.code == .invalidArgument)
        #expect(e2.message == "table 'ipv4_lpm' (id \(table)), match field 'hdr.ipv4.dstAddr' (id 1, lpm, 32 bits) value: value 0x010a000100 has 33 bits; the field is 32 bits wide")

        var widePort = good; widePort.action.action.params[1].value = Data([0x02, 0x00])
        let e3 = try #require(Self.error { try d.write(P4R.write([P4R.update(.insert, widePort)])) })
        #expect(e3.message.contains("parameter 'port' (id 2, 9 bits): value 0x0200 has 10 bits; the field is 9 bits wide"))

        var ternary = good
        var t = P4_V1_FieldMatch.Ternary(); t.value = Data([10, 0, 1, 0]); t.mask = Data([255, 255, 255, 0])
        ternary.match[0].ternary = t
        let e4 = try #require(Self.error { try d.write(P4R.write([P4R.update(.insert, ternary)])) })
        #expect(e4 == P4RuntimeError(.invalidArgument, "table 'ipv4_lpm' (id \(table)), match field 'hdr.ipv4.dstAddr' (id 1, lpm, 32 bits): given as ternary (a value and a mask); this field takes a lpm match"))

        var hostBits = good; hostBits.match[0].lpm.value = Data([10, 0, 1, 7])
        #expect(Self.error { try d.write(P4R.write([P4R.update(.insert, hostBits)])) }?.message.contains("bits set past the /24 prefix") == true)

        try d.write(P4R.write([P4R.update(.insert, good)]))
        let dup = try #require(Self.error { try d.write(P4R.write([P4R.update(.insert, good)])) })
        #expect(dup == P4RuntimeError(.alreadyExists, "table 'ipv4_lpm' (id \(table)): an entry with these match fields exists; MODIFY it or DELETE it first"))

        let missing = P4R.route(0x0A00_0200, 24, mac: 1, port: 2)
        let del = try #require(Self.error { try d.write(P4R.write([P4R.update(.delete, missing)])) })
        #expect(del == P4RuntimeError(.notFound, "table 'ipv4_lpm' (id \(table)): no entry with these match fields to delete"))

        var priority = missing; priority.priority = 5
        #expect(Self.error { try d.write(P4R.write([P4R.update(.insert, priority)])) }?.message.contains("takes priority 0") == true)

        // A batch: the good update lands, the bad ones get one error each, in order.
        do {
            try d.write(P4R.write([P4R.update(.insert, missing), P4R.update(.insert, good), P4R.update(.insert, wide)]))
            Issue.record("the batch should fail")
        } catch let e as P4RuntimeBatchError {
            #expect(e.results.map { $0?.code } == [nil, .alreadyExists, .invalidArgument])
        }

        // Not the primary.
        let backup = Self.error { try d.write(P4R.write([P4R.update(.delete, good)], election: 3)) }
        #expect(backup == P4RuntimeError(.permissionDenied, "Write with election id 3: not the primary controller (the primary's election id is 10)"))

        // The switch still forwards with what was written.
        #expect(sw.send(Self.packet(dst: "10.0.1.5"), port: 1)?.map(\.port) == [2])
        #expect(sw.send(Self.packet(dst: "10.0.2.5"), port: 1)?.map(\.port) == [2])
        #expect(try d.read(P4R.readTable(table)).count == 2)
    }

    @Test func pipelineConfigActions() throws {
        let (d, sw) = try Self.device()
        try d.setPipeline(try P4R.setPipeline("ipv4-router", action: .verify))
        #expect(sw.send(Self.packet(dst: "10.0.1.5"), port: 1) == nil, "VERIFY installs nothing")
        try d.setPipeline(try P4R.setPipeline("ipv4-router", action: .verifyAndSave))
        try d.setPipeline(try P4R.setPipeline("ipv4-router", action: .commit))
        try d.write(P4R.write([P4R.update(.insert, P4R.route(0x0A00_0100, 24, mac: 2, port: 2))]))
        // RECONCILE_AND_COMMIT of the same program keeps the entries.
        try d.setPipeline(try P4R.setPipeline("ipv4-router", action: .reconcileAndCommit))
        #expect(sw.send(Self.packet(dst: "10.0.1.5"), port: 1)?.map(\.port) == [2])
        // VERIFY_AND_COMMIT starts empty.
        try d.setPipeline(try P4R.setPipeline("ipv4-router"))
        #expect(sw.send(Self.packet(dst: "10.0.1.5"), port: 1)?.isEmpty == true)

        var unknown = try P4R.setPipeline("ipv4-router"); unknown.config.p4DeviceConfig = Data("ipv4-routr".utf8)
        let e = try #require(Self.error { try d.setPipeline(unknown) })
        #expect(e.code == .invalidArgument && e.message.contains("unknown program 'ipv4-routr'") && e.message.contains("ipv4-router"))
        var mismatch = try P4R.setPipeline("ipv4-router"); mismatch.config.p4Info = try P4R.setPipeline("l2-switch").config.p4Info
        #expect(Self.error { try d.setPipeline(mismatch) }?.message.contains("p4info does not describe program 'ipv4-router'") == true)
        var garbage = try P4R.setPipeline("ipv4-router"); garbage.config.p4DeviceConfig = Data("{\"not\": 1}".utf8)
        #expect(Self.error { try d.setPipeline(garbage) }?.message.hasPrefix("p4_device_config is not a valid Sluice program file") == true)
        #expect(Self.error { try d.setPipeline(try P4R.setPipeline("ipv4-router", election: 2)) }?.code == .permissionDenied)
        var get = P4_V1_GetForwardingPipelineConfigRequest(); get.deviceID = 1; get.responseType = .cookieOnly
        #expect(try d.getPipeline(get).config.hasP4Info == false)
        get.responseType = .all
        #expect(try d.getPipeline(get).config.p4Info.tables.first?.preamble.name == "ipv4_lpm")
        get.deviceID = 9
        #expect(Self.error { _ = try d.getPipeline(get) }?.code == .notFound)
    }

    @Test func arbitrationPicksTheHighestElectionID() throws {
        let sw = PipelineSwitch()
        let d = P4RuntimeDevice(deviceID: 1, target: sw, resolver: ProgramRegistry.resolver)
        final class Inbox: @unchecked Sendable { var codes: [Int32] = [] }
        let a = Inbox(), b = Inbox()
        let ta = try d.arbitrate(token: nil, P4R.arbitration(5)) { a.codes.append($0.arbitration.status.code) }
        #expect(a.codes == [0])
        let tb = try d.arbitrate(token: nil, P4R.arbitration(3)) { b.codes.append($0.arbitration.status.code) }
        #expect(a.codes == [0, 0] && b.codes == [6], "the backup hears ALREADY_EXISTS")
        #expect(Self.error { _ = try d.arbitrate(token: nil, P4R.arbitration(5)) { _ in } }?.code == .invalidArgument)
        #expect(Self.error { _ = try d.arbitrate(token: nil, P4R.arbitration(7, device: 2)) { _ in } }?.code == .notFound)
        d.streamEnded(token: ta)
        #expect(b.codes.last == 0, "the backup becomes primary")
        #expect(Self.error { try d.setPipeline(try P4R.setPipeline("ipv4-router", election: 3)) } == nil)
        d.streamEnded(token: tb)
    }
}

/// Digests reach the primary controller as DigestLists once it configured the digest.
@Suite struct P4RuntimeDigestTests {
    @Test func l2SwitchLearningDigestsReachThePrimary() throws {
        let sw = PipelineSwitch()
        let d = P4RuntimeDevice(deviceID: 1, target: sw, resolver: ProgramRegistry.resolver)
        final class Inbox: @unchecked Sendable { var lists: [P4_V1_DigestList] = [] }
        let inbox = Inbox()
        _ = try d.arbitrate(token: nil, P4R.arbitration(P4R.election)) { m in if case .digest(let l)? = m.update { inbox.lists.append(l) } }
        try d.setPipeline(try P4R.setPipeline("l2-switch"))
        let frame = Packet.ethernet(dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", etherType: 0x88B5).payload(count: 30).bytes

        // Not configured: digests are dropped.
        _ = sw.send(frame, port: 4)
        #expect(d.sendDigests() == 0 && inbox.lists.isEmpty)

        let id = P4R.ids("l2-switch").id(.digest, "learn")!
        var u = P4_V1_Update(); u.type = .insert; u.entity.digestEntry.digestID = id
        try d.write(P4R.write([u]))
        #expect(P4RuntimeDeviceTests.error { try d.write(P4R.write([u])) }?.code == .alreadyExists)
        _ = sw.send(frame, port: 4)
        #expect(d.sendDigests() == 1)
        let list = try #require(inbox.lists.first)
        #expect(list.digestID == id)
        #expect(list.data.map { $0.struct.members.map { Array($0.bitstring) } } == [[[0x02, 0, 0, 0, 0, 0x01], [4]]])
    }
}
